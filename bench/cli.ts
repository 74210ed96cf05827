// groupsync's CLI start-up benchmark: `npm run bench:cli [-- --runs N] [--checkout DIR]…`.
//
//   1. A private PostgreSQL (test/support/postgres.ts) holds a small synced directory: the
//      sample LDIF connection (sample/directory.ldif), synced once with this checkout's CLI.
//   2. Spawns, N times each (default 10) and interleaved, so that a busy moment of the machine
//      hits every case alike: `node -e 0` (the baseline), then for this checkout and for each
//      --checkout DIR (another checkout of groupsync, e.g. a git worktree of an older commit
//      with node_modules linked): `groupsync --help` and `groupsync status <connection>`,
//      through bin/groupsync.mjs as a user runs it; and this checkout's CLI from its TypeScript
//      sources (`npm run cli`), to show what the bundle saves. One untimed first run of each comes
//      first (it builds the CLI bundle when stale, and fills Node's compile cache); its time is
//      shown.
//   3. With --users N (e.g. 100000): a second connection, `large`, reads a generated directory
//      of N users and N/10 app groups (bench/generate.ts, ~70 members per group, as an LDIF file),
//      synced once; then `groupsync runs large --limit 1` and `groupsync health --all` (N/10
//      linked groups) are measured too.
//   4. Reports median and max wall time and peak RSS (summed over the command's processes: the
//      old bin/groupsync.mjs ran the CLI in a second node), each as a ratio to `node -e 0`, and
//      the targets (--help ≤ 300 ms, status ≤ 600 ms, ≤ 120 MB each); writes
//      bench/out/cli-results.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startPostgres } from '../test/support/postgres.ts';
import { buildModel, writeLdif } from './generate.ts';
import { RUSAGE_HOOK, readRusageDir } from './rusage.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const OUT = path.join(ROOT, 'bench', 'out');

interface Case {
  readonly label: string;
  readonly args: readonly string[];
  /** Exit codes that are an answer (`health` exits 7 when something is red). */
  readonly exits?: readonly number[];
  /** The targets of issue 11, when the case has one. */
  readonly target?: { readonly ms: number; readonly mb: number };
}

interface Sample {
  readonly ms: number;
  readonly rssKb: number;
}

interface Row {
  readonly label: string;
  readonly first: Sample;
  readonly samples: Sample[];
  readonly target?: Case['target'];
}

const log = (text: string) => process.stderr.write(`[bench:cli ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

function wholeNumber(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got "${raw}"`);
  return n;
}

function options(): { runs: number; users: number; checkouts: string[] } {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '10' }, users: { type: 'string', default: '0' }, checkout: { type: 'string', multiple: true, default: [] } },
  });
  return { runs: wholeNumber('runs', values.runs, 1), users: wholeNumber('users', values.users, 0), checkouts: values.checkout.map((d) => path.resolve(d)) };
}

