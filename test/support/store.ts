/** Reading a test app's store: raw rows, a group's members, and a fingerprint of every synced table. */
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/store/db.ts';
import type { TestApp } from './app.ts';

export async function rows<T = Record<string, unknown>>(app: TestApp, text: string): Promise<T[]> {
  return queryRows<T>(app.store.db, sql.raw(text));
}

/** Logins of a local group's members, sorted. */
export async function membersOf(app: TestApp, name: string): Promise<string[]> {
  const r = await queryRows<{ login: string }>(
    app.store.db,
    sql`select u.login from memberships m join local_groups g on g.id = m.group_id join local_users u on u.id = m.user_id
        where g.name = ${name} order by u.login`,
  );
  return r.map((x) => x.login);
}

/** Everything a sync writes, as one string: equal before and after means nothing was written. */
export async function storeFingerprint(app: TestApp): Promise<string> {
  const parts: unknown[] = [];
  for (const table of ['local_users', 'local_groups', 'memberships', 'group_links', 'mappings', 'duplicates']) {
    parts.push(await rows(app, `select * from ${table} order by 1, 2`));
  }
  return JSON.stringify(parts);
}
