/**
 * The local store: the application's users, groups and memberships (other applications read
 * them), plus groupsync's own state: connections, links, mappings, duplicates, runs, audit,
 * chat conversations and alert incidents (schema-chat.ts). One schema serves the embedded and
 * external PostgreSQL; drizzle-kit reads it from this module.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  customType,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

import { created, ts, updated } from './schema-columns.ts';

// The tables of chat delivery and alerts live in schema-chat.ts; this module is the whole schema.
export * from './schema-chat.ts';

/** State kept per configured connection (the configuration itself lives in the config file). */
export const connections = pgTable('connections', {
  name: text('name').primaryKey(),
  kind: text('kind').notNull(),
  vendor: text('vendor'),
  /** Certificate seen at the last probe or read: { subject, issuer, validTo, trusted, error }. */
  certificate: jsonb('certificate').$type<{ subject: string; issuer: string; validTo: string; trusted: boolean; error: string | null } | null>(),
  certificateCheckedAt: ts('certificate_checked_at'),
  /** Run lock: a lease held by one process; expires if that process dies. */
  lockHolder: text('lock_holder'),
  lockRunId: integer('lock_run_id'),
  lockedAt: ts('locked_at'),
  lockExpiresAt: ts('lock_expires_at'),
  lastRunAt: ts('last_run_at'),
  lastSuccessAt: ts('last_success_at'),
  /** Schedule state, shared by every process: the next due run, claimed by exactly one of them. */
  nextRunAt: ts('next_run_at'),
  /** The schedule `nextRunAt` was computed for: when the config file's schedule differs, it is computed again. */
  scheduleKey: text('schedule_key'),
  consecutiveFailures: integer('consecutive_failures').notNull().default(0),
  /** Set after repeated failures: retried less often and shown red until a success or a forced run. */
  quarantinedAt: ts('quarantined_at'),
  /** Paused by an admin (`pause`): the scheduler starts no run and forced syncs are refused until `resume`. */
  pausedAt: ts('paused_at'),
  pausedBy: text('paused_by'),
  createdAt: created(),
  updatedAt: updated(),
});

const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => 'bytea',
});

/**
 * What a directory source keeps between runs of a connection (Entra: Graph delta links and the
 * directory as last read, compressed). Written only in the transaction of a run that applied.
 */
export const directoryState = pgTable('directory_state', {
  connection: text('connection')
    .primaryKey()
    .references(() => connections.name, { onDelete: 'cascade' }),
  cursor: jsonb('cursor').$type<Record<string, unknown>>().notNull(),
  cache: bytea('cache'),
  runId: integer('run_id'),
  /** The store generation (store/generation.ts) this run's apply left; null when it planned against an older one. */
  plannedGeneration: bigint('planned_generation', { mode: 'number' }),
  /** A digest of the connection settings the run planned with (match key, user creation, link kind, defaults). */
  planKey: text('plan_key'),
  /** A digest of everything the run read that a plan reads (sync/plan/digest.ts); null when it could not be taken. */
  snapshotDigest: text('snapshot_digest'),
  updatedAt: updated(),
});

/**
 * One row: moved by statement triggers on every table a plan reads (migration 0009; see
 * store/generation.ts). Its row lock orders the writers of those tables.
 */
export const storeGeneration = pgTable('store_generation', {
  id: boolean('id').primaryKey().default(true),
  n: bigint('n', { mode: 'number' }).notNull().default(0),
});

export const localGroups = pgTable(
  'local_groups',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    description: text('description'),
    kind: text('kind').$type<'group' | 'security'>().notNull().default('group'),
    /** The run that created it (null: created by hand or before runs were recorded here). */
    createdRunId: integer('created_run_id'),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [uniqueIndex('local_groups_name_key').on(sql`lower(${t.name})`)],
);

