// groupsync's chat response-time benchmark: `npm run bench:chat`.
//
// Seeds a store with one connection of BENCH_LINKS (1,000) linked groups and BENCH_CONFLICTS
// (10,000) directory users in conflict (two local candidates each, so 20,000 local users), and
// BENCH_MEMBERS (20) members per group; then times the command layer's full answer (parse,
// authorize, query, view, Adaptive Card) for `health`, `conflicts corp` (first page) and the last
// page of conflicts (a "Next" click deep in the list), on the embedded PostgreSQL (the default,
// in a temporary data folder) and on a separate PostgreSQL server. Each answer is compared with a baseline measured in the same run on the same
// store: reading everything the answer is about (every conflict row; every link and membership)
// with one plain query. The heap growth of each answer is reported too.
//
// Environment: BENCH_LINKS, BENCH_CONFLICTS, BENCH_MEMBERS, BENCH_REPEAT (7), BENCH_DRIVERS
// ("embedded,postgres").
import { sql } from 'drizzle-orm';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { Authorizer } from '../src/chat/auth.ts';
import { ChatService } from '../src/chat/service.ts';
import { renderCard } from '../src/chat/teams/cards.ts';
import { createApp } from '../src/app.ts';
import { type AppConfig, parseConfigDocument, SAMPLE_CONFIG } from '../src/config.ts';
import { silentLogger } from '../src/logger.ts';
import { openStore, queryRows, type Store } from '../src/store/db.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { isRoot } from '../test/support/proc.ts';

const LINKS = Number(process.env.BENCH_LINKS ?? 1000);
const CONFLICTS = Number(process.env.BENCH_CONFLICTS ?? 10_000);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 7);
const DRIVERS = (process.env.BENCH_DRIVERS ?? 'embedded,postgres').split(',');
const ADMIN = '00000000-0000-4000-8000-00000000a11c';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

async function seed(store: Store): Promise<void> {
  const db = store.db;
  await db.execute(sql`insert into local_users (login, mail) select 'u' || i, 'user' || ((i + 1) / 2) || '@corp.example' from generate_series(1, ${2 * CONFLICTS}) i`);
  await db.execute(sql`insert into local_groups (name) select 'group-' || lpad(i::text, 5, '0') from generate_series(1, ${LINKS}) i`);
  await db.execute(sql`
    insert into group_links (connection, directory_id, dn, name, kind, origin, local_group_id, last_synced_at)
    select 'corp', 'g' || g.id, 'cn=' || g.name || ',ou=groups,dc=corp', g.name, 'group', 'scope', g.id, now() from local_groups g`);
  await db.execute(sql`
    insert into memberships (group_id, user_id)
    select g.id, 1 + ((g.id * ${MEMBERS} + k) % ${2 * CONFLICTS}) from local_groups g, generate_series(0, ${MEMBERS - 1}) k on conflict do nothing`);
  await db.execute(sql`
    insert into mappings (connection, directory_id, dn, login, mail, display_name, status, candidates, via_groups, reason)
    select 'corp', 'd' || i, 'uid=d' || i || ',ou=people,dc=corp', 'd' || lpad(i::text, 6, '0'), 'user' || i || '@corp.example', 'User ' || i, 'conflict',
           jsonb_build_array(2 * i - 1, 2 * i), jsonb_build_array('g' || (1 + i % ${LINKS})), null
    from generate_series(1, ${CONFLICTS}) i`);
  await db.execute(sql`insert into runs (connection, trigger, actor, status, finished_at) values ('corp', 'schedule', 'bench', 'success', now())`);
  await db.execute(sql`update connections set last_success_at = now(), last_run_at = now() where name = 'corp'`);
  await db.execute(sql`analyze`);
}

async function time(fn: () => Promise<unknown>): Promise<{ median: number; heapMb: number; result: unknown }> {
  await fn(); // warm-up
  const times: number[] = [];
  let heap = 0;
  let result: unknown;
  for (let i = 0; i < REPEAT; i++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    result = await fn();
    times.push(performance.now() - t0);
    heap = Math.max(heap, (process.memoryUsage().heapUsed - before) / 1048576);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, heapMb: heap, result };
}

