/**
 * Bulk inserts with PostgreSQL's COPY (several times faster than INSERT for hundreds of thousands
 * of rows), on the postgres.js connection of the caller's transaction (or pool).
 * Only for rows that cannot conflict (new ids, rows the plan checked are absent).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Executor } from './db.ts';

export type CopyValue = string | number | boolean | null;

interface CopyQuery {
  writable(): Promise<Writable>;
  reject(error: unknown): unknown;
}

interface CopyCapableClient {
  unsafe(query: string): CopyQuery;
}

/** The postgres.js client under a drizzle database or transaction. */
function copyClient(tx: Executor): CopyCapableClient {
  const client = (tx as unknown as { session?: { client?: { unsafe?: unknown } } }).session?.client;
  if (!client || typeof client.unsafe !== 'function') throw new Error('bulk insert: not a postgres.js connection');
  return client as unknown as CopyCapableClient;
}

const SPECIAL = /[\\\t\n\r]/;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Text-format COPY escaping: backslash, tab, newline and carriage return; null as \N. Most text has none of them. */
function field(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPED[c]!) : value;
}

/** One row of text-format COPY, its newline included. */
function line(values: readonly CopyValue[]): string {
  let out = field(values[0]!);
  for (let i = 1; i < values.length; i++) out += `\t${field(values[i]!)}`;
  return `${out}\n`;
}

const identifier = /^[a-z_][a-z0-9_]*$/;

/** Inserts `count` rows (`row(k)`: values in `columns` order) with one COPY. */
export function bulkInsert(
  tx: Executor,
  table: string,
  columns: readonly string[],
  count: number,
  row: (index: number) => readonly CopyValue[],
): Promise<void> {
  return copyLines(tx, table, columns, count, (k) => line(row(k)));
}

/** Inserts the integer pairs (`a[k]`, `b[k]`) into two integer columns with one COPY (no array per row: memberships come by the million). */
export function bulkInsertPairs(tx: Executor, table: string, columns: readonly [string, string], a: ArrayLike<number>, b: ArrayLike<number>): Promise<void> {
  if (a.length !== b.length) throw new Error(`bulk insert into ${table}: ${a.length} and ${b.length} values do not pair`);
  return copyLines(tx, table, columns, a.length, (k) => `${a[k]!}\t${b[k]!}\n`);
}

/**
 * COPY of `count` encoded rows, sent in chunks of about 1 MB: the next chunk is encoded while the
 * server loads the previous one (the client waits only when the socket's buffer is full).
 */
async function copyLines(tx: Executor, table: string, columns: readonly string[], count: number, encode: (index: number) => string): Promise<void> {
  if (count === 0) return;
  if (![table, ...columns].every((name) => identifier.test(name))) throw new Error(`bad identifier in bulk insert into ${table}`);
  const client = copyClient(tx);
  const query = client.unsafe(`copy ${table} (${columns.join(', ')}) from stdin`);
  // postgres.js resolves a COPY query with its stream, so an error the server reports after the
  // last row (a constraint or trigger at end of statement) would reach only the settled query and
  // the stream would never finish. Catch it where postgres.js rejects the query.
  const failed = new Promise<never>((_, reject) => {
    const original = query.reject.bind(query);
    query.reject = (error: unknown) => {
      reject(error);
      return original(error);
    };
  });
  failed.catch(() => {});
  const stream = await query.writable();
  const done = Promise.race([once(stream, 'finish'), failed]);
  let buffer = '';
  for (let k = 0; k < count; k++) {
    buffer += encode(k);
    if (buffer.length > 1 << 20) {
      if (!stream.write(buffer)) await Promise.race([once(stream, 'drain'), failed]);
      buffer = '';
    }
  }
  stream.end(buffer);
  await done;
}
