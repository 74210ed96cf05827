/**
 * The operations layer: what an admin can ask of groupsync, as plain data in and out. The CLI
 * and the chat commands call it. No rendering and no chat types here. Every change is written
 * to the audit log with the actor who asked. The work is in one module per aggregate
 * (connections, runs, users, groups); this class binds them to one store and engine.
 */
import type { ConnectionConfig } from '../config.ts';
import type { LinkKind } from '../domain/types.ts';
import type { SourceFactory } from '../directory/index.ts';
import type { ConnectionHealth, ConnectionHealthInput } from '../health/health.ts';
import { loadHealthInputs } from '../store/health-state.ts';
import type { IncidentManager, IncidentRow } from '../notify/incidents.ts';
import type { Db } from '../store/db.ts';
import type { RunRow } from '../store/runs.ts';
import type { SyncEngine, SyncRequest, SyncResult } from '../sync/engine.ts';
import type { RunningSync, SyncRunner } from '../sync/runner.ts';
import { type ConnectionStatus, health, removeConnection, status } from './connections.ts';
import { SharedReads } from './shared-reads.ts';
import type { OpsContext, Page } from './context.ts';
import { type DuplicateAction, type DuplicateItem, linkGroup, listDuplicates, resolveDuplicate, unlinkGroup } from './groups.ts';
import { pauseConnection, resumeConnection } from './pause.ts';
import { heldDetails, listRunsOf, runDetail, runsPage } from './runs.ts';
import { type AuditItem, type AuditQuery, type DirectoryUserRow, type FailureContext, type UsersQuery, auditPage, failureContext, incidentsWithContext, listUsers } from './read.ts';
import { type WhyAnswer, explainMembership } from './why.ts';
import { type ConflictItem, conflicts, findDirectoryUser, findLocalUser, mapUser, searchLocalUsers, setIgnored } from './users.ts';

export type { ConnectionStatus } from './connections.ts';
export { describeSchedule, sslState } from './connections.ts';
export type { Page } from './context.ts';
export type { DuplicateAction, DuplicateItem } from './groups.ts';
export type { ConflictItem } from './users.ts';
export type { AuditItem, AuditQuery, DirectoryUserRow, FailureContext, UserStatusFilter, UsersQuery } from './read.ts';
export type { WhyAnswer, WhyGroup } from './why.ts';
export type { LocalUserSummary } from '../store/local-users.ts';

export interface OperationsDeps {
  readonly db: Db;
  readonly engine: SyncEngine;
  /** Where syncs run (sync/runner.ts); the engine in process by default. */
  readonly runner?: SyncRunner;
  readonly createSource: SourceFactory;
  readonly incidents: IncidentManager;
  readonly now?: () => Date;
}

export class Operations {
  readonly #ctx: OpsContext;
  readonly #runner: Pick<SyncRunner, 'sync' | 'running'>;