export const localUsers = pgTable(
  'local_users',
  {
    id: serial('id').primaryKey(),
    login: text('login'),
    mail: text('mail'),
    displayName: text('display_name'),
    active: boolean('active').notNull().default(true),
    attributes: jsonb('attributes').$type<Record<string, string>>().notNull().default({}),
    createdByConnection: text('created_by_connection'),
    /** The run that created it (null: created by hand or before runs were recorded here). */
    createdRunId: integer('created_run_id'),
    deactivatedAt: ts('deactivated_at'),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [index('local_users_mail_idx').on(sql`lower(${t.mail})`), index('local_users_login_idx').on(sql`lower(${t.login})`)],
);

export const memberships = pgTable(
  'memberships',
  {
    groupId: integer('group_id')
      .notNull()
      .references(() => localGroups.id, { onDelete: 'cascade' }),
    userId: integer('user_id')
      .notNull()
      .references(() => localUsers.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index('memberships_user_idx').on(t.userId)],
);

/** A directory group bound to a local group. state: active | unlinked (kept so a scope filter does not re-link it). */
export const groupLinks = pgTable(
  'group_links',
  {
    id: serial('id').primaryKey(),
    connection: text('connection')
      .notNull()
      .references(() => connections.name, { onDelete: 'cascade' }),
    directoryId: text('directory_id').notNull(),
    dn: text('dn'),
    name: text('name').notNull(),
    description: text('description'),
    kind: text('kind').$type<'group' | 'security'>().notNull(),
    origin: text('origin').$type<'scope' | 'manual'>().notNull(),
    state: text('state').$type<'active' | 'unlinked'>().notNull().default('active'),
    localGroupId: integer('local_group_id').references(() => localGroups.id, { onDelete: 'set null' }),
    lastSyncedAt: ts('last_synced_at'),
    lastRunId: integer('last_run_id'),
    createdAt: created(),
    updatedAt: updated(),
  },
  (t) => [uniqueIndex('group_links_directory_key').on(t.connection, t.directoryId)],
);

/** A directory user and its local user. Also the last state read, so an unchanged user writes nothing. */
export const mappings = pgTable(
  'mappings',
  {
    /**
     * The connection (connections.name). Checked by statement-level triggers, not a foreign key
     * (migrations/0015): once per statement, where a key checked each of a first sync's 100,000
     * rows (1.1 s); a connection's deletion deletes its mappings.
     */
    connection: text('connection').notNull(),
    directoryId: text('directory_id').notNull(),
    dn: text('dn'),
    login: text('login'),
    mail: text('mail'),
    displayName: text('display_name'),
    enabled: boolean('enabled').notNull().default(true),
    inScope: boolean('in_scope').notNull().default(true),
    status: text('status').$type<'mapped' | 'unmapped' | 'conflict' | 'ignored'>().notNull(),
    /**
     * The local user it maps to (local_users.id). Checked by statement-level triggers, not a foreign
     * key (migrations/0017): once per statement, where a key checked each of a first sync's 100,000
     * rows (0.5 s); a local user's deletion sets it to null.
     */
    localUserId: integer('local_user_id'),
    candidates: jsonb('candidates').$type<number[]>().notNull().default([]),
    /** For users in conflict or unmapped: the linked directory groups that reach them (per-link health). */
    viaGroups: jsonb('via_groups').$type<string[]>().notNull().default([]),
    reason: text('reason'),
    resolvedBy: text('resolved_by'),
    resolvedAt: ts('resolved_at'),
    firstSeenAt: created('first_seen_at'),
    updatedAt: updated(),
  },
  (t) => [
    primaryKey({ columns: [t.connection, t.directoryId] }),
    index('mappings_local_user_idx').on(t.localUserId),
    index('mappings_status_idx').on(t.connection, t.status),
  ],
);

/**
 * The attribute digest (sync/plan/digest.ts) of a directory user that the last full-scope run
 * left mapped, its local user equal to its attributes. Deleted by a trigger when the mapping's
 * status, local user, scope or attributes change by any other statement (an admin's decision, a
 * local user deleted, another run), and with the mapping.
 */
export const userDigests = pgTable(
  'user_digests',
  {
    connection: text('connection').notNull(),
    directoryId: text('directory_id').notNull(),
    digest: text('digest').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.connection, t.directoryId] }),
  ],
);

/**
 * The member digest of a linked group whose memberships the last full-scope run planned.
 * Deleted by a trigger when the link's local group or state changes, and with the link.
 */
