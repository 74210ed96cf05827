/**
 * The sync engine orchestrates one run: lock → read → plan → guard → apply → record → notify.
 * Each step lives in its own module; this file only sequences them and records the outcome.
 */
import type { ConnectionConfig } from '../config.ts';
import type { DirectorySnapshot, DirectorySource, LinkKind, ReadScope, RunTrigger } from '../domain/types.ts';
import type { SourceFactory } from '../directory/index.ts';
import { CertificateError, GroupsyncError, clip, describeError, isGroupsyncError, oneLine } from '../errors.ts';
import { formatUtc } from '../format.ts';
import type { Logger } from '../logger.ts';
import type { Notifier } from '../notify/port.ts';
import type { Db } from '../store/db.ts';
import {
  type Lease,
  type RunRow,
  acquireLock,
  createRun,
  deleteHeldPlan,
  ensureConnection,
  failOrphanedRuns,
  fenceLock,
  getHeldPlan,
  getRun,
  listHeldRuns,
  releaseLock,
  renewLock,
  saveHeldPlan,
  setLockRun,
  updateRun,
} from '../store/runs.ts';
import { recordAppliedRun, recordCertificate } from '../store/connections.ts';
import { markLinksSynced } from '../store/links.ts';
import { analyzeSyncTables, withTransaction } from '../store/transaction.ts';
import { loadDirectoryState, saveDirectoryState } from '../store/directory-state.ts';
import { loadLinks, loadStoreState } from '../store/sync-state.ts';
import { insertAudit } from '../store/audit.ts';
import { clearMemberDigests, saveDigests } from '../store/digests.ts';
import { applyPlan } from './apply.ts';
import { type GuardVerdict, guardPlan } from './guard.ts';
import { type PlanCounts, type SyncPlan, countPlan, planSync } from './plan.ts';
import { digestWrites, digestsFor } from './plan/digest.ts';
import { type ProgressEvent, ProgressReporter } from './progress.ts';
import { recheckPlan } from './recheck.ts';
import { type RunProgress, counters, failedEntries, failedStats, summarize } from './record.ts';
import { checkKind, linkMatches, notLinked } from './selection.ts';
import { removalSample } from './sample.ts';
import { validateSnapshot } from './validate.ts';

export interface SyncRequest {
  readonly connection: string;
  readonly trigger: RunTrigger;
  readonly actor: string;
  readonly dryRun?: boolean;
  /** Sync only these linked groups (names, DNs or directory ids). */
  readonly groups?: readonly string[];
  readonly kind?: LinkKind;
  /**
   * Plan against the whole store state, not only what the stored digests leave (a full
   * reconciliation: finds a membership another application changed). Digests are still stored.
   */
  readonly fullPlan?: boolean;
  readonly onProgress?: (event: ProgressEvent) => void;
}

export type { ProgressEvent } from './progress.ts';

export interface SyncResult {
  readonly run: RunRow;
  readonly plan: SyncPlan | null;
  readonly counts: PlanCounts | null;
  readonly verdict: GuardVerdict | null;
}

export interface EngineDeps {
  readonly db: Db;
  readonly connections: readonly ConnectionConfig[];
  readonly createSource: SourceFactory;
  readonly notifier: Notifier;
  readonly logger: Logger;
  /** This process's name in leases: host:pid:random. */
  readonly holder: string;
  readonly now?: () => Date;
  readonly lockTtlMs?: number;
}

export class SyncEngine {
  readonly #deps: EngineDeps;
  readonly #now: () => Date;
  readonly #ttl: number;

  constructor(deps: EngineDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? (() => new Date());
    this.#ttl = deps.lockTtlMs ?? 60_000;
  }

  get connections(): readonly ConnectionConfig[] {
    return this.#deps.connections;
  }

