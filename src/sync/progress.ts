/**
 * Live progress of a run: the phase it is in, counts against totals where known, and the time
 * since it started. The engine reports each change; a heartbeat re-sends the latest state while a
 * phase lasts, so a listener (a chat card, the CLI's line) hears from a run at least every
 * HEARTBEAT_MS even when a phase produces no event of its own (planning, a long apply).
 */
import type { ReadProgress } from '../domain/types.ts';

/** `finished`: the run is recorded and its lease released (maintenance such as ANALYZE may follow). */
export type SyncPhase = 'starting' | 'reading groups' | 'reading users' | 'reading members' | 'resolving members' | 'planning' | 'applying' | 'recording' | 'finished';

/** What every progress event says. `done`/`total` are null where they are not known. */
export interface ProgressState {
  readonly runId: number;
  readonly phase: SyncPhase;
  readonly done: number | null;
  readonly total: number | null;
  /** What the phase works on: "4,000 users, 400 groups" (planning), "writing memberships" (applying). */
  readonly detail: string | null;
  /** When the run started (epoch ms) and how long it has been running at this event. */
  readonly startedAt: number;
  readonly elapsedMs: number;
}

export type ProgressEvent = ProgressState &
  (
    | { readonly step: 'start' }
    | { readonly step: 'read'; readonly progress: ReadProgress }
    | { readonly step: 'plan' | 'apply' | 'record' | 'done' }
  );

export type ProgressStep = ProgressEvent['step'];

export const HEARTBEAT_MS = 1000;

const READ_PHASE: Record<ReadProgress['phase'], SyncPhase> = {
  groups: 'reading groups',
  users: 'reading users',
  members: 'reading members',
  resolve: 'resolving members',
};

export function readPhase(progress: ReadProgress): SyncPhase {
  return READ_PHASE[progress.phase];
}

/** Whole percent of `done` of `total`, when both are known (never 100 before the end). */
export function percentOf(event: Pick<ProgressState, 'done' | 'total'>): number | null {
  if (event.done === null || event.total === null) return null;
  if (event.total === 0 || event.done >= event.total) return 100;
  return Math.min(99, Math.floor((event.done / event.total) * 100));
}

/** "4,399 of 31,951 (13 %)", "12,000", "500 to do", or null when the phase counts nothing. */
export function describeCounts(event: Pick<ProgressState, 'done' | 'total'>): string | null {
  const n = (v: number) => v.toLocaleString('en');
  const percent = percentOf(event);
  if (event.done !== null && event.total !== null) return `${n(event.done)} of ${n(event.total)} (${percent} %)`;
  if (event.done !== null) return n(event.done);
  return event.total !== null ? `${n(event.total)} to do` : null;
}

/** "applying: 4,399 of 31,951 (13 %), writing memberships (14 s)", "planning: 4,000 users, 400 groups (3 s)". */
export function describeProgress(event: ProgressState): string {
  const what = [describeCounts(event), event.detail].filter(Boolean).join(', ');
  return `${event.phase}${what ? `: ${what}` : ''} (${formatElapsed(event.elapsedMs)})`;
}

/** 9 s, 1 min 05 s, 1 h 02 min. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

type Step = { readonly step: 'start' } | { readonly step: 'read'; readonly progress: ReadProgress } | { readonly step: 'plan' | 'apply' | 'record' | 'done' };

/** Sends a run's progress to one listener, and re-sends the latest state every HEARTBEAT_MS until stopped. */
export class ProgressReporter {
  readonly #listener: ((event: ProgressEvent) => void) | undefined;
  readonly #runId: number;
  readonly #startedAt: number;
  #last: (Step & { phase: SyncPhase; done: number | null; total: number | null; detail: string | null }) | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(runId: number, listener: ((event: ProgressEvent) => void) | undefined, startedAt = Date.now()) {
    this.#listener = listener;
    this.#runId = runId;
    this.#startedAt = startedAt;
    if (!listener) return;
    this.#timer = setInterval(() => this.#send(), HEARTBEAT_MS);
    this.#timer.unref();
  }

  report(step: Step, phase: SyncPhase, done: number | null = null, total: number | null = null, detail: string | null = null): void {
    this.#last = { ...step, phase, done, total, detail };
    this.#send();
  }

  read(progress: ReadProgress): void {
    this.report({ step: 'read', progress }, readPhase(progress), progress.count, progress.total ?? null);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The last event: the run is recorded and its lease released. */
  finish(): void {
    this.stop();
    this.#last = { step: 'done', phase: 'finished', done: null, total: null, detail: null };
    this.#send();
  }

  #send(): void {
    if (!this.#listener || !this.#last) return;
    const now = Date.now();
    this.#listener({ ...this.#last, runId: this.#runId, startedAt: this.#startedAt, elapsedMs: now - this.#startedAt } as ProgressEvent);
  }
}
