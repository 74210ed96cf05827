/**
 * Loading many memberships at once (a first sync of a large directory) at the speed PostgreSQL
 * loads bare tables. Checked one row at a time, the two foreign keys of `memberships` cost two
 * index look-ups and a row lock per membership, and its second index a random insert: most of a
 * first sync's time. For a large load, inside the caller's transaction, the foreign keys and the
 * user index are dropped, the rows copied, then the index built and the keys added again, which
 * checks every row in one set-based pass. DDL in PostgreSQL is transactional: a crash or an
 * error at any point rolls the keys back with the rows, so the store is as before the run.
 *
 * The DDL locks `memberships`, `local_users` and `local_groups` exclusively until the
 * transaction ends (readers wait for the rest of the apply). When the locks are not granted
 * within `lockTimeoutMs` (a long reader, another connection's apply), the rows are copied with
 * their checks instead: slower, never blocked behind a long queue.
 */
import { sql } from 'drizzle-orm';
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

/** How memberships were loaded: without per-row checks, or copied with them. */
export type LoadMode = 'bulk' | 'checked';

type Pairs = ArrayLike<number>;

/** Copies new memberships (`groups[k]`, `users[k]`, absent from the table); without per-row checks when large. */
export async function loadMemberships(tx: Executor, groups: Pairs, users: Pairs, options: BulkLoadOptions = {}): Promise<LoadMode> {
  const o = { ...BULK_LOAD_DEFAULTS, ...options };
  const n = groups.length;
  if (n === 0) return 'checked';
  if (n >= o.minRows && (await estimatedRows(tx)) <= n * o.maxExistingRatio) {
    if (await tryBulkLoad(tx, groups, users, o.lockTimeoutMs)) return 'bulk';
  }
  await copyPairs(tx, groups, users);
  return 'checked';
}

/** The planner's estimate of the table's rows (no scan); 0 for a table never analysed. */
async function estimatedRows(tx: Executor): Promise<number> {
  const [row] = await queryRows<{ n: number }>(tx, sql`select greatest(reltuples, 0)::float8 as n from pg_class where oid = 'memberships'::regclass`);
  return row?.n ?? 0;
}

function copyPairs(tx: Executor, groups: Pairs, users: Pairs): Promise<void> {
  return bulkInsertPairs(tx, 'memberships', ['group_id', 'user_id'], groups, users);
}

/** Loads in a savepoint; false (and nothing changed) when the locks were not granted in time. */
async function tryBulkLoad(tx: Executor, groups: Pairs, users: Pairs, lockTimeoutMs: number): Promise<boolean> {
  try {
    await tx.transaction(async (sp) => {
      const [saved] = await queryRows<{ v: string }>(sp, sql`select current_setting('lock_timeout') as v`);
      await sp.execute(sql`select set_config('lock_timeout', ${p(`${lockTimeoutMs}ms`)}, true)`);
      // One statement, a fixed order: the three tables or none.
      await sp.execute(sql`lock table local_groups, local_users, memberships in access exclusive mode`);
      await sp.execute(sql`select set_config('lock_timeout', ${p(saved!.v)}, true)`);
      await sp.execute(sql`alter table memberships drop constraint memberships_group_id_local_groups_id_fk,
                                                 drop constraint memberships_user_id_local_users_id_fk`);
      await sp.execute(sql`drop index memberships_user_idx`);
      await copyPairs(sp, groups, users);
      await sp.execute(sql`create index memberships_user_idx on memberships using btree (user_id)`);
      await sp.execute(sql`alter table memberships
        add constraint memberships_group_id_local_groups_id_fk foreign key (group_id) references local_groups (id) on delete cascade on update no action,
        add constraint memberships_user_id_local_users_id_fk foreign key (user_id) references local_users (id) on delete cascade on update no action`);
    });
    return true;
  } catch (error) {
    if (isLockRefused(error)) return false;
    throw error;
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
