/** Reading a store opened on its own (store module tests): raw rows of a query. */
import { sql } from 'drizzle-orm';
import { type Store, queryRows } from '../../src/store/db.ts';

export async function select<T = Record<string, unknown>>(store: Store, text: string): Promise<T[]> {
  return queryRows<T>(store.db, sql.raw(text));
}
