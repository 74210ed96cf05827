/**
 * What the audit log says about an applied plan. Every change has its own entry, except the
 * objects of a run that creates many (a first sync of a large directory): above
 * `AUDIT_DETAIL_LIMIT` created users and groups, those, and the members of the groups it created,
 * are counted in one `run.bulk_created` entry instead, and each created row names the run
 * (`created_run_id`). Updates, deactivations, deletions, mappings, conflicts and membership
 * changes of groups that existed before the run keep their own entries.
 */
import type { AuditRow } from '../store/audit.ts';
import type { SyncPlan } from './plan.ts';

/** Created users and groups above which a run records them in one summary entry. */
export const AUDIT_DETAIL_LIMIT = 1_000;

export class ApplyAudit {
  readonly #entries: AuditRow[] = [];
  readonly #runId: number;
  readonly #summarize: boolean;
  readonly #created = { users: 0, groups: 0, memberships: 0 };

  constructor(plan: SyncPlan, runId: number, limit = AUDIT_DETAIL_LIMIT) {
    this.#runId = runId;
    this.#summarize = plan.users.create.length + plan.groups.create.length > limit;
  }

  /** Whether created objects are counted in the summary rather than entered one by one. */
  get summarizing(): boolean {
    return this.#summarize;
  }

  /** An entry of its own. */
  add(entry: AuditRow): void {
    this.#entries.push(entry);
  }

  /** A user or group this run created, with the values it was created with. */
  created(kind: 'user' | 'group', localId: number, after: unknown): void {
    if (this.#summarize) this.#created[kind === 'user' ? 'users' : 'groups']++;
    else this.add({ action: `${kind}.created`, targetType: kind, targetId: String(localId), before: null, after });
  }

  /** `n` users or groups this run created, counted in the summary (only while summarizing). */
  createdCount(kind: 'user' | 'group', n: number): void {
    if (!this.#summarize) throw new Error('createdCount: created objects are entered one by one in this run');
    this.#created[kind === 'user' ? 'users' : 'groups'] += n;
  }

  /** Members of a group added and removed; `fresh`: a group this run created. */
  membersChanged(groupId: number, added: readonly number[], removed: readonly number[], fresh: boolean): void {
    if (fresh && this.#summarize && !removed.length) {
      this.#created.memberships += added.length;
      return;
    }
    this.add({ action: 'group.members_changed', targetType: 'group', targetId: String(groupId), before: { removed }, after: { added } });
  }

  /** The entries to write: the summary first, when there is one. */
  entries(): AuditRow[] {
    if (!this.#summarize) return this.#entries;
    const summary: AuditRow = {
      action: 'run.bulk_created',
      targetType: 'run',
      targetId: String(this.#runId),
      before: null,
      after: { ...this.#created, createdRunId: this.#runId },
    };
    return [summary, ...this.#entries];
  }
}
