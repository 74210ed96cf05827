import { describe, expect, it } from 'vitest';
import {
  type Attempt,
  type ConnectionHealthInput,
  describeReason,
  evaluateConnection,
  evaluateHealth,
  type HealthCode,
  type HealthReason,
  type LinkHealthInput,
  sslOf,
} from '../../src/health/health.ts';

// ---- builders ----------------------------------------------------------------------------------

const NOW = new Date('2026-06-15T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const STALE_AFTER = 48 * HOUR;

const ago = (ms: number): Date => new Date(NOW.getTime() - ms);
const ahead = (ms: number): Date => new Date(NOW.getTime() + ms);

function attempt(id: number, status: string, fields: Partial<Attempt> = {}): Attempt {
  const startedAt = ago((100 - id) * HOUR);
  return { id, status, startedAt, finishedAt: new Date(startedAt.getTime() + MINUTE), error: status === 'failed' ? `run ${id} broke` : null, full: true, ...fields };
}

function link(id: number, fields: Partial<LinkHealthInput> = {}): LinkHealthInput {
  return { id, name: `group-${id}`, dn: `cn=group-${id},ou=groups,dc=example,dc=org`, kind: 'group', createdAt: ago(30 * DAY), lastSyncedAt: null, pendingDuplicate: false, conflicts: 0, members: 3, ...fields };
}

/** A healthy connection: enabled, scheduled, synced an hour ago, last attempt a success, one healthy link. */
function connection(fields: Partial<ConnectionHealthInput> = {}): ConnectionHealthInput {
  return {
    name: 'corp',
    kind: 'ldap',
    enabled: true,
    hasSchedule: true,
    staleAfterMs: STALE_AFTER,
    lastSuccessAt: ago(HOUR),
    nextRunAt: ahead(23 * HOUR),
    quarantinedAt: null,
    consecutiveFailures: 0,
    certificate: null,
    attempts: [attempt(2, 'success'), attempt(1, 'success')],
    syncedUsers: 42,
    conflicts: 0,
    pendingDuplicates: 0,
    links: [link(1)],
    ...fields,
  };
}

const codes = (reasons: readonly HealthReason[]): HealthCode[] => reasons.map((r) => r.code).sort();
const cert = (validTo: Date, trusted = true, error: string | null = null) => ({ validTo: validTo.toISOString(), trusted, error });

// ---- reasons -----------------------------------------------------------------------------------

describe('evaluateConnection: one reason at a time', () => {
  it('a healthy connection and its links are green with no reasons', () => {
    const h = evaluateConnection(connection(), NOW);
    expect(h.status).toBe('green');
    expect(h.reasons).toEqual([]);
    expect(h.links.map((l) => [l.status, l.reasons])).toEqual([['green', []]]);
    expect(h.ssl).toEqual({ state: 'none', validTo: null });
  });

  it.each<{ what: string; input: Partial<ConnectionHealthInput>; connection: HealthCode[]; link: HealthCode[] }>([
    { what: 'disabled', input: { enabled: false }, connection: ['disabled'], link: ['disabled'] },
    { what: 'no schedule', input: { hasSchedule: false }, connection: ['no_schedule'], link: ['no_schedule'] },
    { what: 'never synced', input: { lastSuccessAt: null, attempts: [] }, connection: ['never_synced'], link: ['never_synced'] },
    { what: 'stale: just over the limit', input: { lastSuccessAt: ago(STALE_AFTER + 1) }, connection: ['stale'], link: ['stale'] },
    { what: 'not stale: exactly at the limit', input: { lastSuccessAt: ago(STALE_AFTER) }, connection: [], link: [] },
    { what: 'not stale: just under the limit', input: { lastSuccessAt: ago(STALE_AFTER - 1) }, connection: [], link: [] },
    {
      what: 'the newest attempt failed',
      input: { attempts: [attempt(3, 'failed'), attempt(2, 'success')] },
      connection: ['last_run_failed'],
      link: ['last_run_failed'],
    },
    {
      what: 'the newest non-dry-run attempt failed, a dry run came after it',
      input: { attempts: [attempt(4, 'dry_run'), attempt(3, 'failed'), attempt(2, 'success')] },
      connection: ['last_run_failed'],
      link: ['last_run_failed'],
    },
    {
      what: 'the newest finished attempt failed, another is running',
      input: { attempts: [attempt(4, 'running', { finishedAt: null }), attempt(3, 'failed'), attempt(2, 'success')] },
      connection: ['last_run_failed'],
      link: ['last_run_failed'],
    },
    {
      what: 'an older failure followed by a success',
      input: { attempts: [attempt(3, 'success'), attempt(2, 'failed'), attempt(1, 'failed')] },
      connection: [],
      link: [],
    },
    {
      what: 'an older failure followed by a partial run',
      input: { attempts: [attempt(3, 'partial'), attempt(2, 'failed')] },
      connection: [],
      link: [],
    },
    {
      what: 'a run awaiting approval',
      input: { attempts: [attempt(3, 'awaiting_approval'), attempt(2, 'success')] },
      connection: ['awaiting_approval'],
      link: ['awaiting_approval'],
    },
    {
      what: 'quarantined after repeated failures',
      input: { quarantinedAt: ago(2 * HOUR), consecutiveFailures: 3, attempts: [attempt(5, 'failed'), attempt(4, 'failed'), attempt(3, 'failed')] },
      connection: ['last_run_failed', 'quarantined'],
      link: ['last_run_failed', 'quarantined'],
    },
    { what: 'a duplicate pending at connection level only', input: { pendingDuplicates: 2 }, connection: ['duplicate_pending'], link: [] },
    {
      what: 'a duplicate pending at link level',
      input: { pendingDuplicates: 1, links: [link(1, { pendingDuplicate: true })] },
      connection: ['duplicate_pending'],
      link: ['duplicate_pending'],
    },
    { what: 'conflicts pending at connection level only', input: { conflicts: 4 }, connection: ['conflicts_pending'], link: [] },
    {
      what: 'conflicts pending at link level',
      input: { conflicts: 2, links: [link(1, { conflicts: 2 })] },
      connection: ['conflicts_pending'],
      link: ['conflicts_pending'],
    },
    { what: 'certificate expiring in 30 days', input: { certificate: cert(ahead(30 * DAY)) }, connection: ['cert_expiring'], link: [] },
    { what: 'certificate expiring in 1 day', input: { certificate: cert(ahead(DAY)) }, connection: ['cert_expiring'], link: [] },
    { what: 'certificate valid for 31 more days', input: { certificate: cert(ahead(31 * DAY)) }, connection: [], link: [] },
    { what: 'certificate expired', input: { certificate: cert(ago(DAY)) }, connection: ['cert_expired'], link: [] },
    { what: 'certificate untrusted', input: { certificate: cert(ahead(365 * DAY), false, 'self-signed certificate') }, connection: ['cert_untrusted'], link: [] },
  ])('$what', ({ input, connection: connectionCodes, link: linkCodes }) => {
    const h = evaluateConnection(connection(input), NOW);
    expect(codes(h.reasons)).toEqual([...connectionCodes].sort());
    expect(h.status).toBe(connectionCodes.length ? 'red' : 'green');
    expect(h.links).toHaveLength(1);
    expect(codes(h.links[0]!.reasons)).toEqual([...linkCodes].sort());
    expect(h.links[0]!.status).toBe(linkCodes.length ? 'red' : 'green');
  });

  it.each<{ what: string; input: Partial<ConnectionHealthInput>; reason: HealthReason }>([
    { what: 'stale', input: { lastSuccessAt: ago(3 * DAY) }, reason: { code: 'stale', lastSyncAt: ago(3 * DAY), limitMs: STALE_AFTER } },
    { what: 'last_run_failed', input: { attempts: [attempt(9, 'dry_run'), attempt(8, 'failed', { error: 'LDAP bind refused' })] }, reason: { code: 'last_run_failed', runId: 8, error: 'LDAP bind refused' } },
    { what: 'awaiting_approval', input: { attempts: [attempt(7, 'awaiting_approval')] }, reason: { code: 'awaiting_approval', runId: 7 } },
    { what: 'quarantined', input: { quarantinedAt: ago(HOUR), consecutiveFailures: 4 }, reason: { code: 'quarantined', since: ago(HOUR), failures: 4 } },
    { what: 'duplicate_pending', input: { pendingDuplicates: 3 }, reason: { code: 'duplicate_pending', count: 3 } },
    { what: 'conflicts_pending', input: { conflicts: 5 }, reason: { code: 'conflicts_pending', count: 5 } },
    { what: 'cert_expiring', input: { certificate: cert(ahead(10 * DAY)) }, reason: { code: 'cert_expiring', validTo: ahead(10 * DAY), days: 10 } },
    { what: 'cert_expired', input: { certificate: cert(ago(2 * DAY)) }, reason: { code: 'cert_expired', validTo: ago(2 * DAY) } },
    { what: 'cert_untrusted', input: { certificate: cert(ahead(90 * DAY), false, 'unknown CA') }, reason: { code: 'cert_untrusted', detail: 'unknown CA' } },
  ])('$what carries its details', ({ input, reason }) => {
    expect(evaluateConnection(connection(input), NOW).reasons).toContainEqual(reason);
  });

  it.each<{ pendingDuplicate: boolean; conflicts: number; reason: HealthReason }>([
    { pendingDuplicate: true, conflicts: 0, reason: { code: 'duplicate_pending', count: 1 } },
    { pendingDuplicate: false, conflicts: 3, reason: { code: 'conflicts_pending', count: 3 } },
  ])('$reason.code on one link: that link only, with its own count', ({ pendingDuplicate, conflicts, reason }) => {
    const h = evaluateConnection(connection({ pendingDuplicates: 5, conflicts: 9, links: [link(1, { pendingDuplicate, conflicts }), link(2)] }), NOW);
    const byId = new Map(h.links.map((l) => [l.id, l]));
    expect(byId.get(1)!.reasons).toEqual([reason]);
    expect(byId.get(2)!.reasons).toEqual([]);
  });
});

// ---- SSL ---------------------------------------------------------------------------------------

describe('sslOf', () => {
  it.each<{ what: string; certificate: ConnectionHealthInput['certificate']; state: string; code: HealthCode | null }>([
    { what: 'no certificate (plain LDAP, Entra)', certificate: null, state: 'none', code: null },
    { what: 'valid for a year', certificate: cert(ahead(365 * DAY)), state: 'ok', code: null },
    { what: 'valid for 31 days', certificate: cert(ahead(31 * DAY)), state: 'ok', code: null },
    { what: 'valid for 30 days and 23 hours (30 whole days)', certificate: cert(ahead(31 * DAY - HOUR)), state: 'expiring', code: 'cert_expiring' },
    { what: 'valid for 30 days', certificate: cert(ahead(30 * DAY)), state: 'expiring', code: 'cert_expiring' },
    { what: 'valid for one more minute', certificate: cert(ahead(MINUTE)), state: 'expiring', code: 'cert_expiring' },
    { what: 'expiring right now', certificate: cert(NOW), state: 'expired', code: 'cert_expired' },
    { what: 'expired yesterday', certificate: cert(ago(DAY)), state: 'expired', code: 'cert_expired' },
    { what: 'untrusted, valid for a year', certificate: cert(ahead(365 * DAY), false, 'self-signed'), state: 'untrusted', code: 'cert_untrusted' },
    { what: 'untrusted and expiring', certificate: cert(ahead(5 * DAY), false, null), state: 'untrusted', code: 'cert_untrusted' },
    { what: 'untrusted and expired', certificate: cert(ago(DAY), false, 'self-signed'), state: 'expired', code: 'cert_expired' },
  ])('$what → $state', ({ certificate, state, code }) => {
    const ssl = sslOf(certificate, NOW);
    expect(ssl.state).toBe(state);
    expect(ssl.reason?.code ?? null).toBe(code);
    expect(ssl.validTo).toEqual(certificate ? new Date(certificate.validTo) : null);
    expect(evaluateConnection(connection({ certificate }), NOW).ssl).toEqual({ state, validTo: ssl.validTo });
  });

  it('counts whole days left', () => {
    expect(sslOf(cert(ahead(12 * DAY + 23 * HOUR)), NOW).reason).toEqual({ code: 'cert_expiring', validTo: ahead(12 * DAY + 23 * HOUR), days: 12 });
  });
});

// ---- a link's last sync ------------------------------------------------------------------------

describe("a link's last sync", () => {
  it.each<{ what: string; lastSuccessAt: Date | null; link: Partial<LinkHealthInput>; lastSyncAt: Date | null; codes: HealthCode[] }>([
    { what: 'a full success after the link was created', lastSuccessAt: ago(HOUR), link: { createdAt: ago(DAY) }, lastSyncAt: ago(HOUR), codes: [] },
    { what: 'a full success at the very moment the link was created', lastSuccessAt: ago(HOUR), link: { createdAt: ago(HOUR) }, lastSyncAt: ago(HOUR), codes: [] },
    { what: 'its own sync, newer than the full success', lastSuccessAt: ago(5 * HOUR), link: { createdAt: ago(DAY), lastSyncedAt: ago(HOUR) }, lastSyncAt: ago(HOUR), codes: [] },
    { what: 'the full success, newer than its own sync', lastSuccessAt: ago(HOUR), link: { createdAt: ago(DAY), lastSyncedAt: ago(5 * HOUR) }, lastSyncAt: ago(HOUR), codes: [] },
    { what: 'created after the last full success, never synced alone', lastSuccessAt: ago(5 * HOUR), link: { createdAt: ago(HOUR) }, lastSyncAt: null, codes: ['never_synced'] },
    { what: 'created after the last full success, then synced alone', lastSuccessAt: ago(5 * HOUR), link: { createdAt: ago(2 * HOUR), lastSyncedAt: ago(HOUR) }, lastSyncAt: ago(HOUR), codes: [] },
    { what: 'no full success ever, synced alone', lastSuccessAt: null, link: { createdAt: ago(2 * HOUR), lastSyncedAt: ago(HOUR) }, lastSyncAt: ago(HOUR), codes: [] },
    { what: 'created after the last full success, its own sync stale', lastSuccessAt: ago(HOUR), link: { createdAt: ago(30 * MINUTE), lastSyncedAt: ago(3 * DAY) }, lastSyncAt: ago(3 * DAY), codes: ['stale'] },
    { what: 'both the full success and its own sync stale', lastSuccessAt: ago(4 * DAY), link: { createdAt: ago(10 * DAY), lastSyncedAt: ago(3 * DAY) }, lastSyncAt: ago(3 * DAY), codes: ['stale'] },
    { what: 'a stale full success rescued by a fresh own sync', lastSuccessAt: ago(4 * DAY), link: { createdAt: ago(10 * DAY), lastSyncedAt: ago(HOUR) }, lastSyncAt: ago(HOUR), codes: [] },
  ])('$what', ({ lastSuccessAt, link: fields, lastSyncAt, codes: expected }) => {
    const h = evaluateConnection(connection({ lastSuccessAt, links: [link(1, fields)] }), NOW);
    const l = h.links[0]!;
    expect(l.lastSyncAt).toEqual(lastSyncAt);
    expect(codes(l.reasons)).toEqual(expected);
    expect(l.status).toBe(expected.length ? 'red' : 'green');
  });

  it('a stale link carries its own last sync and the limit', () => {
    const h = evaluateConnection(connection({ lastSuccessAt: ago(HOUR), links: [link(1, { createdAt: ago(30 * MINUTE), lastSyncedAt: ago(3 * DAY) })] }), NOW);
    expect(h.links[0]!.reasons).toEqual([{ code: 'stale', lastSyncAt: ago(3 * DAY), limitMs: STALE_AFTER }]);
  });

  it('the connection stays green while a newly created link is never synced', () => {
    const h = evaluateConnection(connection({ lastSuccessAt: ago(5 * HOUR), links: [link(1), link(2, { createdAt: ago(HOUR) })] }), NOW);
    expect(h.status).toBe('green');
    expect(h.lastSyncAt).toEqual(ago(5 * HOUR));
    expect(h.links.map((l) => [l.id, l.status, codes(l.reasons)])).toEqual([
      [2, 'red', ['never_synced']],
      [1, 'green', []],
    ]);
  });
});

// ---- connection-wide causes --------------------------------------------------------------------

describe('connection-wide causes appear on every link', () => {
  const links = [link(1), link(2, { conflicts: 1 }), link(3, { pendingDuplicate: true }), link(4, { createdAt: ago(MINUTE) })];
  it.each<{ code: HealthCode; input: Partial<ConnectionHealthInput> }>([
    { code: 'disabled', input: { enabled: false } },
    { code: 'no_schedule', input: { hasSchedule: false } },
    { code: 'last_run_failed', input: { attempts: [attempt(3, 'failed')] } },
    { code: 'awaiting_approval', input: { attempts: [attempt(3, 'awaiting_approval')] } },
    { code: 'quarantined', input: { quarantinedAt: ago(HOUR), consecutiveFailures: 3 } },
  ])('$code', ({ code, input }) => {
    const h = evaluateConnection(connection({ ...input, links }), NOW);
    expect(h.reasons.map((r) => r.code)).toContain(code);
    expect(h.links).toHaveLength(4);
    for (const l of h.links) {
      expect(l.reasons.map((r) => r.code)).toContain(code);
      expect(l.status).toBe('red');
    }
  });

  it.each<{ code: HealthCode; input: Partial<ConnectionHealthInput> }>([
    { code: 'cert_expired', input: { certificate: cert(ago(DAY)) } },
    { code: 'cert_expiring', input: { certificate: cert(ahead(DAY)) } },
    { code: 'cert_untrusted', input: { certificate: cert(ahead(365 * DAY), false) } },
    { code: 'conflicts_pending', input: { conflicts: 7 } },
    { code: 'duplicate_pending', input: { pendingDuplicates: 7 } },
  ])('$code stays on the connection and on the links it concerns', ({ code, input }) => {
    const h = evaluateConnection(connection({ ...input, links: [link(1)] }), NOW);
    expect(h.reasons.map((r) => r.code)).toEqual([code]);
    expect(h.links[0]!.reasons).toEqual([]);
  });
});

// ---- ordering ----------------------------------------------------------------------------------

describe('red before green', () => {
  it('sorts connections red first, then by name', () => {
    const health = evaluateHealth(
      [
        connection({ name: 'charlie' }),
        connection({ name: 'delta', enabled: false }),
        connection({ name: 'alpha' }),
        connection({ name: 'bravo', attempts: [attempt(3, 'failed')] }),
      ],
      NOW,
    );
    expect(health.map((c) => [c.name, c.status])).toEqual([
      ['bravo', 'red'],
      ['delta', 'red'],
      ['alpha', 'green'],
      ['charlie', 'green'],
    ]);
  });

  it('sorts links red first, then by name', () => {
    const h = evaluateConnection(
      connection({
        links: [
          link(1, { name: 'sales' }),
          link(2, { name: 'admins', conflicts: 2 }),
          link(3, { name: 'engineering' }),
          link(4, { name: 'finance', pendingDuplicate: true }),
          link(5, { name: 'backup', createdAt: ago(MINUTE) }),
        ],
      }),
      NOW,
    );
    expect(h.links.map((l) => [l.name, l.status])).toEqual([
      ['admins', 'red'],
      ['backup', 'red'],
      ['finance', 'red'],
      ['engineering', 'green'],
      ['sales', 'green'],
    ]);
  });

  it('returns nothing for no connections', () => {
    expect(evaluateHealth([], NOW)).toEqual([]);
  });
});

// ---- what the connection page shows ------------------------------------------------------------

describe('next run and last attempts', () => {
  it.each([
    { what: 'enabled and scheduled', enabled: true, hasSchedule: true, shown: true },
    { what: 'disabled', enabled: false, hasSchedule: true, shown: false },
    { what: 'unscheduled', enabled: true, hasSchedule: false, shown: false },
    { what: 'disabled and unscheduled', enabled: false, hasSchedule: false, shown: false },
  ])('nextRunAt when $what', ({ enabled, hasSchedule, shown }) => {
    const nextRunAt = ahead(3 * HOUR);
    const h = evaluateConnection(connection({ enabled, hasSchedule, nextRunAt, links: [link(1), link(2)] }), NOW);
    const expected = shown ? nextRunAt : null;
    expect(h.nextRunAt).toEqual(expected);
    expect(h.links.map((l) => l.nextRunAt)).toEqual([expected, expected]);
  });

  it.each([
    { count: 0, shown: 0 },
    { count: 3, shown: 3 },
    { count: 10, shown: 10 },
    { count: 11, shown: 10 },
    { count: 25, shown: 10 },
  ])('lastAttempts of $count attempts shows the newest $shown', ({ count, shown }) => {
    const attempts = Array.from({ length: count }, (_, k) => attempt(count - k, 'success'));
    const h = evaluateConnection(connection({ attempts }), NOW);
    expect(h.lastAttempts).toEqual(attempts.slice(0, shown));
    expect(h.lastAttempts.map((a) => a.id)).toEqual(Array.from({ length: shown }, (_, k) => count - k));
  });

  it('passes the counters, kind and last sync through', () => {
    const h = evaluateConnection(connection({ name: 'entra-prod', kind: 'entra', syncedUsers: 1234, conflicts: 3, lastSuccessAt: ago(2 * HOUR), links: [link(7, { members: 55, kind: 'security' })] }), NOW);
    expect(h).toMatchObject({ name: 'entra-prod', kind: 'entra', enabled: true, syncedUsers: 1234, conflicts: 3, lastSyncAt: ago(2 * HOUR) });
    expect(h.links[0]).toMatchObject({ id: 7, connection: 'entra-prod', name: 'group-7', kind: 'security', members: 55, dn: 'cn=group-7,ou=groups,dc=example,dc=org' });
  });
});

// ---- paused ------------------------------------------------------------------------------------

describe('a paused connection', () => {
  const paused = { since: ago(3 * DAY), by: 'alice' };

  it('is red with the pause (since, by) on the connection and every link, and has no next run', () => {
    const h = evaluateConnection(connection({ paused, links: [link(1), link(2)] }), NOW);
    expect(h.status).toBe('red');
    expect(h.reasons).toContainEqual({ code: 'paused', since: paused.since, by: 'alice' });
    expect(h.links.map((l) => [l.status, codes(l.reasons)])).toEqual([
      ['red', ['paused']],
      ['red', ['paused']],
    ]);
    expect(h.nextRunAt).toBeNull();
  });

  it('is not stale while paused (the pause is the reason; staleness would alert)', () => {
    const h = evaluateConnection(connection({ paused, lastSuccessAt: ago(10 * DAY) }), NOW);
    expect(codes(h.reasons)).toEqual(['paused']);
  });

  it('turns green again once resumed', () => {
    expect(evaluateConnection(connection({ paused: null }), NOW).status).toBe('green');
  });
});

// ---- describeReason ----------------------------------------------------------------------------

describe('describeReason', () => {
  // A Record over HealthCode: the type checker fails this file when a code is added without a sample.
  const samples: Record<HealthCode, HealthReason> = {
    disabled: { code: 'disabled' },
    paused: { code: 'paused', since: new Date('2026-06-15T09:00:00Z'), by: 'alice' },
    no_schedule: { code: 'no_schedule' },
    never_synced: { code: 'never_synced' },
    stale: { code: 'stale', lastSyncAt: new Date('2026-06-12T02:00:00Z'), limitMs: STALE_AFTER },
    last_run_failed: { code: 'last_run_failed', runId: 41, error: 'LDAP bind refused' },
    awaiting_approval: { code: 'awaiting_approval', runId: 42 },
    quarantined: { code: 'quarantined', since: new Date('2026-06-15T09:00:00Z'), failures: 3 },
    duplicate_pending: { code: 'duplicate_pending', count: 2 },
    conflicts_pending: { code: 'conflicts_pending', count: 5 },
    cert_expiring: { code: 'cert_expiring', validTo: new Date('2026-07-01T00:00:00Z'), days: 15 },
    cert_expired: { code: 'cert_expired', validTo: new Date('2026-06-01T00:00:00Z') },
    cert_untrusted: { code: 'cert_untrusted', detail: 'self-signed certificate' },
  };

  it('has a sample for each code, keyed by its code', () => {
    for (const [code, reason] of Object.entries(samples)) expect(reason.code).toBe(code);
  });

  it.each(Object.values(samples))('$code reads as a non-empty sentence', (reason) => {
    const text = describeReason(reason);
    expect(typeof text).toBe('string');
    expect(text.trim()).toBe(text);
    expect(text.length).toBeGreaterThan(5);
    expect(text).toMatch(/[a-z]/);
    expect(text).not.toMatch(/undefined|null|NaN|\[object/);
  });

  it('says something different for each code', () => {
    const texts = Object.values(samples).map(describeReason);
    expect(new Set(texts).size).toBe(texts.length);
  });

  it.each<{ reason: HealthReason; includes: string[] }>([
    { reason: samples.stale, includes: ['2026-06-12T02:00:00.000Z', 'older than 48 h'] },
    { reason: { code: 'stale', lastSyncAt: new Date('2026-06-12T02:00:00Z'), limitMs: 30 * 60_000 }, includes: ['older than 30 min'] },
    { reason: { code: 'stale', lastSyncAt: new Date('2026-06-12T02:00:00Z'), limitMs: 90 * 60_000 }, includes: ['older than 1 h 30 min'] },
    { reason: { code: 'stale', lastSyncAt: new Date('2026-06-12T02:00:00Z'), limitMs: 14 * 86_400_000 }, includes: ['older than 14 days'] },
    { reason: { code: 'stale', lastSyncAt: new Date('2026-06-12T02:00:00Z'), limitMs: 7 * 86_400_000 + 12 * 3_600_000 }, includes: ['older than 7 days 12 h'] },
    { reason: samples.last_run_failed, includes: ['#41', 'LDAP bind refused'] },
    { reason: { code: 'last_run_failed', runId: 41, error: null }, includes: ['#41', 'failed'] },
    { reason: samples.awaiting_approval, includes: ['#42'] },
    { reason: samples.paused, includes: ['paused since 2026-06-15 09:00 UTC by alice'] },
    { reason: samples.quarantined, includes: ['3', '2026-06-15T09:00:00.000Z'] },
    { reason: samples.duplicate_pending, includes: ['2 duplicate groups'] },
    { reason: { code: 'duplicate_pending', count: 1 }, includes: ['1 duplicate group '] },
    { reason: samples.conflicts_pending, includes: ['5 user conflicts'] },
    { reason: { code: 'conflicts_pending', count: 1 }, includes: ['1 user conflict '] },
    { reason: samples.cert_expiring, includes: ['15 days', '2026-07-01'] },
    { reason: samples.cert_expired, includes: ['2026-06-01'] },
    { reason: samples.cert_untrusted, includes: ['self-signed certificate'] },
    { reason: { code: 'cert_untrusted', detail: null }, includes: ['not trusted'] },
  ])('$reason.code names its details', ({ reason, includes }) => {
    const text = describeReason(reason);
    for (const part of includes) expect(text).toContain(part);
  });
});
