/**
 * Peak memory and CPU of a benchmarked child process, for bench/sync.ts and bench/entra.ts:
 * the child is started with `--import=${RUSAGE_HOOK}` and BENCH_RUSAGE_FILE set, and
 * readRusage() reads what it wrote at exit.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Rusage {
  readonly maxRSS: number;
  readonly user: number;
  readonly system: number;
  readonly peak: { heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
}

/**
 * Preloaded into the child: at exit, writes its peak RSS (KB, from getrusage) and CPU (µs) to
 * BENCH_RUSAGE_FILE (or, for a command of several processes preloading it through NODE_OPTIONS,
 * to BENCH_RUSAGE_DIR/<pid>.json: see readRusageDir), with the peaks of V8 heap and Buffer
 * memory sampled every 100 ms (to tell what the RSS is made of). SIGTERM exits normally, so an overrunning run still leaves these
 * figures (and its --cpu-prof profile).
 */
export const RUSAGE_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    `import { writeFileSync } from 'node:fs';
     const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
     const sample = () => { const m = process.memoryUsage(); for (const k in peak) if (m[k] > peak[k]) peak[k] = m[k]; };
     setInterval(sample, 100).unref();
     process.on('SIGTERM', () => process.exit(143));
     process.on('exit', () => { sample(); const r = process.resourceUsage();
       const file = process.env.BENCH_RUSAGE_DIR ? process.env.BENCH_RUSAGE_DIR + '/' + process.pid + '.json' : process.env.BENCH_RUSAGE_FILE;
       writeFileSync(file, JSON.stringify({ maxRSS: r.maxRSS, user: r.userCPUTime, system: r.systemCPUTime, peak })); });`,
  );

/** What the child wrote at exit, or null when it wrote nothing (killed before its exit hook). */
export function readRusage(file: string): Rusage | null {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Rusage) : null;
}

/** Every process of one command that wrote into `dir` (BENCH_RUSAGE_DIR). */
export function readRusageDir(dir: string): Rusage[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Rusage);
}
