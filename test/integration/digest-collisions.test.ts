/**
 * Member sets built to collide in a sum of raw FNV-1a hashes, synced through the engine against
 * a real slapd (reported by an outside tester). FNV-1a XORs one UTF-16 unit, then multiplies: two
 * keys that differ in one character whose code units differ only in high bits differ by an amount
 * the later steps only multiply, so key(c) + key(c^x^y) = key(c^x) + key(c^y) whatever the rest of
 * the DN. A group whose members {c, c^x^y} become {c^x, c^y} kept the graph digest's record
 * (read/graph-digest.ts) and its stored member digest (sync/plan/digest.ts) while its
 * memberships changed; the four users being reached through another group, the plain sync found
 * the read unchanged (`sameGraph`) and planned nothing. Hashes are mixed before they are summed now.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestApp, createTestApp, ldapConnection } from '../support/app.ts';
import { canonical } from '../support/plan-state.ts';
import { type SlapdHandle, startSlapd } from '../support/slapd.ts';
import { rows } from '../support/store.ts';

const BASE = 'dc=example,dc=org';
const dnU = (uid: string) => `uid=${uid},ou=people,${BASE}`;
const dnG = (cn: string) => `cn=${cn},ou=groups,${BASE}`;
/** An LDIF line; a value that is not printable ASCII in base64. */
const attr = (name: string, value: string) => (/[^\x20-\x7e]/.test(value) ? `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}` : `${name}: ${value}`);
const person = (uid: string, n: number) => [attr('dn', dnU(uid)), 'objectClass: inetOrgPerson', attr('uid', uid), attr('cn', uid), attr('sn', uid), `mail: c${n}@example.org`].join('\n');
const group = (cn: string, members: readonly string[]) => [attr('dn', dnG(cn)), 'objectClass: groupOfNames', `cn: ${cn}`, ...members.map((m) => attr('member', dnU(m)))].join('\n');

/** Four uids whose differing character's code units are c, c^x, c^y, c^x^y (x, y above 0x7f). */
const COLLIDING = [
  { label: 'latin', uids: ['lui', 'lu\u00e9', 'lu\u0169', 'lu\u01e9'] },
  { label: 'cjk', uids: ['m\u502dx', 'm\u512dx', 'm\u522dx', 'm\u532dx'] },
] as const;

describe.each([{ incremental: false as const }, { incremental: 'detect' as const }])('member sets whose raw hashes sum alike (incremental $incremental)', ({ incremental }) => {
  let ldap: SlapdHandle;
  let app: TestApp;
  const sync = (extra: Record<string, unknown> = {}) => app.engine.sync({ connection: 'corp', trigger: 'manual', actor: 'test', ...extra });

  beforeAll(async () => {
    const entries = COLLIDING.flatMap(({ label, uids }, k) => [
      ...uids.map((uid, i) => person(uid, k * 10 + i)),
      group(`pg-all-${label}`, uids),
      group(`pg-col-${label}`, [uids[0], uids[3]]),
    ]);
    ldap = await startSlapd({ ldif: [entries.join('\n\n')], ...(incremental === 'detect' ? { syncprov: { sessionlog: 1000 } } : {}) });
    app = await createTestApp('postgres', [ldapConnection(ldap, { groups: { filter: '(cn=pg-*)' }, incremental, schedule: null })]);
  });
  afterAll(async () => {
    await app?.close();
    await ldap?.stop();
  });

  it.each(COLLIDING)('$label: a group whose members {c, c^x^y} become {c^x, c^y} is planned and synced', async ({ label, uids }) => {
    await sync();
    expect((await sync()).plan, 'nothing changed: nothing planned').toBeNull();
    await ldap.load(`${attr('dn', dnG(`pg-col-${label}`))}\nchangetype: modify\nreplace: member\n${attr('member', dnU(uids[1]))}\n${attr('member', dnU(uids[2]))}\n`);
    const whole = await sync({ dryRun: true, full: true });
    expect(whole.counts).toMatchObject({ membershipsAdded: 2, membershipsRemoved: 2 });
    const plain = await sync();
    expect(plain.run.stats?.['sameGraph']).toBeUndefined();
    expect(canonical(plain.plan)).toEqual(canonical(whole.plan));
    const members = await rows<{ login: string }>(app, `select u.login from memberships m join local_groups g on g.id = m.group_id join local_users u on u.id = m.user_id where g.name = 'pg-col-${label}' order by 1`);
    expect(members.map((m) => m.login).sort()).toEqual([uids[1], uids[2]].sort());
  });
});
