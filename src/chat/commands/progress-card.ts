/**
 * The progress message of a sync started from chat: every phase the run goes through is shown,
 * in order (reading, planning, applying, recording), with counts against totals where known, a
 * percentage, the elapsed time and the phases already done; within a phase the message is
 * updated at most every PROGRESS_UPDATE_MS (chat services throttle edits). One update at a time.
 */
import { describeError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { type ProgressEvent, type ProgressState, describeCounts, formatElapsed } from '../../sync/progress.ts';
import { buildProgress } from '../views/runs.ts';
import type { Fact, View } from '../views/types.ts';
import type { UpdateView } from './context.ts';

/** How often the progress message of a running sync is updated while a phase lasts. */
export const PROGRESS_UPDATE_MS = 1250;

export interface ProgressCard {
  readonly onProgress: (event: ProgressEvent) => void;
  /** Stops the timer and waits until every update started or queued is done. */
  stop(): Promise<void>;
}

export function progressCard(what: string, connection: string, update: UpdateView, logger: Logger): ProgressCard {
  let latest: ProgressEvent | null = null;
  const done: string[] = [];
  const queue: View[] = [];
  let inFlight: Promise<void> | null = null;
  let sentAt = 0;
  const viewOf = (event: ProgressState) => buildProgress(connection, event.runId, `${what}: run #${event.runId} in progress`, progressFacts(event, done));
  const pump = () => {
    if (inFlight || !queue.length) return;
    const view = queue.shift()!;
    sentAt = Date.now();
    inFlight = update(view)
      .catch((error: unknown) => logger.warn({ err: describeError(error) }, 'progress update failed'))
      .finally(() => {
        inFlight = null;
        pump();
      });
  };
  const send = (event: ProgressState) => {
    queue.push(viewOf(event));
    pump();
  };
  // Within a phase: the latest counts and elapsed time, when nothing else is being sent.
  const timer = setInterval(() => {
    if (latest && !inFlight && !queue.length && Date.now() - sentAt >= PROGRESS_UPDATE_MS) send({ ...latest, elapsedMs: Date.now() - latest.startedAt });
  }, PROGRESS_UPDATE_MS / 5);
  return {
    onProgress(event) {
      // "finished": the result replaces the message next.
      if (event.phase === 'finished') return;
      const changed = latest?.phase !== event.phase;
      if (changed && latest && latest.phase !== 'starting') done.push(phaseDone(latest));
      latest = event;
      if (changed) send(event);
    },
    async stop() {
      clearInterval(timer);
      while (inFlight) await inFlight;
    },
  };
}

/** "reading users 12,000", "planning". */
function phaseDone(event: ProgressState): string {
  const counts = event.done !== null ? event.done.toLocaleString('en') : null;
  return counts ? `${event.phase} ${counts}` : event.phase;
}

export function progressFacts(event: ProgressState, done: readonly string[] = []): Fact[] {
  const progress = [describeCounts(event), event.detail].filter(Boolean).join(' · ');
  return [
    { label: 'Phase', value: event.phase },
    ...(progress ? [{ label: 'Progress', value: progress }] : []),
    { label: 'Elapsed', value: formatElapsed(event.elapsedMs) },
    ...(done.length ? [{ label: 'Done', value: done.join(' · ') }] : []),
  ];
}
