/** Helpers shared by the store modules' statements: bound parameters, column arrays, chunks. */
import { type SQL, sql } from 'drizzle-orm';

/** A bound SQL parameter. */
export const p = sql.param;

/** Rows per statement of a set-based write. */
export const CHUNK = 20_000;

export type Column = readonly [values: readonly unknown[], pgType: string];

/** `unnest(a::t[], b::u[], …)`: column arrays as rows, for set-based inserts and updates. */
export function unnest(columns: readonly Column[]): SQL {
  // postgres.js sends a JS array of booleans as a scalar: booleans travel as text and are cast.
  const parts = columns.map(([values, type]) =>
    type === 'bool'
      ? sql`${p(values.map((v) => (v === null || v === undefined ? null : v ? 'true' : 'false')))}::text[]::bool[]`
      : sql`${p(values)}::${sql.raw(type)}[]`,
  );
  return sql`unnest(${sql.join(parts, sql`, `)})`;
}

/** Runs `run` over chunks of the row indexes [0, n). */
export async function chunked(n: number, run: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let from = 0; from < n; from += CHUNK) await run(from, Math.min(n, from + CHUNK));
}
