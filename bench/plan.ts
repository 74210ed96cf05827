// The plan phase with and without digests, on one store, in one process: `npm run bench:plan`.
//
// Builds a directory snapshot in memory (BENCH_USERS users, BENCH_GROUPS groups, ~7 groups per
// user), syncs it into a fresh PostgreSQL database as the engine does (digests stored), then
// times, alternately and BENCH_REPS times each, the two ways of making the next plan: the full
// store state + planSync, and the digest-assisted store state + planSync (digests computed
// included), for a read with no change and a read with 1 % of users and 1 % of memberships
// changed (the store is not written between them). Reports medians and their ratio; the plans
// of both ways are checked equal. No LDAP server: the read phase is another bench's.
import { loadavg } from 'node:os';
import type { DirectoryGroup, DirectorySnapshot, DirectoryUser } from '../src/domain/types.ts';
import { openStore } from '../src/store/db.ts';
import { loadStoreState } from '../src/store/sync-state.ts';
import { countPlan, planSync } from '../src/sync/plan.ts';
import { digestsFor } from '../src/sync/plan/digest.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { mulberry32 } from '../test/support/random.ts';
import { planOptions, syncWithDigests } from '../test/support/sync-store.ts';

const USERS = Number(process.env.BENCH_USERS ?? 20_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 2_000);
const REPS = Number(process.env.BENCH_REPS ?? 5);

function directory(): DirectorySnapshot {
  const rand = mulberry32(7);
  const users: DirectoryUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
    users.push({ id, dn: `uid=u${i},ou=people,dc=example,dc=org`, login: `u${i}`, mail: `u${i}@example.org`, displayName: `User ${i}`, enabled: true });
  }
  const members: Set<string>[] = Array.from({ length: GROUPS }, () => new Set());
  for (const u of users) for (let k = 0; k < 7; k++) members[Math.floor(rand() ** 2 * GROUPS)]!.add(u.id);
  const groups: DirectoryGroup[] = members.map((m, g) => ({ id: `group-${g}`, dn: `cn=app-g${g},ou=groups,dc=example,dc=org`, name: `app-g${g}`, description: null, memberIds: [...m] }));
  return { vendor: 'openldap', groups, users, skipped: [], certificate: null };
}

/** 1 % of users with a new display name, 1 % of memberships moved to another user. */
function changed(s: DirectorySnapshot): DirectorySnapshot {
  const rand = mulberry32(11);
  const users = s.users.map((u) => (rand() < 0.01 ? { ...u, displayName: `${u.displayName} (v2)` } : u));
  const groups = s.groups.map((g) => ({ ...g, memberIds: g.memberIds.map((id) => (rand() < 0.01 ? s.users[Math.floor(rand() * s.users.length)]!.id : id)).filter((id, k, a) => a.indexOf(id) === k) }));
  return { ...s, users, groups };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const pg = await startPostgres();
  const store = await openStore({ databaseUrl: await pg.createDatabase('bench_plan'), maxConnections: 2 });
  try {
    const options = planOptions('bench');
    const base = directory();
    let t = performance.now();
    await syncWithDigests(store, base, options);
    process.stderr.write(`full sync of ${USERS} users, ${GROUPS} groups: ${((performance.now() - t) / 1000).toFixed(2)} s\n`);
    const load0 = loadavg()[0]!;
    for (const [label, snapshot] of [['no change', base], ['1 % change', changed(base)]] as const) {
      const full: number[] = [];
      const assisted: number[] = [];
      for (let r = 0; r < REPS; r++) {
        t = performance.now();
        const a = planSync(snapshot, await loadStoreState(store.db, 'bench', snapshot, 'mail'), options);
        full.push(performance.now() - t);
        t = performance.now();
        const b = planSync(snapshot, await loadStoreState(store.db, 'bench', snapshot, 'mail', digestsFor(snapshot, false)), options);
        assisted.push(performance.now() - t);
        if (JSON.stringify(countPlan(a)) !== JSON.stringify(countPlan(b))) throw new Error(`${label}: the plans differ`);
      }
      const f = median(full);
      const d = median(assisted);
      console.log(`${label.padEnd(10)}  full store state + plan ${f.toFixed(0).padStart(6)} ms   digest-assisted ${d.toFixed(0).padStart(6)} ms   ratio ${(d / f).toFixed(2)}`);
    }
    console.log(`(${USERS} users, ${GROUPS} groups, medians of ${REPS}, load average ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)})`);
  } finally {
    await store.close();
    await pg.stop();
  }
}

await main();
