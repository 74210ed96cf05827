/**
 * Loading many rows at once (a first sync of a large directory) at the speed PostgreSQL loads bare
 * tables. Checked one row at a time, a foreign key costs an index look-up and a row lock per row,
 * and each index a random insert: most of a first sync's time (for `memberships`, its two keys,
 * primary key and user index; for `local_users`, its two lower() indexes: 1.2 s of copy at 100k,
 * 0.3 s without them). For a large load, inside the caller's transaction, the table's foreign keys
 * to the tables named, its secondary indexes and (when nothing references the table) its primary
 * key are dropped, the rows copied, then the indexes built and the keys added again,
 * which checks every row in one set-based pass. The definitions are read from the catalog, so the
 * table comes back as it was, whatever migrations made it. DDL in PostgreSQL is transactional: a
 * crash or an error at any point rolls the keys back with the rows, so the store is as before the
 * run.
 *
 * The DDL locks the tables exclusively until the transaction ends (readers wait for the rest of
 * the apply). The first load of a transaction locks every table any of them needs (BULK_LOCKED,
 * in one statement, one order): a later load then waits for no lock, so two transactions cannot
 * each hold a table the other waits for. When the locks are not granted within `lockTimeoutMs` (a
 * long reader, another connection's apply), the rows are copied with their checks instead, and so
 * are the transaction's later loads: slower, never blocked behind a long queue.
 *
 * `mappings` is not loaded this way: its keys and indexes would cost 1.7 s of its 3.4 s at 100k,
 * but dropping them locks the table, which status, health, home and the conflicts list read, for
 * the rest of the apply (a minute at a million users); and its key to `connections` would lock
 * that table, which every run and view reads.
 */
import { type SQL, sql } from 'drizzle-orm';
import { bulkInsertPairs } from './copy.ts';
import { type Executor, queryRows } from './db.ts';
import { p } from './sql.ts';

export interface BulkLoadOptions {
  /** Fewer rows than this are copied with their checks (the rebuild costs more). */
  readonly minRows?: number;
  /** The table already holding more than this many times the new rows: copied with their checks. */
  readonly maxExistingRatio?: number;
  readonly lockTimeoutMs?: number;
}

export const BULK_LOAD_DEFAULTS = { minRows: 50_000, maxExistingRatio: 8, lockTimeoutMs: 5_000 } as const;

/** How rows were loaded: without per-row checks, or copied with them. */
export type LoadMode = 'bulk' | 'checked';

/** A table loaded in bulk, and the tables whose foreign keys from it are dropped during the load. */
export interface BulkTable {
  readonly table: string;
  readonly references: readonly string[];
}

export const MEMBERSHIPS: BulkTable = { table: 'memberships', references: ['local_groups', 'local_users'] };
export const LOCAL_USERS: BulkTable = { table: 'local_users', references: [] };

/** What a bulk load locks: every table loaded in bulk and those its keys reference, in alphabetical order. */
const BULK_LOCKED = [...new Set([MEMBERSHIPS, LOCAL_USERS].flatMap((t) => [t.table, ...t.references]))].sort();

/** Transactions whose locks were refused: their later loads copy with checks at once. */
const refused = new WeakSet<Executor>();

type Pairs = ArrayLike<number>;

/** Copies new memberships (`groups[k]`, `users[k]`, absent from the table); without per-row checks when large. */
export function loadMemberships(tx: Executor, groups: Pairs, users: Pairs, options: BulkLoadOptions = {}): Promise<LoadMode> {
  return bulkLoad(tx, MEMBERSHIPS, groups.length, (ex) => bulkInsertPairs(ex, 'memberships', ['group_id', 'user_id'], groups, users), options);
}

/** Copies `rows` new rows into `target.table` with `copy`; without per-row checks when they are many. */
export async function bulkLoad(tx: Executor, target: BulkTable, rows: number, copy: (ex: Executor) => Promise<void>, options: BulkLoadOptions = {}): Promise<LoadMode> {
  const o = { ...BULK_LOAD_DEFAULTS, ...options };
  if (rows === 0) return 'checked';
  if (rows >= o.minRows && !refused.has(tx) && (await estimatedRows(tx, target.table)) <= rows * o.maxExistingRatio) {
    if (await tryBulkLoad(tx, target, copy, o.lockTimeoutMs)) return 'bulk';
  }
  await copy(tx);
  return 'checked';
}