  connection(name: string): ConnectionConfig {
    const found = this.#deps.connections.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (!found) {
      const known = this.#deps.connections.map((c) => c.name).join(', ') || 'none';
      throw new GroupsyncError('NOT_FOUND', `no connection named "${clip(name)}" (configured: ${known})`);
    }
    return found;
  }

  /** Registers every configured connection in the store. */
  async registerConnections(): Promise<void> {
    for (const c of this.#deps.connections) await ensureConnection(this.#deps.db, c.name, c.kind);
  }

  async #withLease<T>(connection: string, work: (lease: Lease) => Promise<T>): Promise<T> {
    const { db, holder } = this.#deps;
    const lease = await acquireLock(db, connection, holder, this.#ttl, this.#now());
    const heartbeat = setInterval(() => {
      renewLock(db, lease, this.#ttl, this.#now()).catch((error: unknown) => this.#deps.logger.warn({ err: describeError(error) }, 'lock renewal failed'));
    }, Math.max(1000, Math.floor(this.#ttl / 3)));
    heartbeat.unref();
    try {
      return await work(lease);
    } finally {
      clearInterval(heartbeat);
      await releaseLock(db, lease).catch((error: unknown) => this.#deps.logger.warn({ err: describeError(error) }, 'lock release failed'));
    }
  }

  async sync(request: SyncRequest): Promise<SyncResult> {
    const config = this.connection(request.connection);
    const { db } = this.#deps;
    if (!config.enabled && request.trigger === 'schedule') {
      throw new GroupsyncError('INVALID_STATE', `connection "${config.name}" is disabled`);
    }
    await ensureConnection(db, config.name, config.kind);
    let analyze = false;
    const reporter: { current: ProgressReporter | null } = { current: null };
    // A dry run writes nothing but its own run record, so it takes no run lock: it neither waits
    // for a sync nor holds one up (its plan is against the store as it is when it reads it).
    const guarded = <T>(work: (lease: Lease | null) => Promise<T>): Promise<T> => (request.dryRun ? work(null) : this.#withLease(config.name, work));
    const result = await guarded(async (lease) => {
      if (lease) {
        await failOrphanedRuns(db, config.name, this.#now());
        // One held run per connection: a sync that could apply plans nothing until it is decided.
        await this.#refuseWhileHeld(config.name);
      }
      // Resolve the selection before anything is recorded: a wrong group name is the caller's error.
      const links = await loadLinks(db, config.name);
      let scope: ReadScope = {
        groupFilter: config.groups.filter ?? null,
        groupRefs: [...config.groups.list, ...links.filter((l) => l.origin === 'manual').map((l) => l.directoryId)],
      };
      let partialScope = false;
      let selectedIds: Set<string> | null = null;
      if (request.kind) checkKind(config.name, request.kind, config.linkKind, links);
      if (request.groups?.length) {
        const wanted = request.groups;
        const missing = wanted.filter((w) => !links.some((l) => linkMatches(l, w)));
        if (missing.length) throw notLinked(config.name, missing, links);
        const selected = links.filter((l) => wanted.some((w) => linkMatches(l, w)));
        selectedIds = new Set(selected.map((l) => l.directoryId));
        scope = { groupFilter: null, groupRefs: selected.map((l) => l.directoryId) };
        partialScope = true;
      }
      if (request.kind) partialScope = true;

      const run = await createRun(db, {
        connection: config.name,
        trigger: request.trigger,
        actor: request.actor,
        dryRun: request.dryRun ?? false,
        kindFilter: request.kind ?? null,
        groupFilter: request.groups ?? [],
        startedAt: this.#now(),
      });
      if (lease) await setLockRun(db, lease, run.id);
      const log = this.#deps.logger.child({ runId: run.id, connection: config.name });
      log.info({ trigger: request.trigger, actor: request.actor, dryRun: !!request.dryRun }, 'sync started');
      const started = performance.now();
      const progress = new ProgressReporter(run.id, request.onProgress);
      reporter.current = progress;
      progress.report({ step: 'start' }, 'starting');
      let source: DirectorySource | null = null;
      // How far the run got, recorded on a failed run with the directory requests made so far.
      const reached: RunProgress = { phase: 'lock', readPhase: null, readCount: 0 };
      try {
        reached.phase = 'read';
        source = this.#deps.createSource(config);
        // A source that reads incrementally (Entra delta) gets the state of the last applied
        // full-scope run; a read of selected groups only starts from nothing and keeps nothing.
        const previousState = partialScope ? null : await loadDirectoryState(db, config.name);
        // Entries holding a value the store cannot keep (a NUL byte) are skipped here, for every source.
        let snapshot: DirectorySnapshot = validateSnapshot(
          await source.read(
            scope,
            (read) => {
              reached.readPhase = read.phase;
              reached.readCount = read.count;
              progress.read(read);
            },
            previousState,
          ),
        );
        const nextState = partialScope ? undefined : snapshot.nextState;
        const readMs = performance.now() - started;
        log.info({ groups: snapshot.groups.length, users: snapshot.users.length, skipped: snapshot.skipped.length, ms: Math.round(readMs) }, 'read complete');
        if (selectedIds) snapshot = { ...snapshot, groups: snapshot.groups.filter((g) => selectedIds.has(g.id)) };
        if (request.kind) {
          const kindById = new Map(links.map((l) => [l.directoryId, l.kind]));
          snapshot = { ...snapshot, groups: snapshot.groups.filter((g) => (kindById.get(g.id) ?? config.linkKind) === request.kind) };
          const keep = new Set(snapshot.groups.flatMap((g) => g.memberIds));
          snapshot = { ...snapshot, users: snapshot.users.filter((u) => keep.has(u.id)) };
        }
        await this.#recordCertificate(config.name, snapshot.certificate, snapshot.vendor);

        reached.phase = 'plan';
        progress.report({ step: 'plan' }, 'planning');
        // Digests let the store state leave out unchanged users and groups (sync/plan/digest.ts).
        const digests = digestsFor(snapshot, partialScope);
        const state = await loadStoreState(db, config.name, snapshot, config.matchKey, request.fullPlan ? null : digests);
        const selectedLinks = request.kind ? links.filter((l) => l.kind === request.kind) : selectedIds ? links.filter((l) => selectedIds.has(l.directoryId)) : links;
        const selectedLinkIds = new Set(selectedLinks.map((l) => l.id));
        const plan = planSync(snapshot, { ...state, links: partialScope ? state.links.filter((l) => selectedLinkIds.has(l.id)) : state.links }, {
          connection: config.name,
          linkKind: config.linkKind,
          matchKey: config.matchKey,
          createUsers: config.createUsers,
          partialScope,
        });
        const counts = countPlan(plan);
        const planMs = performance.now() - started - readMs;
        const stats = { ...(snapshot.stats ?? {}), readMs: Math.round(readMs), planMs: Math.round(planMs), partialScope };
        const summary = summarize(counts, failedEntries(plan));
        reached.phase = 'record';
        if (request.dryRun) {
          progress.report({ step: 'record' }, 'recording');
          const done = await updateRun(db, run.id, { status: 'dry_run', finishedAt: this.#now(), ...counters(counts), summary, skipped: plan.skipped, stats });
          log.info(counters(counts), 'dry run: nothing applied');
          return { run: done, plan, counts, verdict: null };
        }
        reached.phase = 'guard';
        const verdict = guardPlan(plan, snapshot.groups.length, snapshot.users.length, config.deletionThreshold);
        if (verdict.action === 'hold') {
          reached.phase = 'record';
          progress.report({ step: 'record' }, 'recording');
          const sample = await removalSample(db, plan);
          await saveHeldPlan(db, run.id, plan);
          const held = await updateRun(db, run.id, {
            status: 'awaiting_approval',
            finishedAt: this.#now(),
            ...counters(counts),
            summary,
            skipped: plan.skipped,
            stats,
            error: verdict.reason,
            errorCode: 'THRESHOLD',
          });
          log.warn({ reason: verdict.reason }, 'run held for approval');
          await this.#notify({ type: 'run.awaiting_approval', run: held, reason: verdict.reason, counts, sample });
          return { run: held, plan, counts, verdict };
        }
        reached.phase = 'apply';
        progress.report({ step: 'apply' }, 'applying', null, changesOf(counts));
        const status = plan.skipped.length > 0 ? 'partial' : 'success';
        const applyStarted = performance.now();
        const finished = await withTransaction(db, async (tx) => {
          reached.phase = 'lock'; // the lease is checked under the row lock before anything is written
          await fenceLock(tx, lease!); // not a dry run (returned above), so the lease is held
          reached.phase = 'apply';
          await applyPlan(tx, plan, { actor: request.actor, runId: run.id, now: this.#now(), defaults: config.userDefaults, bulk: true });
          // The digests vouch for what this run leaves (or, when they cannot, are forgotten).
          if (digests) await saveDigests(tx, config.name, digestWrites(snapshot, state, plan, digests));
          else await clearMemberDigests(tx, config.name);
          reached.phase = 'record';
          progress.report({ step: 'record' }, 'recording');
          const now = this.#now();
          // The delta link advances with the changes it led to, in the same transaction.
          if (nextState) await saveDirectoryState(tx, config.name, nextState, run.id, now);
          await recordAppliedRun(tx, config.name, now, !partialScope);
          if (partialScope) await markLinksSynced(tx, [...selectedLinkIds], now);
          return updateRun(tx, run.id, {
            status,
            finishedAt: now,
            ...counters(counts),
            summary,
            skipped: plan.skipped,
            stats: { ...stats, applyMs: Math.round(performance.now() - applyStarted) },
          });
        });
        log.info({ status, ...counters(counts), ms: Math.round(performance.now() - started) }, 'sync finished');
        analyze = counts.membershipsAdded + counts.membershipsRemoved + counts.usersCreated > 10_000;
        await this.#notify({ type: 'run.succeeded', run: finished, counts });
        return { run: finished, plan, counts, verdict };
      } catch (error) {
        // A refused certificate is recorded too: the SSL status says why the run failed.
        if (error instanceof CertificateError) {
          await this.#recordCertificate(config.name, error.certificate).catch((e: unknown) => log.warn({ err: describeError(e) }, 'recording the certificate failed'));
        }
        const failed = await updateRun(db, run.id, {
          status: 'failed',
          finishedAt: this.#now(),
          errorCode: isGroupsyncError(error) ? error.code : 'INTERNAL',
          error: oneLine(describeError(error)),
          stats: failedStats(reached, source, performance.now() - started),
        });
        log.error({ code: failed.errorCode, err: describeError(error) }, 'sync failed; nothing applied');
        // A failed dry run is reported to its caller; it is no incident and no schedule failure.
        if (!request.dryRun) await this.#notify({ type: 'run.failed', run: failed });
        return { run: failed, plan: null, counts: null, verdict: null };
      } finally {
        progress.stop();
        await source?.close().catch(() => {});
      }
    });
    // The run is recorded and its lease released: the connection is free for the next sync.
    reporter.current?.finish();
    // After a large write, fresh statistics keep the planner off nested loops over the new rows.
    // Maintenance, not the run: done once the lease is released, so a slow ANALYZE (or a process
    // killed during it) does not block the connection's next sync.
    if (analyze) {
      await analyzeSyncTables(db).catch((error: unknown) =>
        this.#deps.logger.warn({ connection: config.name, err: describeError(error) }, 'analyze after a large sync failed'),
      );
    }
    return result;
  }

  async #recordCertificate(connection: string, cert: DirectorySnapshot['certificate'], vendor?: DirectorySnapshot['vendor']): Promise<void> {
    await recordCertificate(this.#deps.db, connection, cert, vendor, this.#now());
  }

  async #notify(event: Parameters<Notifier['notify']>[0]): Promise<void> {
    try {
      await this.#deps.notifier.notify(event);
    } catch (error) {
      this.#deps.logger.warn({ err: describeError(error), event: event.type }, 'notifier failed');
    }
  }

  /** Applies a held plan, re-checked against the store. */
  async approve(runId: number, actor: string): Promise<SyncResult> {
    const { db } = this.#deps;
    const run = await this.#heldRun(runId);
    const config = this.connection(run.connection);
    return this.#withLease(run.connection, async (lease) => {
      const plan = await getHeldPlan(db, runId);
      if (!plan) throw new GroupsyncError('INVALID_STATE', `run #${runId} has no held plan`);
      const links = await loadLinks(db, run.connection);
      const { plan: checked, dropped } = await recheckPlan(db, plan, links, config.matchKey);
      const counts = countPlan(checked);
      const result = await withTransaction(db, async (tx) => {
        await fenceLock(tx, lease);
        const current = await getRun(tx, runId);
        if (current?.status !== 'awaiting_approval') throw new GroupsyncError('INVALID_STATE', `run #${runId} was decided meanwhile`);
        await applyPlan(tx, checked, { actor, runId, now: this.#now(), defaults: config.userDefaults, bulk: false });
        await clearMemberDigests(tx, run.connection); // a re-checked plan may leave a group short of its members
        await insertAudit(tx, actor, run.connection, runId, [
          { action: 'run.approved', targetType: 'run', targetId: String(runId), before: { status: 'awaiting_approval' }, after: { status: 'applied', dropped } },
        ]);
        await deleteHeldPlan(tx, runId);
        const now = this.#now();
        await recordAppliedRun(tx, run.connection, now, true);
        return updateRun(tx, runId, {
          status: checked.skipped.length ? 'partial' : 'success',
          decidedBy: actor,
          decidedAt: now,
          ...counters(counts),
          summary: summarize(counts, failedEntries(checked)),
          error: dropped ? `approved; ${dropped} stale changes dropped on re-check` : null,
          errorCode: null,
        });
      });
      await this.#notify({ type: 'run.succeeded', run: result, counts });
      return { run: result, plan: checked, counts, verdict: null };
    });
  }

  async reject(runId: number, actor: string): Promise<RunRow> {
    const { db } = this.#deps;
    const run = await this.#heldRun(runId);
    const rejected = await withTransaction(db, async (tx) => {
      const current = await getRun(tx, runId);
      if (current?.status !== 'awaiting_approval') throw new GroupsyncError('INVALID_STATE', `run #${runId} was decided meanwhile`);
      await deleteHeldPlan(tx, runId);
      await insertAudit(tx, actor, run.connection, runId, [
        { action: 'run.rejected', targetType: 'run', targetId: String(runId), before: { status: 'awaiting_approval' }, after: { status: 'rejected' } },
      ]);
      return updateRun(tx, runId, { status: 'rejected', decidedBy: actor, decidedAt: this.#now() });
    });
    await this.#notify({ type: 'run.rejected', run: rejected });
    return rejected;
  }

  async #heldRun(runId: number): Promise<RunRow> {
    const run = await getRun(this.#deps.db, runId);
    if (!run) throw new GroupsyncError('NOT_FOUND', `run #${runId} does not exist`);
    if (run.status !== 'awaiting_approval') {
      const who = run.decidedBy ? ` by ${run.decidedBy} at ${run.decidedAt?.toISOString()}` : '';
      const [waiting] = await listHeldRuns(this.#deps.db, run.connection);
      const next = waiting ? `; run #${waiting.id} of "${run.connection}" awaits approval` : '';
      throw new GroupsyncError('INVALID_STATE', `run #${runId} is not awaiting approval: it is ${run.status}${who}${next}`, waiting ? { details: { runId: waiting.id } } : {});
    }
    return run;
  }

  /** Refuses a sync while a run of the connection awaits approval, naming it (and any other an older version held). */
  async #refuseWhileHeld(connection: string): Promise<void> {
    const [held, ...others] = await listHeldRuns(this.#deps.db, connection);
    if (!held) return;
    const since = formatUtc(held.finishedAt ?? held.startedAt);
    const too = others.length ? `; ${others.map((r) => `run #${r.id}`).join(', ')} await${others.length === 1 ? 's' : ''} approval too` : '';
    throw new GroupsyncError(
      'AWAITING_APPROVAL',
      `run #${held.id} of "${connection}" awaits approval since ${since}: approve or reject it first (approve ${held.id} / reject ${held.id})${too}`,
      { details: { runId: held.id } },
    );
  }
}

/** The changes a plan applies (what the applying phase works through). */
function changesOf(c: PlanCounts): number {
  return c.groupsCreated + c.groupsModified + c.groupsDeleted + c.usersCreated + c.usersUpdated + c.usersDeactivated + c.membershipsAdded + c.membershipsRemoved;
}
