// Peak memory of the LDAP full reads, each in a child process of its own (peak RSS is per
// process): the plain full read (no tracker) is the baseline; against it, the tracked full read
// with no state (fills the entry cache) and the requested full read from that state (a
// reconciliation: the old cache brought up to date and compared). Reported as ratios to the plain
// read measured in the same run. Environment: BENCH_USERS (100000), BENCH_GROUPS (10000).
// Usage: node bench/incremental-memory.ts   (child mode: node bench/incremental-memory.ts <mode> <workDir> <url>)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LdapSource } from '../src/directory/ldap/client.ts';
import type { DirectoryState, ReadScope } from '../src/domain/types.ts';
import { startSlapd } from '../test/support/slapd.ts';
import { BASE_DN, buildModel, writeLdif } from './generate.ts';

const SCOPE: ReadScope = { groupFilter: '(cn=app-*)', groupRefs: [] };
const MODES = ['plain', 'full', 'requested'] as const;
type Mode = (typeof MODES)[number];

async function child(mode: Mode, workDir: string, url: string): Promise<void> {
  const stateFile = join(workDir, 'state');
  let state: DirectoryState | null = null;
  if (mode === 'requested') {
    const saved = JSON.parse(readFileSync(`${stateFile}.json`, 'utf8')) as { cursor: DirectoryState['cursor'] };
    state = { cursor: saved.cursor, cache: new Uint8Array(readFileSync(stateFile)) };
  }
  const source = new LdapSource({ urls: [url], bindDn: process.env.BENCH_BIND_DN!, password: process.env.BENCH_PASSWORD!, startTls: false, baseDn: BASE_DN, vendor: 'auto', attributes: {}, verify: true, pageSize: 1000, timeoutSeconds: 300, incremental: mode !== 'plain' });
  const t = performance.now();
  const snapshot = await source.read(SCOPE, undefined, state, { full: mode === 'requested' });
  const ms = performance.now() - t;
  if (mode === 'full' && 'nextState' in snapshot && snapshot.nextState) {
    writeFileSync(stateFile, snapshot.nextState.cache!);
    writeFileSync(`${stateFile}.json`, JSON.stringify({ cursor: snapshot.nextState.cursor }));
  }
  const stats = 'stats' in snapshot ? snapshot.stats : undefined;
  process.stdout.write(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, reason: stats?.readReason, diffs: stats?.reconcileDiffs }));
  await source.close();
}

async function main(): Promise<void> {
  const USERS = Number(process.env.BENCH_USERS ?? 100_000);
  const GROUPS = Number(process.env.BENCH_GROUPS ?? 10_000);
  const workDir = mkdtempSync(join(tmpdir(), 'groupsync-bench-incmem-'));
  const model = buildModel({ users: USERS, groups: GROUPS });
  const file = join(workDir, 'directory.ldif');
  await writeLdif(model, file);
  const ldap = await startSlapd({ bulkLdif: file, syncprov: { sessionlog: 100_000 } });
  try {
    process.stdout.write(`directory: ${USERS} users, ${GROUPS} groups; load average ${loadavg()[0]!.toFixed(2)}\n`);
    let base: { ms: number; maxRssMb: number } | null = null;
    for (const mode of MODES) {
      const out = execFileSync(process.execPath, [...(process.env.CHILD_FLAGS?.split(" ").filter(Boolean) ?? []), process.argv[1]!, mode, workDir, ldap.url], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, BENCH_BIND_DN: ldap.adminDn, BENCH_PASSWORD: ldap.adminPassword } });
      const r = JSON.parse(out) as { ms: number; maxRssMb: number; reason?: string; diffs?: number };
      base ??= r;
      process.stdout.write(`${mode.padEnd(10)} ${(r.ms / 1000).toFixed(2).padStart(7)} s (${(r.ms / base.ms).toFixed(2)}× plain)  peak RSS ${r.maxRssMb.toFixed(0).padStart(5)} MB (${(r.maxRssMb / base.maxRssMb).toFixed(2)}× plain)  ${r.reason ?? ''} ${r.diffs ?? ''}\n`);
    }
    process.stdout.write(`load average ${loadavg()[0]!.toFixed(2)}\n`);
  } finally {
    await ldap.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const [mode, workDir, url] = process.argv.slice(2);
if (mode) await child(mode as Mode, workDir!, url!);
else await main();
