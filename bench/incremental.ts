// Incremental LDAP reads (RFC 4533 on slapd with syncprov) against the full-read floor measured in
// the same run: the generated directory (generate.ts), then
//   floor:        ldapsearch of the users and the groups (what a full read must transfer);
//   full read:    LdapSource, no state (fills the entry cache, takes the cookie);
//   no change:    LdapSource from that state, nothing changed (its parts: decoding the cache, readScope over it);
//   1 % change:   LdapSource from the state after 1 % of the users changed their mail 
// Reported as ratios to the floor and to the plain full read. Environment: BENCH_USERS (100000),
// BENCH_GROUPS (10000); BENCH_TRACKER `syncrepl` (default: slapd with syncprov) or `timestamp` (slapd
// without it: modifyTimestamp filters and a present phase); BENCH_MODE `entries` (default: the
// entries are kept and merged) or `detect` (only a cookie: no change is answered as unchanged, a
// change is read in full). With the timestamp tracker the no-change read waits BENCH_SETTLE_SECONDS
// (default 125) first: until two minutes after the last write (the bulk load), every read asks
// again for the entries stamped in the minute below the mark, which after a bulk load is all.
// Usage: node bench/incremental.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { LdapSource } from '../src/directory/ldap/client.ts';
import { cacheAccess } from '../src/directory/ldap/cache-access.ts';
import { decodeState, encodeState } from '../src/directory/ldap/kept-state.ts';
import { readScope } from '../src/directory/ldap/read.ts';
import { VENDOR_PROFILES } from '../src/directory/ldap/vendors.ts';
import type { DirectoryState, ReadScope } from '../src/domain/types.ts';
import { startSlapd } from '../test/support/slapd.ts';
import { GROUP_ATTRIBUTES, USER_ATTRIBUTES, USER_FILTER, ldapsearch } from './floor.ts';
import { BASE_DN, buildModel, userDn, writeLdif } from './generate.ts';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 10_000);
const TRACKER = process.env.BENCH_TRACKER ?? 'syncrepl';
const MODE = (process.env.BENCH_MODE ?? 'entries') as 'entries' | 'detect';
const SCOPE: ReadScope = { groupFilter: '(cn=app-*)', groupRefs: [] };
const secs = (ms: number) => (ms / 1000).toFixed(2);
const log = (text: string) => process.stdout.write(`${text}\n`);

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const value = await work();
  return [value, performance.now() - t];
}

