/**
 * Bulk inserts: PostgreSQL's COPY when the transaction runs on postgres.js (several times faster
 * than INSERT for hundreds of thousands of rows) inside a transaction, `INSERT … SELECT unnest(…)`
 * outside one.
 * Only for rows that cannot conflict (new ids, rows the plan checked are absent).
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { SQL } from 'drizzle-orm';
import type { Executor } from './db.ts';

export type CopyValue = string | number | boolean | null;

interface CopyQuery {
  writable(): Promise<Writable>;
  reject(error: unknown): unknown;
}

interface CopyCapableClient {
  unsafe(query: string): CopyQuery;
}

/** The postgres.js client under a drizzle transaction, when there is one. */
function copyClient(tx: Executor): CopyCapableClient | null {
  const client = (tx as unknown as { session?: { client?: unknown } }).session?.client as { unsafe?: unknown } | undefined;
  if (!client || typeof client.unsafe !== 'function') return null;
  return 'begin' in client || 'savepoint' in client ? (client as unknown as CopyCapableClient) : null;
}

/** Text-format COPY escaping: backslash, tab, newline and carriage return; null as \N. */
function field(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

const identifier = /^[a-z_][a-z0-9_]*$/;

/**
 * Inserts `rows` (arrays in `columns` order). `fallback` builds the unnest-based insert for a
 * slice of rows when COPY is not available.
 */
export async function bulkInsert(
  tx: Executor,
  table: string,
  columns: readonly string[],
  count: number,
  row: (index: number) => readonly CopyValue[],
  fallback: (from: number, to: number) => SQL,
): Promise<void> {
  if (count === 0) return;
  if (![table, ...columns].every((name) => identifier.test(name))) throw new Error(`bad identifier in bulk insert into ${table}`);
  const client = copyClient(tx);
  if (!client) {
    for (let from = 0; from < count; from += 20_000) await tx.execute(fallback(from, Math.min(count, from + 20_000)));
    return;
  }
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
    buffer += `${row(k).map(field).join('\t')}\n`;
    if (buffer.length > 1 << 20) {
      if (!stream.write(buffer)) await Promise.race([once(stream, 'drain'), failed]);
      buffer = '';
    }
  }
  stream.end(buffer);
  await done;
}

