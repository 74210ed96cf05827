import { describe, expect, it } from 'vitest';
import { DnSyntaxError, normalizeDn } from '../../src/domain/dn.ts';

describe('normalizeDn with the parents it has met', () => {
  it('gives each DN the key of its own spelling, however often its parent was met before', () => {
    for (let k = 0; k < 3; k++) {
      expect(normalizeDn(`uid=u${k},ou=People,dc=Example,dc=org`)).toBe(`uid=u${k},ou=people,dc=example,dc=org`);
      expect(normalizeDn(`UID=U${k} , OU=People,  DC=Example ,dc=ORG`)).toBe(`uid=u${k},ou=people,dc=example,dc=org`);
      expect(normalizeDn(`uid=u${k},ou=people2,dc=example,dc=org`)).not.toBe(normalizeDn(`uid=u${k},ou=people,dc=example,dc=org`));
    }
  });

  it('still refuses a DN whose parent is not a DN, naming the whole DN, after that parent was refused before', () => {
    for (const dn of ['uid=a,ou=people,,dc=org', 'uid=b,ou=people,,dc=org', 'uid=c,ou=people,dc=org,']) {
      expect(() => normalizeDn(dn)).toThrow(DnSyntaxError);
      expect(() => normalizeDn(dn)).toThrow(dn);
    }
  });

  it('keeps a bounded number of parents: keys stay right past the bound', () => {
    for (let k = 0; k < 5000; k++) expect(normalizeDn(`cn=x,ou=O${k},dc=org`)).toBe(`cn=x,ou=o${k},dc=org`);
    expect(normalizeDn('cn=x,ou=O1,dc=org')).toBe('cn=x,ou=o1,dc=org');
  });
});