const workDir = mkdtempSync(join(tmpdir(), 'groupsync-bench-inc-'));
const ldap = await (async () => {
  const model = buildModel({ users: USERS, groups: GROUPS });
  const file = join(workDir, 'directory.ldif');
  await writeLdif(model, file);
  return startSlapd({ bulkLdif: file, ...(TRACKER === 'timestamp' ? {} : { syncprov: { sessionlog: 100_000 } }) });
})();
try {
  log(`directory: ${USERS} users, ${GROUPS} groups; tracker ${TRACKER}, mode ${MODE}; load average ${loadavg()[0]!.toFixed(2)}`);
  const target = { url: ldap.url, bindDn: ldap.adminDn, password: ldap.adminPassword, baseDn: BASE_DN };
  const floorMs =
    (await ldapsearch(target, USER_FILTER, USER_ATTRIBUTES, join(workDir, 'users.ldif'))) +
    (await ldapsearch(target, '(objectClass=groupOfNames)', GROUP_ATTRIBUTES, join(workDir, 'groups.ldif')));
  const source = () =>
    new LdapSource({ urls: [ldap.url], bindDn: ldap.adminDn, password: ldap.adminPassword, startTls: false, baseDn: BASE_DN, vendor: 'auto', attributes: {}, verify: true, pageSize: 1000, timeoutSeconds: 300, incremental: MODE });

  const [plain, plainMs] = await timed(() => new LdapSource({ urls: [ldap.url], bindDn: ldap.adminDn, password: ldap.adminPassword, startTls: false, baseDn: BASE_DN, vendor: 'auto', attributes: {}, verify: true, pageSize: 1000, timeoutSeconds: 300, incremental: false }).read(SCOPE));
  const [full, fullMs] = await timed(() => source().read(SCOPE, undefined, null));
  let state: DirectoryState = full.nextState!;
  const settle = Number(process.env.BENCH_SETTLE_SECONDS ?? (TRACKER === 'timestamp' ? 125 : 0));
  if (settle > 0) {
    // One ordinary write moves the mark off the bulk load's last second (thousands of entries
    // stamped in it); the window below the mark closes on the next read's cookie, after the wait.
    const writer = new Client({ url: ldap.url });
    await writer.bind(ldap.adminDn, ldap.adminPassword);
    await writer.modify(userDn(1), [new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['settled'] }) })]);
    await writer.unbind();
    await new Promise((resolve) => setTimeout(resolve, settle * 1000));
    state = (await source().read(SCOPE, undefined, state, { allowUnchanged: MODE === 'detect' })).nextState!;
  }
  // Detect mode: the engine asks for "unchanged" (nothing is built when nothing changed).
  const [same, sameMs] = await timed(() => source().read(SCOPE, undefined, state, { allowUnchanged: MODE === 'detect' }));
  state = same.nextState!;
  const kept = decodeState(state.cache);
  let [decodeMs, scopeMs, encodeMs] = [0, 0, 0];
  if (kept) {
    decodeMs = (await timed(async () => decodeState(state.cache)))[1];
    const layout = { profile: VENDOR_PROFILES.openldap, userBase: BASE_DN, userFilter: VENDOR_PROFILES.openldap.userFilter, groupBase: BASE_DN };
    scopeMs = (await timed(() => readScope(cacheAccess(kept.cache), SCOPE, layout)))[1];
    encodeMs = (await timed(() => encodeState(kept.cache, kept.snapshot)))[1];
  }

  // 1 %: users change their mail.
  const client = new Client({ url: ldap.url });
  await client.bind(ldap.adminDn, ldap.adminPassword);
  const step = 100;
  let changes = 0;
  for (let i = 0; i < USERS; i += step) {
    await client.modify(userDn(i), [new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: [`changed.${i}@example.org`] }) })]);
    changes++;
  }
  await client.unbind();
  const [changed, changeMs] = await timed(() => source().read(SCOPE, undefined, state, { allowUnchanged: MODE === 'detect' }));

  const row = (name: string, ms: number, extra = '') => log(`${name.padEnd(34)} ${secs(ms).padStart(7)} s  ${(ms / floorMs).toFixed(3)}× floor  ${(ms / plainMs).toFixed(3)}× full read ${extra}`);
  log(`\nsnapshot: ${full.groups.length} groups, ${full.users.length} users; cache ${((state.cache?.length ?? 0) / 1e6).toFixed(1)} MB gzip`);
  row('floor: ldapsearch users + groups', floorMs);
  row('full read, plain (no tracker)', plainMs, `(${plain.stats?.readReason})`);
  row('full read, filling the cache', fullMs, `(${full.stats?.readReason})`);
  row('incremental, no change', sameMs, `(${same.stats?.readMode}, changed ${same.stats?.changedEntries}, tracked by ${same.stats?.trackedBy})`);
  row('  decode the kept state', decodeMs);
  row('  readScope over the kept entries (the fallback)', scopeMs);
  row('  encode the cache (kept for next run)', encodeMs);
  row(`incremental, 1 % change (${changes} users)`, changeMs, `(${changed.stats?.readMode}${changed.stats?.readReason ? ` ${changed.stats.readReason}` : ''}, changed ${changed.stats?.changedEntries}, snapshot ${changed.stats?.snapshot}, re-expanded ${changed.stats?.reexpandedGroups})`);
  log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
} finally {
  await ldap.stop();
  rmSync(workDir, { recursive: true, force: true });
}