export const groupDigests = pgTable('group_digests', {
  linkId: integer('link_id').primaryKey(),
  digest: text('digest').notNull(),
});

export const duplicates = pgTable(
  'duplicates',
  {
    id: serial('id').primaryKey(),
    connection: text('connection')
      .notNull()
      .references(() => connections.name, { onDelete: 'cascade' }),
    directoryId: text('directory_id').notNull(),
    dn: text('dn'),
    name: text('name').notNull(),
    localGroupId: integer('local_group_id').references(() => localGroups.id, { onDelete: 'cascade' }),
    status: text('status').$type<'pending' | 'linked' | 'ignored'>().notNull().default('pending'),
    resolvedBy: text('resolved_by'),
    resolvedAt: ts('resolved_at'),
    detectedAt: created('detected_at'),
  },
  (t) => [uniqueIndex('duplicates_directory_key').on(t.connection, t.directoryId)],
);

export const runs = pgTable(
  'runs',
  {
    id: serial('id').primaryKey(),
    connection: text('connection')
      .notNull()
      .references(() => connections.name, { onDelete: 'cascade' }),
    trigger: text('trigger').$type<'schedule' | 'manual' | 'chat' | 'api'>().notNull(),
    actor: text('actor').notNull(),
    dryRun: boolean('dry_run').notNull().default(false),
    kindFilter: text('kind_filter'),
    groupFilter: jsonb('group_filter').$type<string[]>().notNull().default([]),
    status: text('status')
      .$type<'running' | 'success' | 'partial' | 'failed' | 'awaiting_approval' | 'rejected' | 'dry_run'>()
      .notNull(),
    startedAt: created('started_at'),
    finishedAt: ts('finished_at'),
    errorCode: text('error_code'),
    error: text('error'),
    groupsCreated: integer('groups_created').notNull().default(0),
    groupsModified: integer('groups_modified').notNull().default(0),
    groupsDeleted: integer('groups_deleted').notNull().default(0),
    groupsDuplicated: integer('groups_duplicated').notNull().default(0),
    usersCreated: integer('users_created').notNull().default(0),
    usersUpdated: integer('users_updated').notNull().default(0),
    usersDeactivated: integer('users_deactivated').notNull().default(0),
    usersConflicts: integer('users_conflicts').notNull().default(0),
    usersIgnored: integer('users_ignored').notNull().default(0),
    membershipsAdded: integer('memberships_added').notNull().default(0),
    membershipsRemoved: integer('memberships_removed').notNull().default(0),
    /** Provisioning-console summary: { users: {impacted, success, unsynced, partial, failed}, groups: {...} }. */
    summary: jsonb('summary').$type<RunSummary>(),
    skipped: jsonb('skipped').$type<Array<{ ref: string; reason: string }>>().notNull().default([]),
    /** Read statistics: entries, durations per phase, full or incremental. */
    stats: jsonb('stats').$type<Record<string, number | string | boolean>>().notNull().default({}),
    decidedBy: text('decided_by'),
    decidedAt: ts('decided_at'),
  },
  (t) => [index('runs_connection_idx').on(t.connection, t.id)],
);

export interface SummaryCounts {
  impacted: number;
  success: number;
  unsynced: number;
  partial: number;
  failed: number;
}
export interface RunSummary {
  users: SummaryCounts;
  groups: SummaryCounts;
}

/** The plan a run held for approval, applied as it was (re-checked against the store) when approved. */
export const heldPlans = pgTable('held_plans', {
  runId: integer('run_id')
    .primaryKey()
    .references(() => runs.id, { onDelete: 'cascade' }),
  plan: jsonb('plan').notNull(),
  createdAt: created(),
});

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: ts('at').notNull().defaultNow(),
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    connection: text('connection'),
    runId: integer('run_id'),
    targetType: text('target_type').notNull(),
    targetId: text('target_id').notNull(),
    before: jsonb('before'),
    after: jsonb('after'),
  },
  (t) => [index('audit_run_idx').on(t.runId), index('audit_connection_idx').on(t.connection, t.at)],
);
