/**
 * Match keys (and group names) looked up in SQL as the planner compares them in JavaScript (toLowerCase).
 * PostgreSQL's lower() follows the database's locale: under the C locale (common for a separate
 * server) it lowers ASCII only, so a local user 'JÖRG@EXAMPLE.ORG' would not be found for the key
 * 'jörg@example.org' and a sync would create a second account with that key. An ASCII key uses
 * the lower() index; a key with other letters is compared through translate() with every
 * one-to-one Unicode lower-case mapping, which gives the same text in any locale. Callers check
 * each row found again with toLowerCase.
 */
import { type SQL, sql } from 'drizzle-orm';
import { p } from './sql.ts';

let table: { readonly from: string; readonly to: string } | null = null;

/** Every code point whose lower case is one other code point, and that lower case; final sigma folds to sigma. */
function lowerTable(): { readonly from: string; readonly to: string } {
  if (table) return table;
  let from = '';
  let to = '';
  for (let cp = 0x41; cp <= 0x1ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    const lower = c.toLowerCase();
    if (lower !== c && lower.length === String.fromCodePoint(lower.codePointAt(0)!).length) {
      from += c;
      to += lower;
    }
  }
  // toLowerCase writes a word's last sigma as ς: both sides fold it to σ.
  table = { from: `${from}ς`, to: `${to}σ` };
  return table;
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * Rows whose `column`, lowered as JavaScript lowers it, may be one of `keys` (lower case): a
 * condition for a `where`. Null when there is no key.
 */
export function matchKeyCondition(column: SQL, keys: Iterable<string>): SQL | null {
  const ascii: string[] = [];
  const other: string[] = [];
  for (const key of keys) (ASCII.test(key) ? ascii : other).push(key);
  const parts: SQL[] = [];
  if (ascii.length) parts.push(sql`lower(${column}) = any(${p(ascii)}::text[])`);
  if (other.length) {
    const { from, to } = lowerTable();
    parts.push(sql`translate(${column}, ${p(from)}, ${p(to)}) = any(${p(other.map((k) => k.replaceAll('ς', 'σ')))}::text[])`);
  }
  return parts.length ? sql`(${sql.join(parts, sql` or `)})` : null;
}