/** Runs one command to its end: wall time, and the peak RSS of all its processes together. */
async function measure(args: readonly string[], env: Record<string, string>, exits: readonly number[] = [0]): Promise<Sample> {
  const rusageDir = mkdtempSync(path.join(tmpdir(), 'groupsync-bench-cli-rusage-'));
  const childEnv = { ...process.env, ...env, BENCH_RUSAGE_DIR: rusageDir, NODE_OPTIONS: `--import=${RUSAGE_HOOK}` };
  const started = performance.now();
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ code: exitCode, stderr: err }));
  });
  const ms = performance.now() - started;
  if (code === null || !exits.includes(code)) throw new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`);
  const rssKb = readRusageDir(rusageDir).reduce((sum, r) => sum + r.maxRSS, 0);
  rmSync(rusageDir, { recursive: true, force: true });
  return { ms, rssKb };
}

function describeCheckout(dir: string): string {
  const rev = (args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
  const branch = rev(['rev-parse', '--abbrev-ref', 'HEAD']);
  return `${path.basename(dir)} @ ${rev(['rev-parse', '--short', 'HEAD'])}${branch === 'HEAD' ? '' : ` (${branch})`}`;
}

/** This checkout's CLI run from its TypeScript sources, as `npm run cli` runs it (what the bundle saves). */
function sourceCases(): Case[] {
  const cli = ['--max-semi-space-size=16', path.join(ROOT, 'src', 'cli', 'main.ts')];
  const name = `${describeCheckout(ROOT)} from source (npm run cli)`;
  return [
    { label: `${name}: --help`, args: [...cli, '--help'] },
    { label: `${name}: status sample`, args: [...cli, 'status', 'sample'] },
  ];
}

function casesOf(dir: string, large: boolean): Case[] {
  const bin = path.join(dir, 'bin', 'groupsync.mjs');
  const name = describeCheckout(dir);
  return [
    { label: `${name}: groupsync --help`, args: [bin, '--help'], target: { ms: 300, mb: 120 } },
    { label: `${name}: groupsync status sample`, args: [bin, 'status', 'sample'], target: { ms: 600, mb: 120 } },
    ...(large
      ? [
          { label: `${name}: groupsync runs large --limit 1`, args: [bin, 'runs', 'large', '--limit', '1'] },
          { label: `${name}: groupsync health --all`, args: [bin, 'health', '--all'], exits: [0, 7] },
        ]
      : []),
  ];
}

/**
 * The generated directory as an LDIF file the `ldif` connection reads: the base entries first
 * (the file's first entry is its base), and an entryUUID on each entry (slapd would add it).
 */
async function writeLargeLdif(users: number, file: string): Promise<void> {
  await writeLdif(buildModel({ users, groups: Math.max(1, Math.round(users / 10)), seed: 11 }), file);
  const base = readFileSync(path.join(ROOT, 'test', 'fixtures', 'ldif', 'base.ldif'), 'utf8').replace(/^#.*\n/gm, '');
  let n = 0;
  const entries = readFileSync(file, 'utf8').replace(/^dn: .*$/gm, (dn) => `${dn}\nentryUUID: 00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`);
  writeFileSync(file, `${base.trim()}\n\n${entries}`);
}

function connectionsYaml(large: string | null): string {
  const sample = path.join(ROOT, 'sample', 'directory.ldif');
  return (
    `connections:\n  - name: sample\n    kind: ldif\n    file: ${JSON.stringify(sample)}\n` +
    '    groups: { filter: "(cn=app-*)" }\n    attributes: { disabled: employeeType }\n    matchKey: mail\n' +
    (large ? `  - name: large\n    kind: ldif\n    file: ${JSON.stringify(large)}\n    groups: { filter: "(cn=app-*)" }\n    matchKey: mail\n` : '')
  );
}

function syncOnce(connection: string, env: Record<string, string>): void {
  try {
    execFileSync(process.execPath, [path.join(ROOT, 'bin', 'groupsync.mjs'), 'sync', connection], { env: { ...process.env, ...env }, stdio: 'ignore' });
  } catch (error) {
    // 5: partial (the sample directory has a user without mail, on purpose).
    if ((error as { status?: number }).status !== 5) throw error;
  }
}

/** A PostgreSQL database holding the sample directory (and the large one), synced once; the environment of the CLI for it. */
async function benchStore(workDir: string, users: number): Promise<{ env: Record<string, string>; stop: () => Promise<void> }> {
  const pg = await startPostgres();
  const large = users ? path.join(workDir, 'large.ldif') : null;
  if (large) {
    log(`generating ${users.toLocaleString('en')} users and ${Math.round(users / 10).toLocaleString('en')} groups`);
    await writeLargeLdif(users, large);
  }
  const configFile = path.join(workDir, 'groupsync.yaml');
  writeFileSync(configFile, connectionsYaml(large));
  const env = { DATABASE_URL: await pg.createDatabase('bench_cli'), GROUPSYNC_CONFIG: configFile, LOG_LEVEL: 'silent' };
  syncOnce('sample', env);
  if (large) {
    const t = performance.now();
    syncOnce('large', env);
    log(`synced the large directory in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  return { env, stop: () => pg.stop() };
}

