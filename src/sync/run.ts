/**
 * One run of one connection, once its lease is held and its run recorded: read → plan → guard →
 * apply → record, each a step below. The engine (engine.ts) owns the lease, the selection and the
 * notifications around it.
 *
 * Two things make a run exact whoever else writes the store (store/generation.ts):
 *   - it plans against the store generation it read first; when its apply transaction finds
 *     another (another connection created the same people meanwhile, an admin mapped a user),
 *     it plans again against the store as it is now, so the outcome never depends on timing;
 *   - when the directory reports no change and the store is at the generation the last applying
 *     run left, with the same settings, there is nothing to plan: the run records that at once.
 */
import { createHash } from 'node:crypto';
import type { ConnectionConfig } from '../config.ts';
import { type DirectorySnapshot, type DirectorySource, type UnchangedRead, isUnchanged } from '../domain/types.ts';
import { CertificateError, GroupsyncError, describeError, isGroupsyncError, oneLine } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Notifier } from '../notify/port.ts';
import { recordAppliedRun } from '../store/connections.ts';
import type { Db, Tx } from '../store/db.ts';
import { loadDirectoryCursor, loadDirectoryState, saveDirectoryCursor, saveDirectoryState } from '../store/directory-state.ts';
import { type PlanMark, loadPlanMark, lockGeneration, savePlanMark, storeGeneration } from '../store/generation.ts';
import { markLinksSynced } from '../store/links.ts';
import { type Lease, type RunRow, fenceLock, getRun, saveHeldPlan, updateRun } from '../store/runs.ts';
import { clearMemberDigests, saveDigests } from '../store/digests.ts';
import { loadStoreState } from '../store/sync-state.ts';
import { withTransaction } from '../store/transaction.ts';
import { type ApplyStep, applyPlan } from './apply.ts';
import { type GuardVerdict, guardPlan } from './guard.ts';
import { type PlanCounts, type StoreState, type SyncPlan, countPlan, planSync } from './plan.ts';
import { isEmptyPlan } from './plan/counts.ts';
import { type SnapshotDigests, digestWrites, digestsFor } from './plan/digest.ts';
import type { ProgressReporter } from './progress.ts';
import { type RunProgress, counters, failedEntries, failedStats, requestCounts, summarize, unchangedCounts, unchangedSummary } from './record.ts';
import { removalSample } from './sample.ts';
import { type Selection, narrowSnapshot, selectedLinks } from './selection-scope.ts';
import { validateSnapshot } from './validate.ts';
import type { SyncRequest, SyncResult } from './engine.ts';
import { collectGarbage } from '../memory.ts';

export interface RunContext {
  readonly db: Db;
  readonly config: ConnectionConfig;
  readonly request: SyncRequest;
  readonly selection: Selection;
  /** Null for a dry run (it takes no lease). */
  readonly lease: Lease | null;
  readonly run: RunRow;
  readonly log: Logger;
  readonly progress: ProgressReporter;
  readonly createSource: (config: ConnectionConfig) => DirectorySource;
  readonly now: () => Date;
  readonly notify: (event: Parameters<Notifier['notify']>[0]) => Promise<void>;
  readonly recordCertificate: (cert: DirectorySnapshot['certificate'], vendor?: DirectorySnapshot['vendor']) => Promise<void>;
}

/** A plan with what it was made from. */
interface Planned {
  readonly plan: SyncPlan;
  readonly counts: PlanCounts;
  readonly generation: number;
  /** The store state it was planned against, and the read's digests (null: none kept, partial scope). */
  readonly state: StoreState;
  readonly digests: SnapshotDigests | null;
  readonly stats: Record<string, number | string | boolean>;
}

/** The apply transaction found the store at another generation than the plan's: plan again. */
class StoreMovedError extends Error {}

/** Changes from which an apply's garbage is collected before its last writes (a forced collection costs 50-100 ms). */
const LARGE_APPLY = 10_000;

/** Plans made again because the store moved meanwhile, before the run gives up. */
const REPLANS = 5;