  constructor(deps: OperationsDeps) {
    this.#runner = deps.runner ?? { sync: (request) => deps.engine.sync(request), running: () => null };
    const reads = new SharedReads<string, ConnectionHealthInput[]>();
    this.#ctx = {
      db: deps.db,
      engine: deps.engine,
      createSource: deps.createSource,
      incidents: deps.incidents,
      now: deps.now ?? (() => new Date()),
      healthInputs: (configs, links = true, detail = 'full') =>
        reads.read(`${links}\n${detail}\n${configs.map((c) => c.name).join('\n')}`, () => loadHealthInputs(deps.db, configs, { links, detail })),
    };
  }

  listConnections(): readonly ConnectionConfig[] {
    return this.#ctx.engine.connections;
  }

  /** A configured connection by name (any case); NOT_FOUND names the configured ones. */
  connection(name: string): ConnectionConfig {
    return this.#ctx.engine.connection(name);
  }

  status(name: string): Promise<ConnectionStatus> {
    return status(this.#ctx, name);
  }

  /** Every connection and linked group, red first, with the reasons. */
  health(): Promise<ConnectionHealth[]> {
    return health(this.#ctx);
  }

  /** Health as the alert rules need it (no member or synced-user counts): after every run and tick. */
  healthForAlerts(): Promise<ConnectionHealth[]> {
    return health(this.#ctx, 'alerts');
  }

  incidents(options: { all?: boolean; limit?: number } = {}): Promise<IncidentRow[]> {
    return this.#ctx.incidents.list(options);
  }

  /** Removes a connection's state and history (local users and groups stay); only when confirmed; audited. */
  removeConnection(name: string, actor: string, confirm: boolean) {
    return removeConnection(this.#ctx, name, actor, confirm);
  }

  /** Pauses a connection: no scheduled run starts and syncs that could apply are refused until resumed; audited. */
  pause(name: string, actor: string) {
    return pauseConnection(this.#ctx, name, actor);
  }

  resume(name: string, actor: string) {
    return resumeConnection(this.#ctx, name, actor);
  }

  sync(request: SyncRequest): Promise<SyncResult> {
    return this.#runner.sync(request);
  }

  /** The sync of a connection this process runs now (its run id and phase), if any. */
  runningSync(connection: string): RunningSync | null {
    return this.#runner.running(connection);
  }

  approve(runId: number, actor: string): Promise<SyncResult> {
    return this.#ctx.engine.approve(runId, actor);
  }

  reject(runId: number, actor: string): Promise<RunRow> {
    return this.#ctx.engine.reject(runId, actor);
  }

  runs(name: string, limit = 20, beforeId?: number): Promise<RunRow[]> {
    return listRunsOf(this.#ctx, name, limit, beforeId);
  }

  /** One page of a connection's runs, newest first, with the total. */
  runsPage(name: string, offset: number, limit: number): Promise<Page<RunRow>> {
    return runsPage(this.#ctx, name, offset, limit);
  }

  /** Why a run was held and the sample of removals shown on its approval card. */
  heldDetails(runId: number): Promise<{ reason: string | null; sample: string[] }> {
    return heldDetails(this.#ctx, runId);
  }

  run(id: number, auditLimit = 50) {
    return runDetail(this.#ctx, id, auditLimit);
  }

  conflicts(name: string, offset = 0, limit = 20): Promise<Page<ConflictItem>> {
    return conflicts(this.#ctx, name, offset, limit);
  }

  duplicates(name: string, offset = 0, limit = 20): Promise<Page<DuplicateItem>> {
    return listDuplicates(this.#ctx, name, offset, limit);
  }

  /** A directory user known to the store by id, login, mail or DN; several matches are an error naming them. */
  findDirectoryUser(ref: string, connection?: string) {
    return findDirectoryUser(this.#ctx, ref, connection);
  }

  /** Local users whose name, login or mail contains `text` (or `#id`), for a pick list; at most `limit`. */
  searchLocalUsers(text: string, limit = 20) {
    return searchLocalUsers(this.#ctx, text, limit);
  }

  findLocalUser(ref: string) {
    return findLocalUser(this.#ctx, ref);
  }

  /**
   * Maps a directory user to a local user. With `onlyIfPending` (a chat button), a user that is
   * no longer in conflict is not changed and the answer says who resolved it and when.
   */
  map(userRef: string, localRef: string, actor: string, options: { connection?: string; onlyIfPending?: boolean } = {}) {
    return mapUser(this.#ctx, userRef, localRef, actor, options);
  }

  /** Ignores a directory user: it is skipped by every sync; an existing mapping is removed. */
  ignore(userRef: string, actor: string, options: { connection?: string; onlyIfPending?: boolean } = {}) {
    return setIgnored(this.#ctx, userRef, actor, true, options);
  }

  unignore(userRef: string, actor: string, options: { connection?: string } = {}) {
    return setIgnored(this.#ctx, userRef, actor, false, options);
  }

  /** Links a directory group (name, DN or id) to the connection; it is synced from the next run. */
  link(name: string, groupRef: string, actor: string, kind?: LinkKind) {
    return linkGroup(this.#ctx, name, groupRef, actor, kind);
  }

  /** Unlinks a group: it is no longer synced; its local group and memberships are kept as they are. */
  unlink(name: string, groupRef: string, actor: string) {
    return unlinkGroup(this.#ctx, name, groupRef, actor);
  }

  /** Resolves a duplicate: link the directory group to the existing local group, or ignore it (only one of `connection`'s, when given). */
  resolveDuplicate(id: number, action: DuplicateAction, actor: string, options: { connection?: string } = {}) {
    return resolveDuplicate(this.#ctx, id, action, actor, options);
  }

  /** One page of a connection's directory users with their mapping status, filtered by status and a search over login, name and mail. */
  users(name: string, query: UsersQuery = {}, offset = 0, limit = 20): Promise<Page<DirectoryUserRow> & { connection: string }> {
    return listUsers(this.#ctx, name, query, offset, limit);
  }

  /** One page of the audit log, newest first, as sentences with names (ids in each entry's details). */
  audit(query: AuditQuery = {}, offset = 0, limit = 20): Promise<Page<AuditItem>> {
    return auditPage(this.#ctx, query, offset, limit);
  }

  /** The open incidents (or all), each with its connection's consecutive failures, next run and last success. */
  incidentsWithContext(options: { all?: boolean; limit?: number } = {}): Promise<Array<{ incident: IncidentRow; context: FailureContext }>> {
    return incidentsWithContext(this.#ctx, options);
  }

  /** A connection's consecutive failures, next scheduled run and last success. */
  failureContext(connection: string): Promise<FailureContext> {
    return failureContext(this.#ctx, connection);
  }

  /** Why a directory user is or is not a member of a linked group (or of each linked group). */
  why(userRef: string, groupRef: string | null = null, connection: string | null = null): Promise<WhyAnswer> {
    return explainMembership(this.#ctx, userRef, groupRef, connection);
  }
}
