/** store/incidents.ts on the real PostgreSQL server: one open incident per key, resolution, and the alert outbox claims. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/db.ts';
import {
  approvalDetails,
  claimOpenedAlert,
  claimResolvedAlert,
  claimUpdatedAlert,
  deleteIncidentsOf,
  getIncident,
  insertIncident,
  listChangedIncidents,
  listIncidents,
  listOpenIncidents,
  listUnannouncedResolutions,
  listUnpostedIncidents,
  resolveIncident,
  setIncidentDeliveries,
  updateIncidentDetails,
} from '../../src/store/incidents.ts';
import { createRun, ensureConnection } from '../../src/store/runs.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'corp', 'ldap');
  await ensureConnection(store.db, 'other', 'ldap');
});
afterAll(() => store?.close());

const t = (minute: number) => new Date(Date.UTC(2025, 0, 1, 0, minute));
const ids = (rows: Array<{ id: number }>) => rows.map((r) => r.id);

describe('open, update and resolve', () => {
  it('opens one incident per connection, link and cause; resolving adds the resolution and allows a new one', async () => {
    const key = { connection: 'corp', linkId: null, cause: 'stale' };
    const opened = await insertIncident(store.db, key, { hours: 30 }, null, t(0));
    expect(opened).toMatchObject({ connection: 'corp', linkId: null, cause: 'stale', status: 'open', details: { hours: 30 }, openedAt: t(0), version: 0 });
    expect(await insertIncident(store.db, key, { hours: 31 }, null, t(1))).toBeNull();
    expect(await insertIncident(store.db, { ...key, linkId: 5 }, {}, null, t(1))).not.toBeNull();

    const updated = await updateIncidentDetails(store.db, opened!.id, { hours: 40 });
    expect(updated).toMatchObject({ details: { hours: 40 }, version: 1 });

    const resolved = await resolveIncident(store.db, key, { runId: 9 }, t(2));
    expect(resolved).toMatchObject({ id: opened!.id, status: 'resolved', resolvedAt: t(2), details: { hours: 40, resolution: { runId: 9 } } });
    expect(await resolveIncident(store.db, key, {}, t(3))).toBeNull();
    expect(await updateIncidentDetails(store.db, opened!.id, { hours: 50 })).toBeNull();
    expect(await insertIncident(store.db, key, {}, null, t(4))).not.toBeNull();
  });
});

describe('the alert outbox', () => {
  it('an alert is claimed once for posting, once per new version for updating, once when resolved', async () => {
    const row = (await insertIncident(store.db, { connection: 'other', linkId: null, cause: 'link_red' }, { n: 1 }, null, t(10)))!;
    expect(ids(await listUnpostedIncidents(store.db))).toContain(row.id);
    const claimed = await claimOpenedAlert(store.db, row.id, t(11));
    expect(claimed).toMatchObject({ alertedAt: t(11), alertedVersion: 0 });
    expect(await claimOpenedAlert(store.db, row.id, t(12))).toBeNull();
    expect(ids(await listUnpostedIncidents(store.db))).not.toContain(row.id);

    expect(await claimUpdatedAlert(store.db, row.id)).toBeNull();
    await updateIncidentDetails(store.db, row.id, { n: 2 });
    expect(ids(await listChangedIncidents(store.db))).toEqual([row.id]);
    expect(await claimUpdatedAlert(store.db, row.id)).toMatchObject({ alertedVersion: 1, details: { n: 2 } });
    expect(await claimUpdatedAlert(store.db, row.id)).toBeNull();
    expect(await listChangedIncidents(store.db)).toEqual([]);

    await resolveIncident(store.db, { connection: 'other', linkId: null, cause: 'link_red' }, {}, t(20));
    expect(ids(await listUnannouncedResolutions(store.db))).toContain(row.id);
    expect(await claimResolvedAlert(store.db, row.id, t(21))).toBe(true);
    expect(await claimResolvedAlert(store.db, row.id, t(22))).toBe(false);
    expect(await getIncident(store.db, row.id)).toMatchObject({ resolveAlertedAt: t(21), alertedAt: t(11) });
  });

  it('an incident resolved before it was posted counts as posted at its resolution', async () => {
    const row = (await insertIncident(store.db, { connection: 'other', linkId: 3, cause: 'link_red' }, {}, null, t(30)))!;
    await resolveIncident(store.db, { connection: 'other', linkId: 3, cause: 'link_red' }, {}, t(31));
    expect(await claimResolvedAlert(store.db, row.id, t(32))).toBe(true);
    expect(await getIncident(store.db, row.id)).toMatchObject({ alertedAt: t(31), resolveAlertedAt: t(32) });
    expect(await getIncident(store.db, 999_999)).toBeNull();
  });

  it('records where an alert was posted', async () => {
    const row = (await insertIncident(store.db, { connection: 'corp', linkId: null, cause: 'quarantined' }, {}, null, t(40)))!;
    const deliveries = [{ surface: 'slack', conversationId: 1, messageId: '123.456', at: t(41).toISOString() }];
    await setIncidentDeliveries(store.db, row.id, deliveries);
    expect((await getIncident(store.db, row.id))!.deliveries).toEqual(deliveries);
  });
});

describe('lists and approval details', () => {
  it('open incidents, newest first with a limit, or all; the newest approval details of a run', async () => {
    const open = await listOpenIncidents(store.db);
    expect(open.every((i) => typeof i.id === 'number' && 'details' in i)).toBe(true);
    const all = await listIncidents(store.db, { all: true, limit: 100 });
    const onlyOpen = await listIncidents(store.db, { all: false, limit: 100 });
    expect(ids(onlyOpen).sort()).toEqual(ids(open).sort());
    expect(all.length).toBeGreaterThan(onlyOpen.length);
    expect(ids(all)).toEqual([...ids(all)].sort((a, b) => b - a));
    expect(await listIncidents(store.db, { all: true, limit: 2 })).toHaveLength(2);

    const run = await createRun(store.db, { connection: 'corp', trigger: 'manual', actor: 't', dryRun: false, kindFilter: null, groupFilter: [], startedAt: t(50) });
    expect(await approvalDetails(store.db, run.id)).toBeNull();
    await insertIncident(store.db, { connection: 'corp', linkId: null, cause: 'awaiting_approval' }, { reason: 'too many removals', sample: ['group A'] }, run.id, t(51));
    expect(await approvalDetails(store.db, run.id)).toEqual({ reason: 'too many removals', sample: ['group A'] });
  });

  it("deletes a connection's incidents only", async () => {
    const before = (await listIncidents(store.db, { all: true, limit: 100 })).filter((i) => i.connection === 'other').length;
    await deleteIncidentsOf(store.db, 'corp');
    const left = await listIncidents(store.db, { all: true, limit: 100 });
    expect(left.filter((i) => i.connection === 'corp')).toEqual([]);
    expect(left.filter((i) => i.connection === 'other')).toHaveLength(before);
  });
});
