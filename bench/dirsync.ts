// DirSync on a real AD DC (Samba 4 AD, test/support/samba-ad.ts; needs root and port 389):
// what an incremental read costs against a full paged read of the same objects, in the same run.
//   baseline  a paged subtree search (500 a page, as LdapSource reads) of every user and group with
//             the attributes groupsync reads (objectGUID, sAMAccountName, mail, displayName, cn,
//             userAccountControl, member, description)
//   refresh   the DirSync tracker without a cookie (everything, and a cookie)
//   no change the DirSync tracker from that cookie with nothing changed
//   1 % change the same after replacing `mail` of 1 % of the users and adding one member to 1 % of the groups
// Each figure is the median of RUNS reads; ratios are against the baseline's median.
//
//   BENCH_USERS=5000 BENCH_GROUPS=100 node bench/dirsync.ts
import { loadavg } from 'node:os';
import type { Client } from 'ldapts';
import { createDirSyncTracker } from '../src/directory/ldap/dirsync.ts';
import { startSambaAd, type SambaAdHandle } from '../test/support/samba-ad.ts';

const USERS = Number(process.env.BENCH_USERS ?? 5000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 100);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const FILTER = '(|(&(objectCategory=person)(objectClass=user))(objectClass=group))';
const ATTRIBUTES = ['objectClass', 'objectGUID', 'sAMAccountName', 'mail', 'displayName', 'cn', 'userAccountControl', 'member', 'description'];

const userCn = (i: number) => `bu${String(i).padStart(6, '0')}`;
const groupCn = (g: number) => `bg${String(g).padStart(5, '0')}`;

async function load(ad: SambaAdHandle): Promise<void> {
  const users: string[] = [];
  for (let i = 0; i < USERS; i++) {
    users.push(`dn: CN=${userCn(i)},${ad.usersDn}\nobjectClass: user\nsAMAccountName: ${userCn(i)}\nuserAccountControl: 512\nmail: ${userCn(i)}@gs.test\ndisplayName: User ${i}\n`);
  }
  await ad.addLdif(users.join('\n'));
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    const members = Array.from({ length: MEMBERS }, (_, k) => `member: CN=${userCn((g * MEMBERS + k) % USERS)},${ad.usersDn}\n`).join('');
    groups.push(`dn: CN=${groupCn(g)},${ad.usersDn}\nobjectClass: group\nsAMAccountName: ${groupCn(g)}\ndescription: group ${g}\n${members}`);
  }
  await ad.addLdif(groups.join('\n'));
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function pagedRead(client: Client): Promise<number> {
  const { searchEntries } = await client.search(`DC=gs,DC=test`, { scope: 'sub', filter: FILTER, attributes: ATTRIBUTES, explicitBufferAttributes: ['objectGUID'], paged: { pageSize: 500 } });
  return searchEntries.length;
}

/** 1 % of the users get a new mail, 1 % of the groups a new member. */
async function change(ad: SambaAdHandle, round: number): Promise<number> {
  const ldif: string[] = [];
  const users = Math.max(1, Math.floor(USERS / 100));
  const groups = Math.max(1, Math.floor(GROUPS / 100));
  for (let k = 0; k < users; k++) {
    const i = (round * users + k * 97) % USERS;
    ldif.push(`dn: CN=${userCn(i)},${ad.usersDn}\nchangetype: modify\nreplace: mail\nmail: r${round}.${userCn(i)}@gs.test\n-\n`);
  }
  for (let k = 0; k < groups; k++) {
    const g = (round * groups + k) % GROUPS;
    ldif.push(`dn: CN=${groupCn(g)},${ad.usersDn}\nchangetype: modify\nadd: member\nmember: CN=${userCn((g * MEMBERS + MEMBERS + round) % USERS)},${ad.usersDn}\n-\n`);
  }
  await ad.modifyLdif(ldif.join('\n'));
  return users + groups;
}

async function main(): Promise<void> {
  const ad = await startSambaAd({ waitForPortMs: 300_000 });
  try {
    const t = await timed(() => load(ad));
    console.info(`loaded ${USERS} users, ${GROUPS} groups of ${MEMBERS} in ${(t.ms / 1000).toFixed(1)} s`);
    const client = await ad.client();
    const request = { base: ad.baseDn, filter: FILTER, attributes: ATTRIBUTES };
    const tracker = createDirSyncTracker({ client });
    const base: number[] = [];
    const refresh: number[] = [];
    const none: number[] = [];
    const onePct: number[] = [];
    let objects = 0;
    let changed = 0;
    let returned = 0;
    for (let run = 0; run < RUNS; run++) {
      const full = await timed(() => pagedRead(client));
      base.push(full.ms);
      objects = full.result;
      const first = await timed(() => tracker.read({ ...request, cookie: null }));
      refresh.push(first.ms);
      const quiet = await timed(() => tracker.read({ ...request, cookie: first.result.cookie }));
      if (quiet.result.entries.length !== 0) throw new Error('a no-change read returned entries');
      none.push(quiet.ms);
      changed = await change(ad, run);
      const delta = await timed(() => tracker.read({ ...request, cookie: quiet.result.cookie }));
      returned = delta.result.entries.length;
      onePct.push(delta.ms);
    }
    await client.unbind();
    const b = median(base);
    const row = (what: string, xs: number[], note = '') => ({ read: what, 'median ms': Number(median(xs).toFixed(1)), 'ratio to paged read': Number((median(xs) / b).toFixed(3)), note });
    console.table([
      row('full paged read (baseline)', base, `${objects} objects`),
      row('DirSync refresh (no cookie)', refresh),
      row('DirSync, no change', none),
      row('DirSync, 1 % changed', onePct, `${changed} changed, ${returned} returned`),
    ]);
    console.info(`runs: ${RUNS}; load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await ad.stop();
  }
}

await main();
