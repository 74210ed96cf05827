// The store benchmark: `npm run bench:store [-- --before <checkout>]`.
//
// For each directory size (BENCH_SIZES, users; groups are a tenth, default "10000,100000"),
// generates the directory (generate.ts), bulk-loads it into a private slapd, and measures, in one
// run, groupsync's CLI on each store:
//   - embedded: no DATABASE_URL, a fresh data folder (this checkout: the embedded PostgreSQL; its
//     cluster is initialised by a first command, `connections`, measured on its own);
//   - postgres: DATABASE_URL to a separate PostgreSQL server with durable settings (fsync on).
// With `--before <dir>`, the same commands run from that checkout too (an older groupsync,
// whose embedded store was PGlite), so before and after are measured side by side.
// Each variant: `sync bench --json` into an empty store (wall, node's peak RSS, the database
// server's peak PSS sampled every 200 ms), then `runs bench --limit 1` on the synced store. Each
// figure is printed with its ratio to "postgres" of this checkout measured in the same run. The
// embedded store's `runs` is measured twice: alone (the CLI starts and stops the server) and
// with the server already up (as when the service runs).
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openStore } from '../src/store/db.ts';
import { postmasterPid } from '../src/store/embedded.ts';
import { type PostgresHandle, startPostgres } from '../test/support/postgres.ts';
import { isRoot } from '../test/support/proc.ts';
import { startSlapd } from '../test/support/slapd.ts';
import { writeBenchConfig } from './connection.ts';
import { buildModel, writeLdif } from './generate.ts';
import { RUSAGE_HOOK, readRusage } from './rusage.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({ options: { before: { type: 'string' } } });
const SIZES = (process.env.BENCH_SIZES ?? '10000,100000').split(',').map(Number);
const log = (text: string) => process.stderr.write(`[bench:store ${new Date().toISOString().slice(11, 19)}] ${text}\n`);

interface Measured {
  readonly wallMs: number;
  readonly nodeMb: number;
  readonly serverMb: number | null;
  readonly code: number | null;
}

