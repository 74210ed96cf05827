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

/** Text-format COPY escaping: backslash, tab, newline and carriage return; null as \N. */
function field(value: CopyValue): string {
  if (value === null) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return String(value);
  return value.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

const identifier = /^[a-z_][a-z0-9_]*$/;

/** Inserts `count` rows (`row(k)`: values in `columns` order) with one COPY. */
export async function bulkInsert(
  tx: Executor,
  table: string,
  columns: readonly string[],
  count: number,
  row: (index: number) => readonly CopyValue[],
): Promise<void> {
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
    buffer += `${row(k).map(field).join('\t')}\n`;
    if (buffer.length > 1 << 20) {
      if (!stream.write(buffer)) await Promise.race([once(stream, 'drain'), failed]);
      buffer = '';
    }
  }
  stream.end(buffer);
  await done;
}