async function benchDriver(driver: string): Promise<Array<Record<string, string | number>>> {
  let store: Store;
  let stopPg: () => Promise<void>;
  if (driver === 'postgres') {
    const pg = await startPostgres();
    stopPg = () => pg.stop();
    store = await openStore({ databaseUrl: pg.url, maxConnections: 5 });
  } else {
    const dataDir = mkdtempSync(path.join(isRoot() ? '/tmp' : tmpdir(), 'groupsync-bench-chat-'));
    chmodSync(dataDir, 0o755);
    store = await openStore({ dataDir, maxConnections: 5 });
    stopPg = async () => rmSync(dataDir, { recursive: true, force: true });
  }
  const parsed = parseConfigDocument(
    { connections: [{ name: 'corp', kind: 'ldif', file: 'directory.ldif', schedule: { interval: '24h' } }], chat: { admins: { teams: [ADMIN] } } },
    {},
    'bench config',
    path.dirname(SAMPLE_CONFIG),
  );
  const config: AppConfig = {
    port: 0, databaseUrl: null, dataDir: 'data', configFile: null, usingSample: false, logLevel: 'silent',
    connections: parsed.connections, chat: parsed.chat, teams: { appId: null, appPassword: null, tenantId: null, appType: 'MultiTenant' }, slack: null,
  };
  const app = await createApp(config, { logger: silentLogger, store });
  const t0 = performance.now();
  await seed(store);
  const seedMs = performance.now() - t0;
  const chat = new ChatService({ ops: app.ops, db: store.db, auth: new Authorizer({ db: store.db, chat: config.chat }), logger: silentLogger });
  const inv = { user: { surface: 'teams' as const, id: '29:bench', aadObjectId: ADMIN, name: 'Bench' }, conversation: null };
  const answer = (run: () => ReturnType<ChatService['handleText']>) => async () => {
    const reply = await run();
    return JSON.stringify(renderCard(reply.view)).length;
  };
  const lastOffset = Math.floor((CONFLICTS - 1) / 10) * 10;
  const cases = [
    {
      name: `health (${LINKS} links)`,
      answer: answer(() => chat.handleText(inv, 'health')),
      baselineName: 'select every link and membership',
      baseline: async () => (await queryRows(store.db, sql`select l.*, m.user_id from group_links l left join memberships m on m.group_id = l.local_group_id`)).length,
    },
    {
      name: `conflicts, first page (${CONFLICTS} users)`,
      answer: answer(() => chat.handleText(inv, 'conflicts corp')),
      baselineName: 'select every conflict row',
      baseline: async () => (await queryRows(store.db, sql`select * from mappings where connection = 'corp' and status in ('conflict', 'unmapped') and in_scope`)).length,
    },
    {
      name: `conflicts, last page (offset ${lastOffset})`,
      answer: answer(() => chat.handleAction(inv, 'page', { view: 'conflicts', connection: 'corp', offset: lastOffset })),
      baselineName: 'select every conflict row',
      baseline: async () => (await queryRows(store.db, sql`select * from mappings where connection = 'corp' and status in ('conflict', 'unmapped') and in_scope`)).length,
    },
  ];
  const out: Array<Record<string, string | number>> = [];
  for (const c of cases) {
    const base = await time(c.baseline);
    const ans = await time(c.answer);
    out.push({
      driver,
      answer: c.name,
      'answer ms': Number(ans.median.toFixed(1)),
      'baseline ms': Number(base.median.toFixed(1)),
      ratio: Number((ans.median / base.median).toFixed(2)),
      'answer heap MB': Number(ans.heapMb.toFixed(1)),
      'baseline heap MB': Number(base.heapMb.toFixed(1)),
      'card bytes': Number(ans.result),
      'baseline rows': Number(base.result),
      'seed s': Number((seedMs / 1000).toFixed(1)),
    });
  }
  await app.close();
  if (stopPg) await stopPg();
  return out;
}

const results: Array<Record<string, string | number>> = [];
for (const driver of DRIVERS) results.push(...(await benchDriver(driver)));
console.table(results);
console.log('ratio = answer time / baseline time (the baseline reads every row the answer is about with one plain query, on the same store in the same run)');
