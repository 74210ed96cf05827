/**
 * The notifier port: the engine reports what happened to a run; the alert policy and the chat
 * surfaces plug in behind it. Plain data only.
 */
import type { PlanCounts } from '../domain/plan.ts';
import type { RunRow } from '../store/runs.ts';

export type SyncEvent =
  | { readonly type: 'run.failed'; readonly run: RunRow }
  | { readonly type: 'run.awaiting_approval'; readonly run: RunRow; readonly reason: string; readonly counts: PlanCounts; readonly sample: readonly string[] }
  | { readonly type: 'run.succeeded'; readonly run: RunRow; readonly counts: PlanCounts }
  | { readonly type: 'run.rejected'; readonly run: RunRow };

export interface Notifier {
  notify(event: SyncEvent): Promise<void>;
}

/** Fans one event out to several notifiers; one failing does not stop the others. */
export function combineNotifiers(notifiers: readonly Notifier[], onError: (error: unknown) => void): Notifier {
  return {
    async notify(event) {
      for (const n of notifiers) {
        try {
          await n.notify(event);
        } catch (error) {
          onError(error);
        }
      }
    },
  };
}
