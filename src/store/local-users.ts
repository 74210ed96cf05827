/** Local users: the accounts groupsync provisions (never deleted, only deactivated). */
import { eq, inArray, sql } from 'drizzle-orm';
import { type Executor, queryRows } from './db.ts';
import { localUsers } from './schema.ts';
import { p } from './sql.ts';

export type LocalUserRow = typeof localUsers.$inferSelect;

/** Local users whose id (`12`, `#12`) is `ref`, or whose login or mail is, in any case; at most `limit`. */
export async function findLocalUsers(db: Executor, ref: string, limit: number): Promise<LocalUserRow[]> {
  const id = /^#?\d+$/.test(ref) ? Number(ref.replace('#', '')) : null;
  return db
    .select()
    .from(localUsers)
    .where(id !== null ? eq(localUsers.id, id) : sql`(lower(${localUsers.login}) = lower(${ref}) or lower(${localUsers.mail}) = lower(${ref}))`)
    .limit(limit);
}

export async function getLocalUsers(db: Executor, ids: readonly number[]): Promise<LocalUserRow[]> {
  if (!ids.length) return [];
  return db.select().from(localUsers).where(inArray(localUsers.id, [...ids]));
}

/** What an admin needs to choose a local user: who, whether active, when last touched, where mapped. */
export interface LocalUserSummary {
  readonly id: number;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly active: boolean;
  /** The latest change the store knows: the local user's own update, or a sync changing a mapping to it. */
  readonly lastActivityAt: Date | null;
  /** Connections whose directory user is mapped to it. */
  readonly mappedIn: readonly string[];
}

type SummaryRow = { id: number; login: string | null; mail: string | null; display_name: string | null; active: boolean; last_activity: string | Date | null; mapped_in: string[] | null };

const summaryColumns = sql`u.id, u.login, u.mail, u.display_name, u.active,
  greatest(u.updated_at, max(m.updated_at)) as last_activity,
  array_remove(array_agg(distinct m.connection), null) as mapped_in`;
const summaryJoin = sql`local_users u left join mappings m on m.local_user_id = u.id and m.status = 'mapped'`;

function summaryOf(r: SummaryRow): LocalUserSummary {
  const at = r.last_activity === null ? null : r.last_activity instanceof Date ? r.last_activity : new Date(r.last_activity);
  return { id: r.id, login: r.login, mail: r.mail, displayName: r.display_name, active: r.active, lastActivityAt: at, mappedIn: r.mapped_in ?? [] };
}

export async function describeLocalUsers(db: Executor, ids: readonly number[]): Promise<LocalUserSummary[]> {
  if (!ids.length) return [];
  const rows = await queryRows<SummaryRow>(db, sql`select ${summaryColumns} from ${summaryJoin} where u.id = any(${p([...ids])}::int[]) group by u.id`);
  return rows.map(summaryOf);
}

/** `%text%` for LIKE, with the pattern characters of `text` taken literally. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * Local users whose name, login or mail contains `text` (any case), or whose id it is (`#12`):
 * exact login or mail matches first, then active users, by name; at most `limit`.
 */
export async function searchLocalUsers(db: Executor, text: string, limit: number): Promise<LocalUserSummary[]> {
  const q = text.trim();
  const id = /^#?\d{1,9}$/.test(q) ? Number(q.replace('#', '')) : null;
  const pattern = likePattern(q);
  const rows = await queryRows<SummaryRow>(
    db,
    sql`select ${summaryColumns} from ${summaryJoin}
        where u.id = ${p(id ?? -1)}
           or u.display_name ilike ${p(pattern)} or u.login ilike ${p(pattern)} or u.mail ilike ${p(pattern)}
        group by u.id
        order by (u.id = ${p(id ?? -1)} or lower(u.login) = lower(${p(q)}) or lower(u.mail) = lower(${p(q)})) desc,
                 u.active desc, lower(coalesce(u.display_name, u.login, u.mail, '')), u.id
        limit ${p(limit)}`,
  );
  return rows.map(summaryOf);
}