/** Sum of the proportional set size (MB) of a postmaster and its children, or 0 when none runs. */
function serverPss(pgdata: string): number {
  const pid = postmasterPid(pgdata);
  if (pid === null) return 0;
  const pids = [pid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1]);
      if (ppid === pid) pids.push(Number(entry));
    } catch {
      /* gone */
    }
  }
  let kb = 0;
  for (const p of pids) {
    try {
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

async function measure(checkout: string, cliArgs: readonly string[], env: NodeJS.ProcessEnv, pgdata: string | null): Promise<Measured> {
  const rusageFile = join(tmpdir(), `groupsync-bench-store-${process.pid}.json`);
  rmSync(rusageFile, { force: true });
  let serverMb = 0;
  const sampler = setInterval(() => {
    if (pgdata) serverMb = Math.max(serverMb, serverPss(pgdata));
  }, 200);
  const started = performance.now();
  const code = await new Promise<number | null>((done, fail) => {
    const child = spawn(process.execPath, ['--max-semi-space-size=16', `--import=${RUSAGE_HOOK}`, join(checkout, 'src/cli/main.ts'), ...cliArgs], {
      cwd: checkout,
      env: { ...env, BENCH_RUSAGE_FILE: rusageFile, LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    child.once('error', fail);
    child.once('close', done);
  });
  const wallMs = performance.now() - started;
  clearInterval(sampler);
  const usage = readRusage(rusageFile);
  return { wallMs, nodeMb: (usage?.maxRSS ?? NaN) / 1024, serverMb: pgdata ? serverMb : null, code };
}


interface Row {
  /** The embedded store of this checkout: the first command on a fresh data folder, which initialises the cluster (once per installation). */
  readonly init: Measured | null;
  readonly sync: Measured;
  readonly runs: Measured;
  readonly attached: Measured | null;
}

interface Variant {
  readonly name: string;
  readonly checkout: string;
  readonly store: 'embedded' | 'postgres';
}

async function runVariant(variant: Variant, base: NodeJS.ProcessEnv, pg: PostgresHandle, index: number): Promise<Row> {
  const env: NodeJS.ProcessEnv = { ...base };
  let pgdata: string | null;
  let dataDir: string | null = null;
  if (variant.store === 'postgres') {
    env.DATABASE_URL = await pg.createDatabase(`bench_store_${index}`);
    pgdata = pg.dataDir;
  } else {
    dataDir = mkdtempSync(join(isRoot() ? '/tmp' : tmpdir(), 'groupsync-bench-store-'));
    chmodSync(dataDir, 0o755);
    env.GROUPSYNC_DATA_DIR = dataDir;
    delete env.DATABASE_URL;
    pgdata = join(dataDir, 'postgres');
  }
  try {
    // Initialising the cluster happens once per installation: measured on its own, so that the
    // first sync compares the stores (the separate server was initialised beforehand too).
    const init = variant.store === 'embedded' && variant.checkout === ROOT ? await measure(variant.checkout, ['--json', 'connections'], env, pgdata) : null;
    const sync = await measure(variant.checkout, ['--json', 'sync', 'bench'], env, pgdata);
    const runs = await measure(variant.checkout, ['--json', 'runs', 'bench', '--limit', '1'], env, pgdata);
    // The embedded server already running (the service up), the CLI joins it instead of starting it.
    let attached: Measured | null = null;
    if (variant.store === 'embedded' && variant.checkout === ROOT) {
      const holder = await openStore({ dataDir: dataDir!, maxConnections: 1 });
      attached = await measure(variant.checkout, ['--json', 'runs', 'bench', '--limit', '1'], env, pgdata);
      await holder.close();
    }
    return { init, sync, runs, attached };
  } finally {
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (m: Measured, base: Measured) =>
  `${(m.wallMs / 1000).toFixed(1)} s (${(m.wallMs / base.wallMs).toFixed(2)}×), node ${m.nodeMb.toFixed(0)} MB (${(m.nodeMb / base.nodeMb).toFixed(2)}×)` +
  (m.serverMb !== null && m.serverMb > 0 ? `, server ${m.serverMb.toFixed(0)} MB` : '') +
  (m.code === 0 ? '' : ` [exit ${m.code}]`);

async function main(): Promise<void> {
  const variants: Variant[] = [
    { name: 'postgres', checkout: ROOT, store: 'postgres' },
    { name: 'embedded', checkout: ROOT, store: 'embedded' },
  ];
  if (args.before) {
    const before = resolve(args.before);
    if (!existsSync(join(before, 'src/cli/main.ts'))) throw new Error(`--before ${before}: not a groupsync checkout`);
    variants.push({ name: 'before: postgres', checkout: before, store: 'postgres' }, { name: 'before: embedded (PGlite)', checkout: before, store: 'embedded' });
  }
  if (loadavg()[0]! > 1) log(`warning: load average ${loadavg()[0]!.toFixed(2)}: other processes compete for the CPUs`);
  const pg = await startPostgres({ settings: { fsync: true, synchronous_commit: true, full_page_writes: true } });
  const report: string[] = [];
  try {
    for (const users of SIZES) {
      const work = mkdtempSync(join(tmpdir(), 'groupsync-bench-store-dir-'));
      const ldif = join(work, 'directory.ldif');
      await writeLdif(buildModel({ users, groups: Math.max(1, Math.round(users / 10)), seed: 20_251_122 }), ldif);
      const ldap = await startSlapd({ bulkLdif: ldif });
      try {
        const env: NodeJS.ProcessEnv = { ...process.env, GROUPSYNC_CONFIG: writeBenchConfig(work, ldap.url), BENCH_LDAP_PASSWORD: ldap.adminPassword };
        const results: Array<[Variant, Row]> = [];
        for (const [i, variant] of variants.entries()) {
          log(`${users} users: ${variant.name}…`);
          results.push([variant, await runVariant(variant, env, pg, users + i)]);
        }
        const base = results[0]![1];
        report.push(`\n${users.toLocaleString('en')} users, ${Math.round(users / 10).toLocaleString('en')} groups (ratios: against "postgres" of this checkout)`);
        for (const [variant, r] of results) {
          if (r.init) report.push(`  ${variant.name.padEnd(26)} first command, cluster initialised (once): ${(r.init.wallMs / 1000).toFixed(1)} s, node ${r.init.nodeMb.toFixed(0)} MB`);
          report.push(`  ${variant.name.padEnd(26)} first sync ${fmt(r.sync, base.sync)}`);
          report.push(`  ${''.padEnd(26)} runs --limit 1 ${fmt(r.runs, base.runs)}`);
          if (r.attached) report.push(`  ${''.padEnd(26)} runs --limit 1, server already up ${fmt(r.attached, base.runs)}`);
        }
      } finally {
        await ldap.stop();
        rmSync(work, { recursive: true, force: true });
      }
    }
  } finally {
    await pg.stop();
  }
  process.stdout.write(`${report.join('\n')}\n`);
}

await main();
