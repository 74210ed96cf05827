// The service's start and a sync's worker thread, from the bundle against the TypeScript
// sources: `npm run bench:service [-- --runs N]`.
//
//   1. A private PostgreSQL (test/support/postgres.ts) holds the store; the connection is the
//      bundled sample (sample/groupsync.yaml, an LDIF directory of 7 users), synced once.
//   2. Interleaved, N times each (default 7), so that a busy moment of the machine hits every case
//      alike:
//      - `node -e 0`, the floor of any Node process;
//      - the service started as `npm start` does (bin/start.mjs, the bundle) and from its sources
//        (`node src/main.ts`, as before the bundle), until it logs that it listens: wall time and
//        peak RSS;
//      - one forced sync of the sample through the service's WorkerRunner (a worker thread per
//        sync), in a child process, with the bundle's worker and with src/sync/worker.ts: the
//        sync's wall time and how much it raised the process's peak RSS.
//   3. Reports medians and maxima, each as a ratio to the floor measured in the same run, and
//      the bundle's figures as ratios to the sources'; writes bench/out/service-results.json.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { bundleModules, sourceModules } from '../bin/bundle.mjs';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { silentLogger } from '../src/logger.ts';
import { startPostgres } from '../test/support/postgres.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'bench', 'out');
/** npm start's flags. */
const FLAGS = ['--max-semi-space-size=16', '--expose-gc'];

interface Sample {
  readonly ms: number;
  readonly mb: number;
}

const log = (text: string) => process.stderr.write(`[bench:service ${new Date().toISOString().slice(11, 19)}] ${text}\n`);
const peakMb = (pid: number | 'self') => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const rssMb = () => process.memoryUsage().rss / 2 ** 20;

/** Child mode: one forced sync of the sample through a WorkerRunner running `worker`; prints its Sample. */
async function syncChild(worker: string): Promise<void> {
  const app = await createApp(loadConfig(), { logger: silentLogger, syncIn: 'worker', workerUrl: new URL(worker) });
  const before = rssMb();
  const started = performance.now();
  const result = await app.ops.sync({ connection: 'sample', trigger: 'manual', actor: 'bench', full: true });
  const ms = performance.now() - started;
  if (result.run.status === 'failed') throw new Error(`the sync failed: ${result.run.error}`);
  process.stdout.write(JSON.stringify({ ms, mb: peakMb('self') - before }));
  await app.close();
}

/** Runs `node args` to its end; resolves with its stdout, or rejects with its stderr. */
function run(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`node ${args.join(' ')} exited ${code}: ${err.slice(0, 800)}`))));
  });
}

async function floor(): Promise<Sample> {
  const started = performance.now();
  const out = await run(['-e', `process.stdout.write(String(process.resourceUsage().maxRSS))`], process.env);
  return { ms: performance.now() - started, mb: Number(out) / 1024 };
}

/** Starts the service (`entry`) until it logs that it listens; its wall time to there and its peak RSS then. */
function serviceStart(entry: string, env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...FLAGS, entry], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (!err.includes('"msg":"listening: ')) return;
      const sample = { ms: performance.now() - started, mb: peakMb(child.pid!) };
      child.kill('SIGKILL');
      resolve(sample);
    });
    child.on('close', (code) => reject(new Error(`${entry} exited ${code} before listening: ${err.slice(0, 800)}`)));
  });
}

async function workerSync(worker: string, env: NodeJS.ProcessEnv): Promise<Sample> {
  return JSON.parse(await run([...FLAGS, import.meta.filename, '--sync-child', worker], env)) as Sample;
}

/** The cases, by the label they are reported under. */
const FLOOR = 'node -e 0 (floor)';
const START = { bundle: 'service start, bundle (npm start)', sources: 'service start, sources (node src/main.ts)' };
const SYNC = { bundle: 'sync in a worker, bundle', sources: 'sync in a worker, sources' };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const summary = (samples: Sample[]) => ({
  ms: median(samples.map((s) => s.ms)),
  maxMs: Math.max(...samples.map((s) => s.ms)),
  mb: median(samples.map((s) => s.mb)),
});

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' }, 'sync-child': { type: 'string' } } });
  if (values['sync-child']) return syncChild(values['sync-child']);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a whole number ≥ 1, got "${values.runs}"`);
  const bundle = await bundleModules();
  const source = sourceModules();
  if (bundle.worker === source.worker) throw new Error('no bundle could be built (see the line above): nothing to compare');
  const pg = await startPostgres();
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: await pg.createDatabase('bench_service'), PORT: '0', LOG_LEVEL: 'info' };
    delete env.GROUPSYNC_CONFIG;
    await workerSync(bundle.worker, env); // migrates the store and makes the first sync
    const cases: Record<string, () => Promise<Sample>> = {
      [FLOOR]: floor,
      [START.bundle]: () => serviceStart(path.join(ROOT, 'bin/start.mjs'), env),
      [START.sources]: () => serviceStart(path.join(ROOT, 'src/main.ts'), env),
      [SYNC.bundle]: () => workerSync(bundle.worker, env),
      [SYNC.sources]: () => workerSync(source.worker, env),
    };
    const samples = Object.fromEntries(Object.keys(cases).map((label) => [label, [] as Sample[]]));
    for (let i = 0; i < runs; i++) {
      for (const [label, measure] of Object.entries(cases)) samples[label]!.push(await measure());
      log(`run ${i + 1}/${runs} done (load ${loadavg()[0]!.toFixed(1)})`);
    }
    report(Object.fromEntries(Object.entries(samples).map(([label, s]) => [label, summary(s)])));
  } finally {
    await pg.stop();
  }
}

function report(rows: Record<string, ReturnType<typeof summary>>): void {
  const base = rows[FLOOR]!;
  const lines = Object.entries(rows).map(
    ([label, r]) =>
      `${label.padEnd(44)} ${r.ms.toFixed(0).padStart(6)} ms (max ${r.maxMs.toFixed(0).padStart(5)}) = ${(r.ms / base.ms).toFixed(1).padStart(5)}× floor   ${Object.values(SYNC).includes(label) ? '+' : ' '}${r.mb.toFixed(0).padStart(4)} MB`,
  );
  const ratio = (pair: typeof START, key: 'ms' | 'mb') => (rows[pair.bundle]![key] / rows[pair.sources]![key]).toFixed(2);
  lines.push(
    `bundle / sources: service start ${ratio(START, 'ms')}× the time, ${ratio(START, 'mb')}× the peak RSS; ` +
      `a sync in a worker ${ratio(SYNC, 'ms')}× the time, ${ratio(SYNC, 'mb')}× the RSS it adds`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(path.join(OUT, 'service-results.json'), JSON.stringify({ at: new Date().toISOString(), load: loadavg(), rows }, null, 2));
}

await main();
