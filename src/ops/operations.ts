/**
 * The operations layer: what an admin can ask of groupsync, as plain data in and out. The CLI
 * uses it today; the chat commands use the same functions. No rendering and no chat types here.
 * Every change is written to the audit log with the actor who asked.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { ConnectionConfig } from '../config.ts';
import type { LinkKind, SslState } from '../domain/types.ts';
import type { SourceFactory } from '../directory/index.ts';
import { GroupsyncError } from '../errors.ts';
import { type Db, queryRows } from '../store/db.ts';
import { type RunRow, getRun, listRuns } from '../store/runs.ts';
import { auditLog, connections, duplicates, groupLinks, incidents, localUsers, mappings, runs } from '../store/schema.ts';
import { type ConnectionHealth, type HealthReason, evaluateConnection, evaluateHealth, sslOf } from '../health/health.ts';
import type { IncidentManager, IncidentRow } from '../notify/incidents.ts';
import { loadHealthInputs } from '../store/health-state.ts';
import { insertAudit } from '../sync/apply.ts';
import type { SyncEngine, SyncRequest, SyncResult } from '../sync/engine.ts';

const p = sql.param;

export interface OperationsDeps {
  readonly db: Db;
  readonly engine: SyncEngine;
  readonly createSource: SourceFactory;
  readonly incidents: IncidentManager;
  readonly now?: () => Date;
}

export interface ConnectionStatus {
  readonly name: string;
  readonly kind: string;
  readonly vendor: string | null;
  readonly enabled: boolean;
  readonly schedule: string;
  readonly linkedGroups: number;
  readonly syncedUsers: number;
  readonly conflicts: number;
  readonly unmapped: number;
  readonly ignored: number;
  readonly pendingDuplicates: number;
  readonly ssl: { readonly state: SslState; readonly validTo: string | null; readonly detail: string | null };
  readonly lastSyncAt: Date | null;
  readonly lastRunAt: Date | null;
  readonly runningSince: Date | null;
  readonly lastAttempts: ReadonlyArray<Pick<RunRow, 'id' | 'status' | 'startedAt' | 'finishedAt' | 'trigger' | 'error'>>;
  readonly health: 'green' | 'red';
  readonly reasons: readonly HealthReason[];
  readonly nextRunAt: Date | null;
  readonly quarantinedAt: Date | null;
  readonly consecutiveFailures: number;
}

export interface ConflictItem {
  readonly directoryId: string;
  readonly dn: string | null;
  readonly login: string | null;
  readonly mail: string | null;
  readonly displayName: string | null;
  readonly status: 'conflict' | 'unmapped';
  readonly reason: string | null;
  readonly candidates: ReadonlyArray<{ id: number; login: string | null; mail: string | null; displayName: string | null }>;
}

export interface DuplicateItem {
  readonly id: number;
  readonly directoryId: string;
  readonly dn: string | null;
  readonly name: string;
  readonly localGroupId: number | null;
  readonly localGroupName: string | null;
  readonly localMembers: number;
  readonly detectedAt: Date;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}

export function sslState(
  certificate: { validTo: string; trusted: boolean; error: string | null } | null,
  now: Date,
): { state: SslState; validTo: string | null; detail: string | null } {
  const ssl = sslOf(certificate, now);
  const r = ssl.reason;
  const detail =
    r?.code === 'cert_untrusted' ? r.detail : r?.code === 'cert_expiring' ? `expires in ${r.days} days` : r?.code === 'cert_expired' ? `expired ${r.validTo.toISOString()}` : null;
  return { state: ssl.state, validTo: certificate?.validTo ?? null, detail };
}

export function describeSchedule(c: ConnectionConfig): string {
  if (!c.schedule) return 'none';
  if ('cron' in c.schedule) return `cron ${c.schedule.cron}${c.schedule.timezone ? ` (${c.schedule.timezone})` : ''}`;
  const h = c.schedule.interval / 3_600_000;
  return `every ${Number.isInteger(h) ? `${h} h` : `${Math.round(c.schedule.interval / 60_000)} min`} after the last sync`;
}

export class Operations {
  readonly #db: Db;
  readonly #engine: SyncEngine;
  readonly #createSource: SourceFactory;
  readonly #now: () => Date;
  readonly #incidents: IncidentManager;

  constructor(deps: OperationsDeps) {
    this.#incidents = deps.incidents;
    this.#db = deps.db;
    this.#engine = deps.engine;
    this.#createSource = deps.createSource;
    this.#now = deps.now ?? (() => new Date());
  }

  listConnections(): readonly ConnectionConfig[] {
    return this.#engine.connections;
  }

  /** A configured connection by name (any case); NOT_FOUND names the configured ones. */
  connection(name: string): ConnectionConfig {
    return this.#engine.connection(name);
  }

  async status(name: string): Promise<ConnectionStatus> {
    const config = this.#engine.connection(name);
    await this.#engine.registerConnections();
    const [row] = await this.#db.select().from(connections).where(eq(connections.name, config.name));
    const [counts] = await queryRows<{ synced: number; conflicts: number; unmapped: number; ignored: number }>(
      this.#db,
      sql`select count(*) filter (where status = 'mapped' and in_scope)::int as synced,
                 count(*) filter (where status = 'conflict' and in_scope)::int as conflicts,
                 count(*) filter (where status = 'unmapped' and in_scope)::int as unmapped,
                 count(*) filter (where status = 'ignored')::int as ignored
          from mappings where connection = ${p(config.name)}`,
    );
    const [groups] = await queryRows<{ linked: number; duplicates: number }>(
      this.#db,
      sql`select (select count(*) from group_links where connection = ${p(config.name)} and state = 'active')::int as linked,
                 (select count(*) from duplicates where connection = ${p(config.name)} and status = 'pending')::int as duplicates`,
    );
    const attempts = await listRuns(this.#db, config.name, 10);
    const now = this.#now();
    const [input] = await loadHealthInputs(this.#db, [config]);
    const health = evaluateConnection(input!, now);
    const running = row?.lockHolder && row.lockExpiresAt && row.lockExpiresAt > now ? row.lockedAt : null;
    return {
      name: config.name,
      kind: config.kind,
      vendor: row?.vendor ?? null,
      enabled: config.enabled,
      schedule: describeSchedule(config),
      linkedGroups: groups?.linked ?? 0,
      syncedUsers: counts?.synced ?? 0,
      conflicts: counts?.conflicts ?? 0,
      unmapped: counts?.unmapped ?? 0,
      ignored: counts?.ignored ?? 0,
      pendingDuplicates: groups?.duplicates ?? 0,
      ssl: sslState(row?.certificate ?? null, now),
      lastSyncAt: row?.lastSuccessAt ?? null,
      lastRunAt: row?.lastRunAt ?? null,
      runningSince: running ?? null,
      lastAttempts: attempts.map((r) => ({ id: r.id, status: r.status, startedAt: r.startedAt, finishedAt: r.finishedAt, trigger: r.trigger, error: r.error })),
      health: health.status,
      reasons: health.reasons,
      nextRunAt: health.nextRunAt,
      quarantinedAt: row?.quarantinedAt ?? null,
      consecutiveFailures: row?.consecutiveFailures ?? 0,
    };
  }

  /** Every connection and linked group, red first, with the reasons. */
  async health(): Promise<ConnectionHealth[]> {
    await this.#engine.registerConnections();
    return evaluateHealth(await loadHealthInputs(this.#db, this.#engine.connections), this.#now());
  }

  incidents(options: { all?: boolean; limit?: number } = {}): Promise<IncidentRow[]> {
    return this.#incidents.list(options);
  }

  /**
   * Removes a connection's state, links, mappings, duplicates, runs and incidents. Local users and
   * groups stay (accounts are never deleted). Only with an explicit confirmation; audited.
   */
  async removeConnection(name: string, actor: string, confirm: boolean) {
    const [row] = await this.#db.select().from(connections).where(sql`lower(${connections.name}) = lower(${name})`);
    if (!row) throw new GroupsyncError('NOT_FOUND', `no connection "${name}" in the store`);
    const [counts] = await queryRows<{ links: number; mappings: number; runs: number; duplicates: number }>(
      this.#db,
      sql`select (select count(*) from group_links where connection = ${p(row.name)})::int as links,
                 (select count(*) from mappings where connection = ${p(row.name)})::int as mappings,
                 (select count(*) from runs where connection = ${p(row.name)})::int as runs,
                 (select count(*) from duplicates where connection = ${p(row.name)})::int as duplicates`,
    );
    if (!confirm) {
      throw new GroupsyncError(
        'INVALID_ARGUMENT',
        `removing "${row.name}" deletes ${counts?.links ?? 0} links, ${counts?.mappings ?? 0} user mappings, ${counts?.runs ?? 0} runs and its history ` +
          '(local users and groups stay); repeat with --confirm to do it',
      );
    }
    const stillConfigured = this.#engine.connections.some((c) => c.name === row.name);
    await this.#db.transaction(async (tx) => {
      await tx.execute(sql`select 1 from connections where name = ${p(row.name)} for update`);
      if (row.lockHolder && row.lockExpiresAt && row.lockExpiresAt > this.#now()) {
        throw new GroupsyncError('ALREADY_RUNNING', `a sync of "${row.name}" is running since ${row.lockedAt?.toISOString()}; remove it when it has finished`);
      }
      await tx.delete(incidents).where(eq(incidents.connection, row.name));
      await tx.delete(connections).where(eq(connections.name, row.name));
      await insertAudit(tx, actor, row.name, null, [
        { action: 'connection.removed', targetType: 'connection', targetId: row.name, before: { kind: row.kind, ...counts }, after: null },
      ]);
    });
    return { name: row.name, removed: counts, stillConfigured };
  }

  sync(request: SyncRequest): Promise<SyncResult> {
    return this.#engine.sync(request);
  }

  approve(runId: number, actor: string): Promise<SyncResult> {
    return this.#engine.approve(runId, actor);
  }

  reject(runId: number, actor: string): Promise<RunRow> {
    return this.#engine.reject(runId, actor);
  }

  async runs(name: string, limit = 20, beforeId?: number): Promise<RunRow[]> {
    const config = this.#engine.connection(name);
    return listRuns(this.#db, config.name, limit, beforeId);
  }

  /** One page of a connection's runs, newest first, with the total. */
  async runsPage(name: string, offset: number, limit: number): Promise<Page<RunRow>> {
    const config = this.#engine.connection(name);
    const items = await this.#db.select().from(runs).where(eq(runs.connection, config.name)).orderBy(desc(runs.id)).offset(offset).limit(limit);
    const [total] = await queryRows<{ n: number }>(this.#db, sql`select count(*)::int as n from runs where connection = ${p(config.name)}`);
    return { items, total: total?.n ?? 0, offset, limit };
  }

  /** Why a run was held and the sample of removals shown on its approval card. */
  async heldDetails(runId: number): Promise<{ reason: string | null; sample: string[] }> {
    const [row] = await this.#db
      .select({ details: incidents.details })
      .from(incidents)
      .where(and(eq(incidents.runId, runId), eq(incidents.cause, 'awaiting_approval')))
      .orderBy(desc(incidents.id))
      .limit(1);
    const details = (row?.details ?? {}) as { reason?: string; sample?: string[] };
    return { reason: details.reason ?? null, sample: details.sample ?? [] };
  }

  async run(id: number, auditLimit = 50): Promise<{ run: RunRow; audit: Array<typeof auditLog.$inferSelect>; auditTotal: number }> {
    const run = await getRun(this.#db, id);
    if (!run) throw new GroupsyncError('NOT_FOUND', `run #${id} does not exist`);
    const audit = await this.#db.select().from(auditLog).where(eq(auditLog.runId, id)).orderBy(auditLog.id).limit(auditLimit);
    const [total] = await queryRows<{ n: number }>(this.#db, sql`select count(*)::int as n from audit_log where run_id = ${p(id)}`);
    return { run, audit, auditTotal: total?.n ?? 0 };
  }

  async conflicts(name: string, offset = 0, limit = 20): Promise<Page<ConflictItem>> {
    const config = this.#engine.connection(name);
    const rows = await this.#db
      .select()
      .from(mappings)
      .where(and(eq(mappings.connection, config.name), inArray(mappings.status, ['conflict', 'unmapped']), eq(mappings.inScope, true)))
      .orderBy(sql`${mappings.status} = 'unmapped'`, mappings.login, mappings.directoryId)
      .offset(offset)
      .limit(limit);
    const [total] = await queryRows<{ n: number }>(
      this.#db,
      sql`select count(*)::int as n from mappings where connection = ${p(config.name)} and status in ('conflict', 'unmapped') and in_scope`,
    );
    const ids = [...new Set(rows.flatMap((r) => r.candidates))];
    const candidates = ids.length ? await this.#db.select().from(localUsers).where(inArray(localUsers.id, ids)) : [];
    const byId = new Map(candidates.map((c) => [c.id, c]));
    return {
      total: total?.n ?? 0,
      offset,
      limit,
      items: rows.map((r) => ({
        directoryId: r.directoryId,
        dn: r.dn,
        login: r.login,
        mail: r.mail,
        displayName: r.displayName,
        status: r.status as 'conflict' | 'unmapped',
        reason: r.reason,
        candidates: r.candidates.map((id) => {
          const c = byId.get(id);
          return { id, login: c?.login ?? null, mail: c?.mail ?? null, displayName: c?.displayName ?? null };
        }),
      })),
    };
  }

  async duplicates(name: string, offset = 0, limit = 20): Promise<Page<DuplicateItem>> {
    const config = this.#engine.connection(name);
    const rows = await queryRows<{
      id: number; directory_id: string; dn: string | null; name: string; local_group_id: number | null;
      local_name: string | null; members: number; detected_at: string | Date;
    }>(
      this.#db,
      sql`select d.id, d.directory_id, d.dn, d.name, d.local_group_id, g.name as local_name,
                 (select count(*) from memberships m where m.group_id = d.local_group_id)::int as members, d.detected_at
          from duplicates d left join local_groups g on g.id = d.local_group_id
          where d.connection = ${p(config.name)} and d.status = 'pending'
          order by d.name, d.id offset ${p(offset)} limit ${p(limit)}`,
    );
    const [total] = await queryRows<{ n: number }>(
      this.#db,
      sql`select count(*)::int as n from duplicates where connection = ${p(config.name)} and status = 'pending'`,
    );
    return {
      total: total?.n ?? 0,
      offset,
      limit,
      items: rows.map((r) => ({
        id: r.id,
        directoryId: r.directory_id,
        dn: r.dn,
        name: r.name,
        localGroupId: r.local_group_id,
        localGroupName: r.local_name,
        localMembers: r.members,
        detectedAt: new Date(r.detected_at),
      })),
    };
  }

  /** Finds a directory user known to the store by id, login, mail or DN; several matches are an error naming them. */
  async findDirectoryUser(ref: string, connection?: string): Promise<typeof mappings.$inferSelect> {
    const conn = connection ? this.#engine.connection(connection).name : null;
    const rows = await this.#db
      .select()
      .from(mappings)
      .where(
        and(
          conn ? eq(mappings.connection, conn) : undefined,
          sql`(${mappings.directoryId} = ${ref} or lower(${mappings.login}) = lower(${ref}) or lower(${mappings.mail}) = lower(${ref}) or lower(${mappings.dn}) = lower(${ref}))`,
        ),
      )
      .limit(11);
    if (rows.length === 0) {
      throw new GroupsyncError('NOT_FOUND', `no directory user "${ref}"${conn ? ` in "${conn}"` : ''} has been read yet; run a sync first, or check the spelling`);
    }
    if (rows.length > 1) {
      const list = rows.slice(0, 10).map((r) => `${r.connection}:${r.login ?? r.mail ?? r.directoryId} (${r.directoryId})`).join(', ');
      throw new GroupsyncError('AMBIGUOUS', `"${ref}" matches ${rows.length > 10 ? 'more than 10' : rows.length} directory users: ${list}; give the connection or the directory id`);
    }
    return rows[0]!;
  }

  async findLocalUser(ref: string): Promise<typeof localUsers.$inferSelect> {
    const id = /^#?\d+$/.test(ref) ? Number(ref.replace('#', '')) : null;
    const rows = await this.#db
      .select()
      .from(localUsers)
      .where(id !== null ? eq(localUsers.id, id) : sql`(lower(${localUsers.login}) = lower(${ref}) or lower(${localUsers.mail}) = lower(${ref}))`)
      .limit(11);
    if (rows.length === 0) throw new GroupsyncError('NOT_FOUND', `no local user "${ref}"; give a local user id (#12), login or mail`);
    if (rows.length > 1) {
      throw new GroupsyncError('AMBIGUOUS', `"${ref}" matches ${rows.length} local users: ${rows.slice(0, 10).map((r) => `#${r.id} ${r.login ?? ''} ${r.mail ?? ''}`.trim()).join(', ')}; give the id (#N)`);
    }
    return rows[0]!;
  }

  /**
   * Maps a directory user to a local user. With `onlyIfPending` (a chat button), a user that is
   * no longer in conflict is not changed and the answer says who resolved it and when.
   */
  async map(userRef: string, localRef: string, actor: string, options: { connection?: string; onlyIfPending?: boolean } = {}) {
    const user = await this.findDirectoryUser(userRef, options.connection);
    const local = await this.findLocalUser(localRef);
    return this.#db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(mappings)
        .where(and(eq(mappings.connection, user.connection), eq(mappings.directoryId, user.directoryId)))
        .for('update');
      if (!current) throw new GroupsyncError('NOT_FOUND', `directory user ${user.directoryId} vanished`);
      if (options.onlyIfPending && current.status !== 'conflict' && current.status !== 'unmapped') {
        throw new GroupsyncError('INVALID_STATE', alreadyResolved(current));
      }
      if (current.status === 'mapped' && current.localUserId === local.id) {
        throw new GroupsyncError('INVALID_STATE', alreadyResolved(current));
      }
      const [taken] = await tx
        .select()
        .from(mappings)
        .where(and(eq(mappings.connection, user.connection), eq(mappings.localUserId, local.id), eq(mappings.status, 'mapped')));
      if (taken && taken.directoryId !== user.directoryId) {
        throw new GroupsyncError('INVALID_STATE', `local user #${local.id} is already mapped to ${taken.login ?? taken.directoryId} in "${user.connection}"; unmap that user first (ignore it)`);
      }
      const now = this.#now();
      await tx
        .update(mappings)
        .set({ status: 'mapped', localUserId: local.id, candidates: [], reason: null, resolvedBy: actor, resolvedAt: now, updatedAt: now })
        .where(and(eq(mappings.connection, user.connection), eq(mappings.directoryId, user.directoryId)));
      await insertAudit(tx, actor, user.connection, null, [
        {
          action: 'user.mapped',
          targetType: 'directory_user',
          targetId: user.directoryId,
          before: { status: current.status, localUserId: current.localUserId },
          after: { status: 'mapped', localUserId: local.id },
        },
      ]);
      return { connection: user.connection, directoryId: user.directoryId, login: user.login, localUser: { id: local.id, login: local.login, mail: local.mail } };
    });
  }

  /** Ignores a directory user: it is skipped by every sync; an existing mapping is removed. */
  async ignore(userRef: string, actor: string, options: { connection?: string; onlyIfPending?: boolean } = {}) {
    return this.#setIgnored(userRef, actor, true, options);
  }

  async unignore(userRef: string, actor: string, options: { connection?: string } = {}) {
    return this.#setIgnored(userRef, actor, false, options);
  }

  async #setIgnored(userRef: string, actor: string, ignored: boolean, options: { connection?: string; onlyIfPending?: boolean }) {
    const user = await this.findDirectoryUser(userRef, options.connection);
    return this.#db.transaction(async (tx) => {
      const [current] = await tx
        .select()
        .from(mappings)
        .where(and(eq(mappings.connection, user.connection), eq(mappings.directoryId, user.directoryId)))
        .for('update');
      if (!current) throw new GroupsyncError('NOT_FOUND', `directory user ${user.directoryId} vanished`);
      if (ignored && current.status === 'ignored') throw new GroupsyncError('INVALID_STATE', alreadyResolved(current));
      if (ignored && options.onlyIfPending && current.status !== 'conflict' && current.status !== 'unmapped') {
        throw new GroupsyncError('INVALID_STATE', alreadyResolved(current));
      }
      if (!ignored && current.status !== 'ignored') {
        throw new GroupsyncError('INVALID_STATE', `${current.login ?? current.directoryId} is not ignored (it is ${current.status})`);
      }
      const now = this.#now();
      const after = ignored
        ? { status: 'ignored' as const, localUserId: null, candidates: [] as number[], reason: 'ignored by an admin' }
        : { status: 'unmapped' as const, localUserId: null, candidates: [] as number[], reason: 'unignored; matched again at the next sync' };
      await tx
        .update(mappings)
        .set({ ...after, resolvedBy: actor, resolvedAt: now, updatedAt: now })
        .where(and(eq(mappings.connection, user.connection), eq(mappings.directoryId, user.directoryId)));
      // Ignoring a mapped user removes the mapping and its memberships in this connection's groups.
      let removedMemberships = 0;
      if (ignored && current.localUserId !== null) {
        const removed = await queryRows<{ group_id: number }>(
          tx,
          sql`delete from memberships where user_id = ${p(current.localUserId)}
              and group_id in (select local_group_id from group_links where connection = ${p(user.connection)} and state = 'active')
              returning group_id`,
        );
        removedMemberships = removed.length;
      }
      await insertAudit(tx, actor, user.connection, null, [
        {
          action: ignored ? 'user.ignored' : 'user.unignored',
          targetType: 'directory_user',
          targetId: user.directoryId,
          before: { status: current.status, localUserId: current.localUserId },
          after: { status: after.status, localUserId: null, removedMemberships },
        },
      ]);
      return { connection: user.connection, directoryId: user.directoryId, login: user.login, status: after.status, removedMemberships };
    });
  }

  /** Links a directory group (name, DN or id) to the connection; it is synced from the next run. */
  async link(name: string, groupRef: string, actor: string, kind?: LinkKind) {
    const config = this.#engine.connection(name);
    await this.#engine.registerConnections();
    const source = this.#createSource(config);
    let group;
    try {
      group = await source.findGroup(groupRef);
    } finally {
      await source.close();
    }
    if (!group) throw new GroupsyncError('DIRECTORY_NOT_FOUND', `no group "${groupRef}" in the directory of "${config.name}"`);
    const linkKind = kind ?? config.linkKind;
    return this.#db.transaction(async (tx) => {
      const [existing] = await tx
        .select()
        .from(groupLinks)
        .where(and(eq(groupLinks.connection, config.name), eq(groupLinks.directoryId, group.id)));
      if (existing?.state === 'active') {
        throw new GroupsyncError('INVALID_STATE', `${group.name} is already linked to "${config.name}" (as ${existing.kind})`);
      }
      const now = this.#now();
      if (existing) {
        await tx.update(groupLinks).set({ state: 'active', origin: 'manual', kind: linkKind, updatedAt: now }).where(eq(groupLinks.id, existing.id));
      } else {
        // Not synced yet: the link row waits for the next sync to create or find its local group.
        await tx.insert(groupLinks).values({
          createdAt: now,
          connection: config.name,
          directoryId: group.id,
          dn: group.dn,
          name: group.name,
          description: group.description,
          kind: linkKind,
          origin: 'manual',
          localGroupId: null,
        });
      }
      await insertAudit(tx, actor, config.name, null, [
        { action: 'link.created', targetType: 'directory_group', targetId: group.id, before: existing ? { state: existing.state } : null, after: { name: group.name, dn: group.dn, kind: linkKind } },
      ]);
      return { connection: config.name, group, kind: linkKind };
    });
  }

  /** Unlinks a group: it is no longer synced; its local group and memberships are kept as they are. */
  async unlink(name: string, groupRef: string, actor: string) {
    const config = this.#engine.connection(name);
    const ref = groupRef.toLowerCase();
    const links = await this.#db.select().from(groupLinks).where(and(eq(groupLinks.connection, config.name), eq(groupLinks.state, 'active')));
    const found = links.filter((l) => [l.name, l.dn ?? '', l.directoryId].some((v) => v.toLowerCase() === ref));
    if (found.length === 0) throw new GroupsyncError('NOT_FOUND', `"${groupRef}" is not linked to "${config.name}"`);
    if (found.length > 1) throw new GroupsyncError('AMBIGUOUS', `"${groupRef}" names ${found.length} linked groups: ${found.map((l) => l.dn ?? l.directoryId).join('; ')}; give the DN`);
    const link = found[0]!;
    return this.#db.transaction(async (tx) => {
      await tx.update(groupLinks).set({ state: 'unlinked', origin: 'manual', updatedAt: this.#now() }).where(eq(groupLinks.id, link.id));
      await insertAudit(tx, actor, config.name, null, [
        { action: 'link.removed', targetType: 'directory_group', targetId: link.directoryId, before: { state: 'active', localGroupId: link.localGroupId }, after: { state: 'unlinked' } },
      ]);
      return { connection: config.name, name: link.name, localGroupId: link.localGroupId };
    });
  }

  /** Resolves a duplicate: link the directory group to the existing local group, or ignore it. */
  async resolveDuplicate(id: number, action: 'link' | 'ignore', actor: string) {
    return this.#db.transaction(async (tx) => {
      const [dup] = await tx.select().from(duplicates).where(eq(duplicates.id, id)).for('update');
      if (!dup) throw new GroupsyncError('NOT_FOUND', `duplicate #${id} does not exist`);
      if (dup.status !== 'pending') {
        throw new GroupsyncError('INVALID_STATE', `duplicate #${id} (${dup.name}) was already ${dup.status === 'linked' ? 'linked' : 'ignored'} by ${dup.resolvedBy} at ${dup.resolvedAt?.toISOString()}`);
      }
      const config = this.#engine.connection(dup.connection);
      const now = this.#now();
      if (action === 'link') {
        if (dup.localGroupId === null) throw new GroupsyncError('INVALID_STATE', `the local group of duplicate #${id} no longer exists; ignore it and sync again`);
        const [owner] = await tx.select().from(groupLinks).where(and(eq(groupLinks.localGroupId, dup.localGroupId), eq(groupLinks.state, 'active')));
        if (owner) throw new GroupsyncError('INVALID_STATE', `local group ${dup.name} is already linked to ${owner.connection}:${owner.name}`);
        await tx
          .insert(groupLinks)
          .values({ createdAt: now, connection: config.name, directoryId: dup.directoryId, dn: dup.dn, name: dup.name, kind: config.linkKind, origin: 'manual', localGroupId: dup.localGroupId })
          .onConflictDoUpdate({ target: [groupLinks.connection, groupLinks.directoryId], set: { state: 'active', localGroupId: dup.localGroupId, updatedAt: now } });
      }
      await tx.update(duplicates).set({ status: action === 'link' ? 'linked' : 'ignored', resolvedBy: actor, resolvedAt: now }).where(eq(duplicates.id, id));
      await insertAudit(tx, actor, config.name, null, [
        { action: action === 'link' ? 'duplicate.linked' : 'duplicate.ignored', targetType: 'directory_group', targetId: dup.directoryId, before: { status: 'pending' }, after: { status: action === 'link' ? 'linked' : 'ignored', localGroupId: dup.localGroupId } },
      ]);
      return { id, name: dup.name, connection: config.name, status: action === 'link' ? 'linked' : 'ignored' };
    });
  }
}

function alreadyResolved(m: typeof mappings.$inferSelect): string {
  const who = m.resolvedBy ? ` by ${m.resolvedBy} at ${m.resolvedAt?.toISOString()}` : ' by a sync';
  const what = m.status === 'mapped' ? `mapped to local user #${m.localUserId}` : m.status;
  return `${m.login ?? m.directoryId} was already resolved${who}: ${what}`;
}
