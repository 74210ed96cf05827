/** Shared by the view builders: times, plurals, page sizes, pagers and notices. */
import type { NoticeView, PagerView, Tone } from './types.ts';

export const PAGE_SIZES = { health: 20, conflicts: 10, duplicates: 10, runs: 10, skipped: 15, audit: 15 } as const;

export function formatTime(d: Date | string | null | undefined): string {
  if (!d) return '—';
  const date = typeof d === 'string' ? new Date(d) : d;
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

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