async function runCases(cases: Case[], runs: number, env: Record<string, string>): Promise<Row[]> {
  const rows: Row[] = [];
  for (const c of cases) {
    log(`first run: ${c.label}`);
    rows.push({ label: c.label, first: await measure(c.args, env, c.exits), samples: [], ...(c.target ? { target: c.target } : {}) });
  }
  for (let i = 0; i < runs; i++) {
    for (const [n, c] of cases.entries()) rows[n]!.samples.push(await measure(c.args, env, c.exits));
  }
  return rows;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mb = (kb: number) => kb / 1024;

interface Summary {
  readonly label: string;
  readonly firstMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  readonly peakMb: number;
  readonly timeRatio: number;
  readonly rssRatio: number;
  readonly target?: Case['target'];
  readonly met?: boolean;
}

function summarize(rows: Row[]): Summary[] {
  const base = rows[0]!;
  const baseMs = median(base.samples.map((s) => s.ms));
  const baseMb = mb(Math.max(...base.samples.map((s) => s.rssKb)));
  return rows.map((r) => {
    const medianMs = median(r.samples.map((s) => s.ms));
    const peakMb = mb(Math.max(...r.samples.map((s) => s.rssKb)));
    return {
      label: r.label,
      firstMs: r.first.ms,
      medianMs,
      maxMs: Math.max(...r.samples.map((s) => s.ms)),
      peakMb,
      timeRatio: medianMs / baseMs,
      rssRatio: peakMb / baseMb,
      ...(r.target ? { target: r.target, met: medianMs <= r.target.ms && peakMb <= r.target.mb } : {}),
    };
  });
}

function printTable(summaries: Summary[], runs: number): void {
  const header = ['', 'first ms', 'median ms', 'max ms', '× node', 'peak MB', '× node', 'target'];
  const lines = summaries.map((s, n) => [
    s.label,
    s.firstMs.toFixed(0),
    s.medianMs.toFixed(0),
    s.maxMs.toFixed(0),
    s.timeRatio.toFixed(1),
    s.peakMb.toFixed(0),
    s.rssRatio.toFixed(1),
    s.target ? `${s.met ? 'met' : 'MISSED'} (≤ ${s.target.ms} ms, ≤ ${s.target.mb} MB)` : n === 0 ? 'baseline' : '—',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\nCLI start-up, ${runs} runs each (median and max wall time; peak RSS summed over the command's processes)\n`);
  console.log(row(header));
  for (const l of lines) console.log(row(l));
}

async function main(): Promise<void> {
  const { runs, users, checkouts } = options();
  const workDir = mkdtempSync(path.join(tmpdir(), 'groupsync-bench-cli-'));
  const loadAtStart = loadavg()[0]!;
  log('starting PostgreSQL and syncing the sample directory');
  const store = await benchStore(workDir, users);
  try {
    const cases: Case[] = [{ label: 'node -e 0', args: ['-e', '0'] }, ...[ROOT, ...checkouts].flatMap((dir) => casesOf(dir, users > 0)), ...sourceCases()];
    const summaries = summarize(await runCases(cases, runs, store.env));
    printTable(summaries, runs);
    console.log(`\nload average (1 min): ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at the end`);
    mkdirSync(OUT, { recursive: true });
    const file = path.join(OUT, 'cli-results.json');
    writeFileSync(file, JSON.stringify({ runs, users, node: process.version, loadAtStart, loadAtEnd: loadavg()[0], results: summaries }, null, 2));
    log(`results in ${path.relative(ROOT, file)}`);
  } finally {
    await store.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