/** A digest of the settings a plan depends on besides the directory and the store. */
export function planKeyOf(config: ConnectionConfig): string {
  const settings = { matchKey: config.matchKey, createUsers: config.createUsers, linkKind: config.linkKind, defaults: config.userDefaults, groups: config.groups };
  return createHash('sha256').update(JSON.stringify(settings)).digest('hex').slice(0, 24);
}

export class Run {
  readonly #c: RunContext;
  readonly #reached: RunProgress = { phase: 'lock', readPhase: null, readCount: 0 };
  readonly #started = performance.now();
  #source: DirectorySource | null = null;
  /** Set when the run wrote enough rows for fresh planner statistics to matter. */
  analyze = false;

  constructor(context: RunContext) {
    this.#c = context;
  }

  async execute(): Promise<SyncResult> {
    const { progress } = this.#c;
    progress.report({ step: 'start' }, 'starting');
    try {
      return await this.#steps();
    } catch (error) {
      return await this.#fail(error);
    } finally {
      progress.stop();
      await this.#source?.close().catch(() => {});
    }
  }

  async #steps(): Promise<SyncResult> {
    const { db, config, selection, request } = this.#c;
    this.#reached.phase = 'read';
    this.#source = this.#c.createSource(config);
    // The mark and the generation are read before the store is: whatever moves it after is seen.
    const mark = selection.partialScope || request.dryRun ? null : await loadPlanMark(db, config.name);
    const generation = await storeGeneration(db);
    const previous = await this.#unchangedBase(mark, generation);
    const read = await this.#read(previous !== null);
    if (isUnchanged(read)) return this.#recordUnchanged(read, previous!);
    const snapshot = narrowSnapshot(validateSnapshot(read), selection, config.linkKind);
    const readMs = performance.now() - this.#started;
    // Read in full, the directory may still be what the last applying run read.
    const digests = previous && !this.#whole(snapshot) ? digestsFor(snapshot, selection.partialScope) : null;
    if (digests && digests.whole === mark!.snapshotDigest) return this.#recordUnchanged(unchangedOf(snapshot), previous!);
    await this.#c.recordCertificate(snapshot.certificate, snapshot.vendor);
    let planned = await this.#plan(snapshot, generation, readMs, 0, digests);
    if (request.dryRun) return this.#recordDry(planned);
    for (let attempt = 1; ; attempt++) {
      this.#reached.phase = 'guard';
      const verdict = guardPlan(planned.plan, snapshot.groups.length, snapshot.users.length, config.deletionThreshold);
      if (verdict.action === 'hold') return this.#hold(planned, verdict);
      try {
        return await this.#apply(planned, snapshot, verdict);
      } catch (error) {
        if (!(error instanceof StoreMovedError)) throw error;
        if (attempt >= REPLANS) throw new GroupsyncError('INVALID_STATE', `the store kept changing while the run applied (${REPLANS} plans in a row were overtaken by other writers); nothing was applied, sync again`);
        this.#c.log.info({ attempt }, 'the store moved since the plan was made: planning again');
        planned = await this.#plan(snapshot, await storeGeneration(db), readMs, attempt);
      }
    }
  }

  /** The run a no-change read may stand on: the last applying run, when the store and the settings are as it left them. */
  async #unchangedBase(mark: PlanMark | null, generation: number): Promise<RunRow | null> {
    // A full plan is asked for to plan against the whole store: never stood on an earlier run.
    if (!mark || mark.runId === null || this.#c.request.full || this.#c.request.fullPlan) return null;
    if (mark.plannedGeneration !== generation || mark.planKey !== planKeyOf(this.#c.config)) return null;
    const previous = await getRun(this.#c.db, mark.runId);
    return previous && (previous.status === 'success' || previous.status === 'partial') && previous.summary ? previous : null;
  }

  async #read(allowUnchanged: boolean): Promise<DirectorySnapshot | UnchangedRead> {
    const { db, config, selection, request, progress } = this.#c;
    // A source that reads incrementally gets the state of the last applied full-scope run; a
    // read of selected groups only starts from nothing and keeps nothing.
    // A run that may find nothing changed reads the cursor alone; the kept cache only if needed.
    const previousState = selection.partialScope ? null : allowUnchanged ? await loadDirectoryCursor(db, config.name) : await loadDirectoryState(db, config.name);
    const onProgress = (read: Parameters<typeof progress.read>[0]) => {
      this.#reached.readPhase = read.phase;
      this.#reached.readCount = read.count;
      progress.read(read);
    };
    const options = { ...(request.full ? { full: true } : {}), ...(allowUnchanged ? { allowUnchanged: true } : {}) };
    const read = await this.#source!.read(selection.scope, onProgress, previousState, options);
    if (!isUnchanged(read)) {
      this.#c.log.info({ groups: read.groups.length, users: read.users.length, skipped: read.skipped.length, ms: Math.round(performance.now() - this.#started) }, 'read complete');
    }
    return read;
  }

  /** A full read (asked for, or the scheduled reconciliation) plans against the whole store. */
  #whole(snapshot: DirectorySnapshot): boolean {
    const { request } = this.#c;
    return !!(request.full || request.fullPlan) || snapshot.stats?.['readReason'] === 'reconcile';
  }

  /** `known`: the snapshot's digests, when they were taken already. */
  async #plan(snapshot: DirectorySnapshot, generation: number, readMs: number, replans = 0, known: SnapshotDigests | null = null): Promise<Planned> {
    const { db, config, selection, progress } = this.#c;
    this.#reached.phase = 'plan';
    progress.report({ step: 'plan' }, 'planning', null, null, `${count(snapshot.users.length, 'user')}, ${count(snapshot.groups.length, 'group')}`);
    const planStarted = performance.now();
    collectGarbage(); // the read's garbage, before the plan allocates
    // Digests let the store state leave out unchanged users and groups (sync/plan/digest.ts); a
    // full read (asked for, or the scheduled reconciliation) plans against the whole store.
    // A whole-store plan does not use them: its digests are worked out once the plan is made,
    // not held through the load and the plan (the peak of its memory).
    const whole = this.#whole(snapshot);
    let digests = whole ? null : (known ?? digestsFor(snapshot, selection.partialScope));
    const state = await loadStoreState(db, config.name, snapshot, config.matchKey, digests);
    const linkIds = selection.partialScope ? new Set(selectedLinks(selection).map((l) => l.id)) : null;
    const links = linkIds ? state.links.filter((l) => linkIds.has(l.id)) : state.links;
    const plan = planSync(snapshot, { ...state, links }, {
      connection: config.name,
      linkKind: config.linkKind,
      matchKey: config.matchKey,
      createUsers: config.createUsers,
      partialScope: selection.partialScope,
    });
    if (whole) digests = digestsFor(snapshot, selection.partialScope);
    const stats = {
      ...requestCounts(this.#source),
      ...(snapshot.stats ?? {}),
      readMs: Math.round(readMs),
      planMs: Math.round(performance.now() - planStarted),
      partialScope: selection.partialScope,
      ...(replans ? { replans } : {}),
    };
    return { plan, counts: countPlan(plan), generation, state, digests, stats };
  }

  async #recordDry(planned: Planned): Promise<SyncResult> {
    const { db, run, log, progress } = this.#c;
    const { plan, counts, stats } = planned;
    this.#reached.phase = 'record';
    progress.report({ step: 'record' }, 'recording');
    const summary = summarize(counts, failedEntries(plan));
    const done = await updateRun(db, run.id, { status: 'dry_run', finishedAt: this.#c.now(), ...counters(counts), summary, skipped: plan.skipped, stats });
    log.info(counters(counts), 'dry run: nothing applied');
    return { run: done, plan, counts, verdict: null };
  }

  async #hold(planned: Planned, verdict: GuardVerdict & { action: 'hold' }): Promise<SyncResult> {
    const { db, run, log, progress } = this.#c;
    const { plan, counts, stats } = planned;
    this.#reached.phase = 'record';
    progress.report({ step: 'record' }, 'recording');
    const sample = await removalSample(db, plan);
    await saveHeldPlan(db, run.id, plan);
    const held = await updateRun(db, run.id, {
      status: 'awaiting_approval',
      finishedAt: this.#c.now(),
      ...counters(counts),
      summary: summarize(counts, failedEntries(plan)),
      skipped: plan.skipped,
      stats,
      error: verdict.reason,
      errorCode: 'THRESHOLD',
    });
    log.warn({ reason: verdict.reason }, 'run held for approval');
    await this.#c.notify({ type: 'run.awaiting_approval', run: held, reason: verdict.reason, counts, sample });
    return { run: held, plan, counts, verdict };
  }

  async #apply(planned: Planned, snapshot: DirectorySnapshot, verdict: GuardVerdict): Promise<SyncResult> {
    const { db, config, selection, request, run, log, progress } = this.#c;
    const { plan, counts } = planned;
    this.#reached.phase = 'apply';
    const total = changesOf(counts);
    progress.report({ step: 'apply' }, 'applying', 0, total);
    const status = plan.skipped.length > 0 ? 'partial' : 'success';
    collectGarbage(); // the plan's intermediate garbage, before the apply allocates
    const applyStarted = performance.now();
    const finished = await withTransaction(db, async (tx) => {
      this.#reached.phase = 'lock'; // the lease is checked under the row lock before anything is written
      await fenceLock(tx, this.#c.lease!); // not a dry run (returned before), so the lease is held
      if ((await lockGeneration(tx)) !== planned.generation) throw new StoreMovedError();
      this.#reached.phase = 'apply';
      const onStep = (step: ApplyStep) => progress.report({ step: 'apply' }, 'applying', writtenBefore(step, counts), total, `writing ${step}`);
      await applyPlan(tx, plan, { actor: request.actor, runId: run.id, now: this.#c.now(), defaults: config.userDefaults, bulk: true, onStep });
      // A large apply's garbage (the rows' COPY text) goes before the digests and the state are
      // written, the peak of a first sync: 100,000 users, LDAP 270-278 -> 266 MB, Entra 300-305 -> 291-292 MB.
      if (total >= LARGE_APPLY) collectGarbage();
      // The digests vouch for what this run leaves (or, when they cannot, are forgotten).
      if (planned.digests) await saveDigests(tx, config.name, digestWrites(snapshot, planned.state, plan, planned.digests));
      else await clearMemberDigests(tx, config.name);
      this.#reached.phase = 'record';
      progress.report({ step: 'record' }, 'recording');
      const now = this.#c.now();
      await this.#keepState(tx, snapshot, planned, now);
      await recordAppliedRun(tx, config.name, now, !selection.partialScope);
      if (selection.partialScope) await markLinksSynced(tx, selectedLinks(selection).map((l) => l.id), now);
      const stats = { ...planned.stats, applyMs: Math.round(performance.now() - applyStarted) };
      return updateRun(tx, run.id, { status, finishedAt: now, ...counters(counts), summary: summarize(counts, failedEntries(plan)), skipped: plan.skipped, stats });
    });
    log.info({ status, ...counters(counts), ms: Math.round(performance.now() - this.#started) }, 'sync finished');
    this.analyze = counts.membershipsAdded + counts.membershipsRemoved + counts.usersCreated > 10_000;
    await this.#c.notify({ type: 'run.succeeded', run: finished, counts });
    return { run: finished, plan, counts, verdict };
  }

  /**
   * The source's state advances with the changes it led to, and the mark (the generation this
   * run leaves, its settings, the digest of what it read) is kept, in the same transaction. A
   * plan that changed something and refused a group's rename (its new name taken) may allow it
   * once applied, the name freed by this very run: no mark then, so the next run plans again.
   */
  async #keepState(tx: Tx, snapshot: DirectorySnapshot, planned: Planned, now: Date): Promise<void> {
    const { config, selection, run } = this.#c;
    if (selection.partialScope) return;
    if (snapshot.nextState) await saveDirectoryState(tx, config.name, snapshot.nextState, run.id, now);
    const read = new Set(snapshot.skipped);
    const settled = isEmptyPlan(planned.plan) || !planned.plan.skipped.some((s) => s.kind === 'group' && !read.has(s));
    // Nobody else writes the planned tables while this transaction holds the generation.
    const plannedGeneration = settled ? await storeGeneration(tx) : null;
    const mark = { plannedGeneration, planKey: planKeyOf(config), snapshotDigest: settled ? (planned.digests?.whole ?? null) : null };
    await savePlanMark(tx, config.name, run.id, mark, now);
  }

  /** Nothing changed in the directory nor in the store since the last applying run: its outcome stands. */
  async #recordUnchanged(read: UnchangedRead, previous: RunRow): Promise<SyncResult> {
    const { db, config, run, log, progress } = this.#c;
    this.#reached.phase = 'record';
    progress.report({ step: 'record' }, 'recording');
    const counts = unchangedCounts(previous);
    const stats = { ...requestCounts(this.#source), ...read.stats, readMs: Math.round(performance.now() - this.#started), planMs: 0, partialScope: false, unchangedSince: previous.id };
    await this.#c.recordCertificate(read.certificate, read.vendor);
    const finished = await withTransaction(db, async (tx) => {
      await fenceLock(tx, this.#c.lease!);
      const now = this.#c.now();
      // The mark (generation, settings, digest) stays: nothing was planned against anything newer.
      // A state with entries (read in full, found unchanged) is kept whole; a cookie alone as a cursor.
      if (read.nextState?.cache) await saveDirectoryState(tx, config.name, read.nextState, run.id, now);
      else if (read.nextState) await saveDirectoryCursor(tx, config.name, read.nextState.cursor, run.id, now);
      await recordAppliedRun(tx, config.name, now, true);
      return updateRun(tx, run.id, {
        status: previous.skipped.length ? 'partial' : 'success',
        finishedAt: now,
        ...counters(counts),
        summary: unchangedSummary(previous),
        skipped: previous.skipped,
        stats,
      });
    });
    log.info({ status: finished.status, unchangedSince: previous.id, ms: Math.round(performance.now() - this.#started) }, 'sync finished: nothing changed');
    await this.#c.notify({ type: 'run.succeeded', run: finished, counts });
    return { run: finished, plan: null, counts, verdict: null };
  }

  async #fail(error: unknown): Promise<SyncResult> {
    const { db, run, log, request } = this.#c;
    // A refused certificate is recorded too: the SSL status says why the run failed.
    if (error instanceof CertificateError) {
      await this.#c.recordCertificate(error.certificate).catch((e: unknown) => log.warn({ err: describeError(e) }, 'recording the certificate failed'));
    }
    const failed = await updateRun(db, run.id, {
      status: 'failed',
      finishedAt: this.#c.now(),
      errorCode: isGroupsyncError(error) ? error.code : 'INTERNAL',
      error: oneLine(describeError(error)),
      stats: failedStats(this.#reached, this.#source, performance.now() - this.#started),
    });
    log.error({ code: failed.errorCode, err: describeError(error) }, 'sync failed; nothing applied');
    // A failed dry run is reported to its caller; it is no incident and no schedule failure.
    if (!request.dryRun) await this.#c.notify({ type: 'run.failed', run: failed });
    return { run: failed, plan: null, counts: null, verdict: null };
  }
}

/** A snapshot found to be what the last applying run read, recorded as an unchanged read (`sameDigest`). */
function unchangedOf(snapshot: DirectorySnapshot): UnchangedRead {
  const { vendor, certificate, nextState } = snapshot;
  return { unchanged: true, vendor, certificate, stats: { ...(snapshot.stats ?? {}), sameDigest: true }, ...(nextState ? { nextState } : {}) };
}

/** "4,000 users". */
const count = (n: number, word: string): string => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

/** The changes written before an apply step starts (groups, then users, then memberships). */
function writtenBefore(step: ApplyStep, c: PlanCounts): number {
  const groups = c.groupsCreated + c.groupsModified + c.groupsDeleted;
  const users = c.usersCreated + c.usersUpdated + c.usersDeactivated;
  if (step === 'groups') return 0;
  if (step === 'users') return groups;
  if (step === 'memberships') return groups + users;
  return changesOf(c);
}

/** The changes a plan applies (what the applying phase works through). */
function changesOf(c: PlanCounts): number {
  return c.groupsCreated + c.groupsModified + c.groupsDeleted + c.usersCreated + c.usersUpdated + c.usersDeactivated + c.membershipsAdded + c.membershipsRemoved;
}
