/**
 * Whether a statement waits for a transaction that wrote and is still open: `write` runs in a
 * transaction of the store held open, then `statement` runs on another connection with a short
 * lock timeout. Resolves with that statement's SQLSTATE ('55P03' when it waited and timed out,
 * 'none' when it went through), once the held transaction has committed.
 */
import postgres from 'postgres';
import type { Store, Tx } from '../../src/store/db.ts';
import { withTransaction } from '../../src/store/transaction.ts';

export async function statementWhileHeld(store: Store, write: (tx: Tx) => Promise<unknown>, statement: string): Promise<string> {
  const other = postgres(store.url, { max: 1, onnotice: () => {} });
  try {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let wrote!: () => void;
    const written = new Promise<void>((resolve) => (wrote = resolve));
    const writing = withTransaction(store.db, async (tx) => {
      await write(tx);
      wrote();
      await held;
    });
    await written;
    const outcome = await other
      .begin(async (sql) => {
        await sql`set local lock_timeout = '300ms'`;
        await sql.unsafe(statement);
      })
      .then(
        () => 'none',
        (error: { code?: string }) => error.code ?? 'unknown',
      );
    release();
    await writing;
    return outcome;
  } finally {
    await other.end();
  }
}