/** The planner's estimate of the table's rows (no scan); 0 for a table never analysed. */
async function estimatedRows(tx: Executor, table: string): Promise<number> {
  const [row] = await queryRows<{ n: number }>(tx, sql`select greatest(reltuples, 0)::float8 as n from pg_class where oid = ${p(table)}::regclass`);
  return row?.n ?? 0;
}

interface Definition {
  readonly name: string;
  readonly def: string;
}

/**
 * The table's foreign keys to `references`, its primary key when no foreign key references the
 * table (built once after the copy: 0.4 s where keeping it up row by row cost 1.1 s for 705,000
 * memberships), and its secondary indexes (not backing a constraint), as the catalog defines
 * them. The primary key comes first: it is added back before the foreign keys.
 */
async function checksOf(tx: Executor, target: BulkTable): Promise<{ keys: Definition[]; indexes: Definition[] }> {
  const keys = await queryRows<Definition>(
    tx,
    sql`select conname as name, pg_get_constraintdef(oid) as def from pg_constraint c
        where conrelid = ${p(target.table)}::regclass
          and ((contype = 'f' and confrelid = any(${p([...target.references])}::text[]::regclass[]))
               or (contype = 'p' and not exists (select 1 from pg_constraint r where r.contype = 'f' and r.confrelid = c.conrelid)))
        order by contype = 'p' desc, conname`,
  );
  const indexes = await queryRows<Definition>(
    tx,
    sql`select c.relname as name, pg_get_indexdef(i.indexrelid) as def from pg_index i join pg_class c on c.oid = i.indexrelid
        where i.indrelid = ${p(target.table)}::regclass and not i.indisprimary and not i.indisunique
          and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid) order by c.relname`,
  );
  return { keys, indexes };
}

/** `alter table <table> <clause>, <clause>…` over the definitions; null when there are none. */
function alterTable(table: string, defs: readonly Definition[], clause: (d: Definition) => SQL): SQL | null {
  if (!defs.length) return null;
  return sql`alter table ${sql.identifier(table)} ${sql.join(defs.map(clause), sql`, `)}`;
}

/** Loads in a savepoint; false (and nothing changed) when the locks were not granted in time. */
async function tryBulkLoad(tx: Executor, target: BulkTable, copy: (ex: Executor) => Promise<void>, lockTimeoutMs: number): Promise<boolean> {
  const { table } = target;
  // One statement, a fixed order: every table or none.
  const tables = BULK_LOCKED.map((t) => sql.identifier(t));
  try {
    await tx.transaction(async (sp) => {
      const [saved] = await queryRows<{ v: string }>(sp, sql`select current_setting('lock_timeout') as v`);
      await sp.execute(sql`select set_config('lock_timeout', ${p(`${lockTimeoutMs}ms`)}, true)`);
      await sp.execute(sql`lock table ${sql.join(tables, sql`, `)} in access exclusive mode`);
      await sp.execute(sql`select set_config('lock_timeout', ${p(saved!.v)}, true)`);
      const { keys, indexes } = await checksOf(sp, target);
      const dropKeys = alterTable(table, keys, (k) => sql`drop constraint ${sql.identifier(k.name)}`);
      if (dropKeys) await sp.execute(dropKeys);
      for (const i of indexes) await sp.execute(sql`drop index ${sql.identifier(i.name)}`);
      await copy(sp);
      for (const i of indexes) await sp.execute(sql.raw(i.def));
      const addKeys = alterTable(table, keys, (k) => sql`add constraint ${sql.identifier(k.name)} ${sql.raw(k.def)}`);
      if (addKeys) await sp.execute(addKeys);
    });
    return true;
  } catch (error) {
    if (!isLockRefused(error)) throw error;
    refused.add(tx);
    return false;
  }
}

/** lock_not_available (lock_timeout) or deadlock_detected, from postgres.js or wrapped by drizzle. */
export function isLockRefused(error: unknown): boolean {
  for (let e: unknown = error; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (code === '55P03' || code === '40P01') return true;
  }
  return false;
}
