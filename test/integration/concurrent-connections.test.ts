/**
 * Two connections that reach the same people, synced at the same time (two replicas, or one
 * process running both): the outcome must not depend on the timing. Whichever run applies first
 * creates a person's local user; the other maps its directory user to it, as it would have done
 * had it run afterwards — never a second local account with the same match key.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSource } from '../../src/directory/index.ts';
import type { DirectorySource } from '../../src/domain/types.ts';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { FIXTURE_LDIF, type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows } from '../support/store.ts';

/** A source factory whose reads all finish together once `parties` of them have read: every run plans against the store as it was before any of them applied. */
function readTogether(parties: number) {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return (config: Parameters<typeof createSource>[0]): DirectorySource => {
    const source = createSource(config);
    return Object.assign(Object.create(source) as DirectorySource, {
      kind: source.kind,
      async read(...args: Parameters<DirectorySource['read']>) {
        const snapshot = await source.read(...args);
        if (++arrived === parties) release();
        await all;
        return snapshot;
      },
      close: () => source.close(),
      probe: () => source.probe(),
      findGroup: (ref: string) => source.findGroup(ref),
      requestStats: () => source.requestStats?.() ?? { requests: 0, retries: 0 },
    });
  };
}

describe('two connections reaching the same people, synced at once', () => {
  let ldap: SlapdHandle;
  let app: TestApp;

  beforeEach(async () => {
    ldap = await startSlapd({ ldif: [FIXTURE_LDIF.scenarios] });
  });
  afterEach(async () => {
    await app?.close();
    await ldap?.stop();
  });

  it('creates each person once; the other connection maps to that local user', async () => {
    // `hr` reads the same directory but names its groups by entryUUID, so its groups are its own
    // (no duplicates of corp's) while its users are the same people, matched on mail.
    const connections = [ldapConnection(ldap), ldapConnection(ldap, { name: 'hr', attributes: { groupName: 'entryUUID' } })];
    app = await createTestApp('postgres', connections, { createSource: readTogether(2) });
    const [corp, hr] = await Promise.all([
      app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test' }),
      app.engine.sync({ connection: 'hr', trigger: 'manual', actor: 'test' }),
    ]);
    expect([corp.run.status, hr.run.status]).toEqual(['partial', 'partial']); // dave has no mail in either
    const twice = await rows<{ mail: string; n: number }>(app, `select lower(mail) as mail, count(*)::int as n from local_users group by 1 having count(*) > 1`);
    expect(twice).toEqual([]);
    // Every person both connections map is one local user.
    const split = await rows<{ directory_id: string }>(
      app,
      `select a.directory_id from mappings a join mappings b on b.directory_id = a.directory_id and b.connection = 'hr'
       where a.connection = 'corp' and a.status = 'mapped' and b.status = 'mapped' and a.local_user_id <> b.local_user_id`,
    );
    expect(split).toEqual([]);
    const mapped = await rows<{ connection: string; n: number }>(app, `select connection, count(*)::int as n from mappings where status = 'mapped' group by 1 order by 1`);
    expect(mapped[0]!.n).toBeGreaterThan(5);
    expect(mapped.map((m) => m.n)).toEqual([mapped[0]!.n, mapped[0]!.n]);
    // The run that found the people already created says so: it mapped them instead.
    expect(corp.run.usersCreated + hr.run.usersCreated).toBe(mapped[0]!.n);
  });
});
