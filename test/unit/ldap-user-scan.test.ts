import { describe, expect, it } from 'vitest';
import { type EntryAccess, readScope } from '../../src/directory/ldap/read.ts';
import type { RawEntry } from '../../src/directory/ldap/transform.ts';
import { VENDOR_PROFILES } from '../../src/directory/ldap/vendors.ts';

const entry = (dn: string, attrs: Record<string, string[]>): RawEntry => ({ dn, attrs: new Map(Object.entries(attrs).map(([k, v]) => [k.toLowerCase(), v])) });
const user = (uid: string) => entry(`uid=${uid},ou=people,dc=x`, { entryUUID: [`id-${uid}`], uid: [uid], cn: [uid] });

/** A directory of plain entries: one linked group, users under ou=people; what each search asked for. */
function directory(members: string[]): { access: EntryAccess; asked: string[][] } {
  const asked: string[][] = [];
  const group = entry('cn=app-1,ou=groups,dc=x', { objectClass: ['groupOfNames'], entryUUID: ['id-g'], cn: ['app-1'], member: members });
  const users = ['a', 'b', 'c', 'd'].map(user);
  const access: EntryAccess = {
    async *search(base, _filter, attributes) {
      asked.push([...attributes]);
      yield base.startsWith('ou=people') ? users : [group];
    },
    async readEntry() {
      return null;
    },
  };
  return { access, asked };
}

describe('the user scan', () => {
  it('finds members spelled as their entry and spelled otherwise (case, spaces), and asks users for no objectClass', async () => {
    const { access, asked } = directory(['uid=a,ou=people,dc=x', 'UID=b, OU=People,DC=X', 'uid=c,ou=people,dc=x', 'uid=gone,ou=people,dc=x']);
    const p = VENDOR_PROFILES.openldap;
    const read = await readScope(access, { groupFilter: '(cn=app-*)', groupRefs: [] }, { profile: p, userBase: 'ou=people,dc=x', userFilter: p.userFilter, groupBase: 'ou=groups,dc=x', scanThreshold: 0 });
    expect(read.stats.scanned).toBe(true);
    expect(read.users.map((u) => u.id).sort()).toEqual(['id-a', 'id-b', 'id-c']);
    expect(read.groups[0]!.memberIds.length).toBe(3);
    expect(read.stats.danglingMembers).toBe(1);
    expect(asked[1]!.map((a) => a.toLowerCase())).not.toContain('objectclass');
  });
});
