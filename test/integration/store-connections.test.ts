/** store/connections.ts on the real PostgreSQL server: a connection's row, its counts and its removal. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDuplicates, upsertMappings } from '../../src/store/apply.ts';
import type { Store } from '../../src/store/db.ts';
import {
  countConnectionData,
  countLinksAndDuplicates,
  deleteConnection,
  findConnection,
  getConnection,
  lockConnectionRow,
  recordAppliedRun,
  recordCertificate,
} from '../../src/store/connections.ts';
import { insertManualLink, unlinkLink, findLink } from '../../src/store/links.ts';
import { createRun, ensureConnection } from '../../src/store/runs.ts';
import { withTransaction } from '../../src/store/transaction.ts';
import { openTestStore } from '../support/app.ts';

let store: Store;
beforeAll(async () => {
  store = await openTestStore('postgres');
  await ensureConnection(store.db, 'Corp', 'ldap');
  await insertManualLink(store.db, { connection: 'Corp', directoryId: 'a', dn: null, name: 'A', description: null, kind: 'group' }, new Date());
  await insertManualLink(store.db, { connection: 'Corp', directoryId: 'b', dn: null, name: 'B', description: null, kind: 'group' }, new Date());
  await unlinkLink(store.db, (await findLink(store.db, 'Corp', 'b'))!.id, new Date());
  await insertDuplicates(store.db, 'Corp', new Date(), [{ directoryId: 'd', dn: null, name: 'D', localGroupId: null }]);
  await upsertMappings(store.db, 'Corp', [{ directoryId: 'u', dn: null, login: 'u', mail: null, displayName: null, enabled: true, status: 'unmapped', localUserId: null, candidates: [], reason: null, inScope: true }]);
  await createRun(store.db, { connection: 'Corp', trigger: 'manual', actor: 't', dryRun: false, kindFilter: null, groupFilter: [], startedAt: new Date() });
});
afterAll(() => store?.close());

describe('getConnection and findConnection', () => {
  it('by exact name, or by name in any case', async () => {
    expect(await getConnection(store.db, 'Corp')).toMatchObject({ name: 'Corp', kind: 'ldap' });
    expect(await getConnection(store.db, 'corp')).toBeNull();
    expect(await findConnection(store.db, 'CORP')).toMatchObject({ name: 'Corp' });
    expect(await findConnection(store.db, 'nope')).toBeNull();
  });
});

describe('counts', () => {
  it('active links and pending duplicates; everything a removal deletes', async () => {
    expect(await countLinksAndDuplicates(store.db, 'Corp')).toEqual({ linked: 1, duplicates: 1 });
    expect(await countConnectionData(store.db, 'Corp')).toEqual({ links: 2, mappings: 1, runs: 1, duplicates: 1 });
    expect(await countConnectionData(store.db, 'none')).toEqual({ links: 0, mappings: 0, runs: 0, duplicates: 0 });
  });
});

describe('recordCertificate and recordAppliedRun', () => {
  it('keeps the certificate and the vendor when given; a plain connection clears the certificate', async () => {
    const now = new Date('2025-06-01T00:00:00Z');
    const validTo = new Date('2026-01-01T00:00:00Z');
    await recordCertificate(store.db, 'Corp', { subject: 'CN=dc1', issuer: 'CN=CA', validTo, trusted: true, error: null }, 'active-directory', now);
    expect(await getConnection(store.db, 'Corp')).toMatchObject({
      vendor: 'active-directory',
      certificate: { subject: 'CN=dc1', issuer: 'CN=CA', validTo: validTo.toISOString(), trusted: true, error: null },
      certificateCheckedAt: now,
    });
    await recordCertificate(store.db, 'Corp', null, undefined, now);
    expect(await getConnection(store.db, 'Corp')).toMatchObject({ vendor: 'active-directory', certificate: null });
  });

  it('a partial run sets the last run only; a full one the last success too', async () => {
    const partial = new Date('2025-06-02T00:00:00Z');
    const full = new Date('2025-06-03T00:00:00Z');
    await recordAppliedRun(store.db, 'Corp', partial, false);
    expect(await getConnection(store.db, 'Corp')).toMatchObject({ lastRunAt: partial, lastSuccessAt: null });
    await recordAppliedRun(store.db, 'Corp', full, true);
    expect(await getConnection(store.db, 'Corp')).toMatchObject({ lastRunAt: full, lastSuccessAt: full });
  });
});

describe('lockConnectionRow and deleteConnection', () => {
  it('deletes the row under its lock, with its links, mappings, duplicates and runs', async () => {
    await ensureConnection(store.db, 'gone', 'ldap');
    await insertManualLink(store.db, { connection: 'gone', directoryId: 'x', dn: null, name: 'X', description: null, kind: 'group' }, new Date());
    await withTransaction(store.db, async (tx) => {
      await lockConnectionRow(tx, 'gone');
      await deleteConnection(tx, 'gone');
    });
    expect(await getConnection(store.db, 'gone')).toBeNull();
    expect(await countConnectionData(store.db, 'gone')).toEqual({ links: 0, mappings: 0, runs: 0, duplicates: 0 });
    expect(await getConnection(store.db, 'Corp')).not.toBeNull();
  });
});
