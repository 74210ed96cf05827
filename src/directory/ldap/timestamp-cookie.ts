/**
 * The cookie of the modifyTimestamp tracker (timestamp.ts), GeneralizedTime, and the digests it
 * keeps: of the present set (every tracked id) and of the entries within the safety window.
 */
import { createHash } from 'node:crypto';
import { CookieRejectedError } from './changes.ts';
import type { RawEntry } from './transform.ts';

const PREFIX = 'mtime1:';
/** Per-entry content hashes are kept for at most this many window entries; beyond, one digest of them all. */
export const WINDOW_CAP = 2000;

/** The window entries at the time the cookie was taken: a content hash per id, or one digest of them all. */
export type WindowHashes = { readonly kind: 'each'; readonly hashes: ReadonlyMap<string, string> } | { readonly kind: 'all'; readonly digest: string; readonly count: number };

export interface TimestampCookie {
  /** The greatest modifyTimestamp seen (ms since the epoch). */
  readonly mark: number;
  /** The id of the entry carrying it (it must come back from the next search: see timestamp.ts). */
  readonly anchor: string | null;
  /** How many entries the present set held, and the digest of their sorted ids. */
  readonly count: number;
  readonly digest: string;
  readonly window: WindowHashes;
  /**
   * The window below the mark had passed on groupsync's clock when the cookie was taken (no write
   * can be stamped in it any more): the next read asks only from the mark's second.
   */
  readonly closed: boolean;
}

const GENERALIZED = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)$/;

/** GeneralizedTime (`20301231235959Z`, AD's `20301231235959.0Z`, an offset) as ms since the epoch; null when not one. */
export function parseGeneralizedTime(text: string): number | null {
  const m = GENERALIZED.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0);
  if (zone !== 'Z') {
    const sign = zone!.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(3, 5) || 0)) * 60_000;
  }
  return Number.isFinite(ms) ? ms : null;
}

/** ms since the epoch as GeneralizedTime in UTC, to the second below (a `>=` filter then reaches back, never forward). */
export function formatGeneralizedTime(ms: number): string {
  return new Date(Math.max(0, ms)).toISOString().slice(0, 19).replace(/[-T:]/g, '') + 'Z';
}

/** The digest of a set of ids (order does not matter). */
export function idsDigest(ids: readonly string[]): string {
  const hash = createHash('sha256');
  for (const id of [...ids].sort()) hash.update(id).update('\n');
  return hash.digest('base64url').slice(0, 32);
}

/** A short hash of what the tracker reports of an entry: its DN and the tracked attributes' values. */
export function contentHash(entry: RawEntry, attributes: readonly string[]): string {
  const hash = createHash('sha256').update(entry.dn).update('\n');
  for (const name of [...new Set(attributes.map((a) => a.toLowerCase()))].sort()) {
    const values = (entry.attrs.get(name) ?? []).map((v) => (typeof v === 'string' ? v : `\0b${v.toString('base64')}`)).sort();
    hash.update(name).update('\0').update(values.join('\0')).update('\n');
  }
  return hash.digest('base64url').slice(0, 12);
}

/** One digest of (id, hash) pairs. */
export function pairsDigest(pairs: Iterable<readonly [string, string]>): string {
  const hash = createHash('sha256');
  for (const [id, h] of [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) hash.update(id).update('\0').update(h).update('\n');
  return hash.digest('base64url').slice(0, 32);
}

export function windowHashes(pairs: ReadonlyArray<readonly [string, string]>, cap = WINDOW_CAP): WindowHashes {
  if (pairs.length <= cap) return { kind: 'each', hashes: new Map(pairs) };
  return { kind: 'all', digest: pairsDigest(pairs), count: pairs.length };
}

export function encodeTimestampCookie(c: TimestampCookie): string {
  const window = c.window.kind === 'each' ? { w: [...c.window.hashes] } : { wd: c.window.digest, wn: c.window.count };
  return PREFIX + JSON.stringify({ m: formatMs(c.mark), a: c.anchor, n: c.count, d: c.digest, c: c.closed, ...window });
}

/** The cookie, or CookieRejectedError('malformedCookie') for anything this tracker did not write. */
export function decodeTimestampCookie(text: string): TimestampCookie {
  const bad = () => new CookieRejectedError('malformedCookie');
  if (!text.startsWith(PREFIX)) throw bad();
  let raw: { m?: unknown; a?: unknown; n?: unknown; d?: unknown; c?: unknown; w?: unknown; wd?: unknown; wn?: unknown };
  try {
    raw = JSON.parse(text.slice(PREFIX.length));
  } catch {
    throw bad();
  }
  const mark = typeof raw.m === 'string' ? Date.parse(raw.m) : NaN;
  if (!Number.isFinite(mark) || typeof raw.n !== 'number' || typeof raw.d !== 'string' || (raw.a !== null && typeof raw.a !== 'string')) throw bad();
  let window: WindowHashes;
  if (Array.isArray(raw.w) && raw.w.every((p) => Array.isArray(p) && p.length === 2 && p.every((x) => typeof x === 'string'))) {
    window = { kind: 'each', hashes: new Map(raw.w as [string, string][]) };
  } else if (typeof raw.wd === 'string' && typeof raw.wn === 'number') {
    window = { kind: 'all', digest: raw.wd, count: raw.wn };
  } else throw bad();
  return { mark, anchor: raw.a, count: raw.n, digest: raw.d, window, closed: raw.c === true };
}

/** The mark as ISO text with milliseconds (readable in the stored cursor). */
function formatMs(ms: number): string {
  return new Date(ms).toISOString();
}
