/**
 * A worker thread that runs one sync (read, plan, apply, record) and exits: started by
 * WorkerRunner (worker-runner.ts) with the store's URL, the parsed connections and the request. It
 * has its own PostgreSQL connection and the real directory sources; progress goes back as
 * messages, and each run event is handed to the main thread's notifier (incidents, the schedule
 * recorder, health after a run), the run going on once the main thread has handled it, as in process.
 */
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { createSource } from '../directory/index.ts';
import { isGroupsyncError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Notifier, SyncEvent } from '../notify/port.ts';
import { connectDb } from '../store/db.ts';
import { SyncEngine } from './engine.ts';
import type { LogLevel, ToMain, ToWorker, WorkerData } from './worker-runner.ts';

/** Log lines go to the main thread's logger (its level, its destination), with this logger's bindings. */
function portLogger(send: (message: ToMain) => void, bindings: Record<string, unknown> = {}): Logger {
  const line = (level: LogLevel) => (obj: object | string, msg?: string) =>
    send({ type: 'log', level, obj: typeof obj === 'string' ? bindings : { ...bindings, ...obj }, msg: typeof obj === 'string' ? obj : (msg ?? '') });
  return { info: line('info'), warn: line('warn'), error: line('error'), debug: line('debug'), child: (more) => portLogger(send, { ...bindings, ...more }) };
}

async function run(port: MessagePort, data: WorkerData): Promise<void> {
  const send = (message: ToMain) => port.postMessage(message);
  const store = connectDb(data.url, 4);
  const acks = new Map<number, () => void>();
  port.on('message', (message: ToWorker) => acks.get(message.id)?.());
  let next = 0;
  const notifier: Notifier = {
    notify: (event: SyncEvent) =>
      new Promise<void>((resolve) => {
        const id = ++next;
        acks.set(id, resolve);
        send({ type: 'notify', id, event });
      }),
  };
  const engine = new SyncEngine({
    db: store.db,
    connections: data.connections,
    createSource,
    notifier,
    logger: portLogger(send),
    holder: data.holder,
    ...(data.lockTtlMs ? { lockTtlMs: data.lockTtlMs } : {}),
  });
  try {
    const result = await engine.sync({ ...data.request, onProgress: (event) => send({ type: 'progress', event }) });
    // The plan stays here unless it was asked for (a dry run): a 100k-user plan copied to the main
    // thread would block the loop this worker exists to keep free.
    send({ type: 'done', result: { ...result, plan: data.request.dryRun ? result.plan : null } });
  } catch (error) {
    const e = error as Error;
    send({ type: 'error', code: isGroupsyncError(error) ? error.code : null, message: e?.message ?? String(error), details: isGroupsyncError(error) ? { ...error.details } : {} });
  } finally {
    await store.close().catch(() => {});
    port.unref();
  }
}

if (parentPort) await run(parentPort, workerData as WorkerData);
