/** Shared by the view builders: times, plurals, page sizes, pagers and notices. */
import { formatUtc, plural } from '../../format.ts';
import type { NoticeView, PagerView, Tone } from './types.ts';

export { plural };

export const PAGE_SIZES = { health: 20, conflicts: 10, duplicates: 10, runs: 10, skipped: 15, audit: 15 } as const;

const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['min', 60_000],
  ['s', 1000],
];

/** "2 h ago", "in 5 min", "just now": the largest whole unit of the distance between `at` and `now`. */
export function relativeTime(at: Date, now: Date): string {
  const diff = now.getTime() - at.getTime();
  const abs = Math.abs(diff);
  const [unit, size] = UNITS.find(([, ms]) => abs >= ms) ?? ['s', 1000];
  const n = Math.floor(abs / size);
  if (n === 0) return 'just now';
  return diff >= 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

/**
 * The one time format of every card: relative time, then the UTC time; the date is added when it
 * is not today's ("2 h ago, 22:01 UTC", "3 d ago, 2026-12-04 08:00 UTC"). `now` is the clock of the
 * request (tests pass a fixed one).
 */
export function formatTime(d: Date | string | null | undefined, now: Date = new Date()): string {
  if (!d) return '—';
  const at = typeof d === 'string' ? new Date(d) : d;
  const utc = formatUtc(at);
  const sameDay = utc.slice(0, 10) === now.toISOString().slice(0, 10);
  return `${relativeTime(at, now)}, ${sameDay ? utc.slice(11) : utc}`;
}

/** The offset to show: `offset` itself, or the start of the last page when it is past the end (a button may send any number). */
export function clampOffset(offset: number, total: number, size: number): number {
  return offset < total ? offset : Math.max(0, Math.floor((total - 1) / size) * size);
}

export function pager(view: string, params: Record<string, string | number>, offset: number, shown: number, total: number, size: number): PagerView | null {
  if (total <= size && offset === 0) return null;
  const prev = offset > 0 ? Math.max(0, offset - size) : null;
  const next = offset + shown < total ? offset + shown : null;
  return {
    from: shown ? offset + 1 : 0,
    to: offset + shown,
    total,
    previous: prev === null ? null : { label: '◀ Previous', verb: 'page', data: { view, ...params, offset: prev } },
    next: next === null ? null : { label: 'Next ▶', verb: 'page', data: { view, ...params, offset: next } },
  };
}

export function notice(tone: Tone, text: string): NoticeView {
  return { tone, text };
}

/**
 * Characters that change how text around them is read without being seen: C0 and C1 controls
 * (an escape sequence repaints a terminal), DEL, and the bidi controls (U+202E turns
 * "invoice" + U+202E + "fdp.exe" into what reads "invoiceexe.pdf"). Line breaks and tabs are layout and stay.
 */
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Text from the directory as it may be shown: each hidden character as a visible `[U+202E]`. */
export function displayText(text: string): string {
  return text.replace(HIDDEN, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}

/**
 * A view with every text made safe to show (displayText); what a button sends back (`verb`,
 * `data`) stays exact. Both renderers (Teams, Slack) and their fallback texts start here: the
 * store keeps the directory's values as they are, only what is shown is neutralised.
 */
export function neutralView<T>(value: T, key = ''): T {
  if (typeof value === 'string') return (key === 'verb' ? value : displayText(value)) as T;
  if (Array.isArray(value)) return value.map((v) => neutralView(v, key)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'data' ? v : neutralView(v, k)])) as T;
  }
  return value;
}

/**
 * An actor as people read it: "teams:Alex Wilber (00000000-…)" → "Alex Wilber". The surface and
 * the id stay in the audit log and the CLI's JSON; a card shows the name when the actor has one.
 */
export function displayActor(actor: string | null | undefined): string {
  if (!actor) return '—';
  const m = /^(?:teams|slack):(.+?) \(([^()]*)\)$/.exec(actor);
  return m && m[1]!.trim() ? m[1]!.trim() : actor;
}
