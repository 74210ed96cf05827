import { describe, expect, it } from 'vitest';
import { DnSyntaxError, dnKeyOf, dnOfNameAndOptionalUid, refNames, firstRdnValue, isUnder, normalizeDn, parseDn } from '../../src/directory/ldap/dn.ts';
import { mulberry32 } from '../support/random.ts';

/** Each row: spellings of one DN that the directory treats as the same entry, and the key they share. */
describe('normalizeDn: spellings of one DN give one key', () => {
  it.each([
    {
      what: 'letter case of types and values',
      spellings: ['CN=Alice Martin,OU=People,DC=Example,DC=ORG', 'cn=alice martin,ou=people,dc=example,dc=org', 'Cn=ALICE MARTIN,oU=pEOPLE,dC=eXAMPLE,Dc=Org'],
      key: 'cn=alice martin,ou=people,dc=example,dc=org',
    },
    {
      what: 'spaces around "," and "="',
      spellings: ['uid=bob, ou=people, dc=example, dc=org', 'uid = bob , ou = people ,dc=example,  dc=org', '  uid=bob,ou=people,dc=example,dc=org  '],
      key: 'uid=bob,ou=people,dc=example,dc=org',
    },
    {
      what: 'inner runs of spaces (insignificant under caseIgnoreMatch)',
      spellings: ['cn=Alice   Martin,dc=org', 'cn=Alice Martin,dc=org'],
      key: 'cn=alice martin,dc=org',
    },
    {
      what: 'spaces around "+" in a multi-valued RDN',
      spellings: ['cn=John + uid=jdoe,dc=org', 'cn=John+uid=jdoe,dc=org', 'cn = John +uid= jdoe , dc=org'],
      key: 'cn=john+uid=jdoe,dc=org',
    },
    {
      what: 'multi-valued RDN in either order',
      spellings: ['cn=Smith\\, John+uid=jsmith,ou=people,dc=example,dc=org', 'UID=jsmith+CN=Smith\\2C John,ou=people,dc=example,dc=org'],
      key: 'cn=smith\\, john+uid=jsmith,ou=people,dc=example,dc=org',
    },
    {
      what: 'escaped comma, as "\\," as hex and quoted',
      spellings: ['cn=Smith\\, John,dc=org', 'cn=Smith\\2C John,dc=org', 'cn=Smith\\2c John,dc=org', 'cn="Smith, John",dc=org'],
      key: 'cn=smith\\, john,dc=org',
    },
    {
      what: 'escaped plus in a single-valued RDN',
      spellings: ['cn=Plus\\+Minus,dc=org', 'cn=Plus\\2BMinus,dc=org', 'cn="Plus+Minus",dc=org'],
      key: 'cn=plus\\+minus,dc=org',
    },
    {
      what: 'escaped double quotes',
      spellings: ['cn=Robert \\"Bobby\\" Tables,dc=org', 'cn=Robert \\22Bobby\\22 Tables,dc=org', 'cn="Robert \\"Bobby\\" Tables",dc=org'],
      key: 'cn=robert \\"bobby\\" tables,dc=org',
    },
    {
      what: 'escaped backslash',
      spellings: ['cn=Back\\\\Slash,dc=org', 'cn=Back\\5CSlash,dc=org', 'cn=back\\5cslash,dc=org'],
      key: 'cn=back\\\\slash,dc=org',
    },
    {
      what: 'escaped angle brackets (escaped in the key whether or not they were in the input)',
      spellings: ['cn=\\<angle\\>,dc=org', 'cn=\\3Cangle\\3E,dc=org', 'cn=<angle>,dc=org'],
      key: 'cn=\\<angle\\>,dc=org',
    },
    {
      what: 'escaped leading "#" (a string value, not BER)',
      spellings: ['cn=\\#hash,dc=org', 'cn=\\23hash,dc=org', 'cn=\\23HASH,dc=org'],
      key: 'cn=\\#hash,dc=org',
    },
    {
      what: 'escaped leading and trailing spaces (insignificant under caseIgnoreMatch)',
      spellings: ['cn=\\ padded\\ ,dc=org', 'cn=\\20padded\\20,dc=org', 'cn=padded,dc=org', 'cn=  padded  ,dc=org'],
      key: 'cn=padded,dc=org',
    },
    {
      what: 'hex escapes of a two-byte UTF-8 character',
      spellings: ['cn=Jos\\C3\\A9,dc=org', 'cn=jos\\c3\\a9,dc=org', 'cn=José,dc=org', 'cn=JOSÉ,dc=org'],
      key: 'cn=josé,dc=org',
    },
    {
      what: 'hex escapes of a four-byte UTF-8 character next to plain text',
      spellings: ['cn=smile \\F0\\9F\\98\\80 team,dc=org', 'cn=Smile 😀 Team,dc=org'],
      key: 'cn=smile 😀 team,dc=org',
    },
    {
      what: 'unicode values in NFC and NFD forms',
      spellings: [
        'cn=Zoë Ångström,ou=people,dc=example,dc=org'.normalize('NFC'),
        'cn=Zoë Ångström,ou=people,dc=example,dc=org'.normalize('NFD'),
        'cn=ZOË ÅNGSTRÖM,ou=people,dc=example,dc=org'.normalize('NFD'),
        'cn=Zo\\C3\\AB \\C3\\85ngstr\\C3\\B6m,ou=people,dc=example,dc=org',
        'cn=Zoe\\CC\\88 A\\CC\\8Angstro\\CC\\88m,ou=people,dc=example,dc=org',
      ],
      key: 'cn=zoë ångström,ou=people,dc=example,dc=org'.normalize('NFC'),
    },
    {
      what: 'quoted legacy values with spaces around them',
      spellings: ['cn = "Smith, John" , ou=people', 'cn=Smith\\, John,ou=people', 'cn="Smith\\, John",ou=people'],
      key: 'cn=smith\\, john,ou=people',
    },
    {
      what: 'quoted legacy values with hex pairs',
      spellings: ['cn="Jos\\C3\\A9",dc=org', 'cn=José,dc=org'],
      key: 'cn=josé,dc=org',
    },
    {
      what: '";" as an RDN separator (RFC 1779)',
      spellings: ['cn=a;ou=b;dc=org', 'cn=a,ou=b,dc=org', 'cn=a ; ou=b ;dc=org'],
      key: 'cn=a,ou=b,dc=org',
    },
    {
      what: '"#" BER values: hex letter case folded',
      spellings: ['cn=#04024869,dc=org', 'CN=#04024869,DC=ORG', 'cn = #04024869 ,dc=org'],
      key: 'cn=#04024869,dc=org',
    },
    {
      what: 'an empty DN (the root DSE)',
      spellings: ['', '   '],
      key: '',
    },
  ])('$what', ({ spellings, key }) => {
    for (const dn of spellings) expect(normalizeDn(dn), dn).toBe(key);
  });
});

describe('normalizeDn: different DNs give different keys', () => {
  it.each([
    { what: 'escaped comma vs two RDNs', a: 'cn=Smith\\, John,dc=org', b: 'cn=Smith,cn=John,dc=org' },
    { what: 'escaped plus vs multi-valued RDN', a: 'cn=a\\+uid=b,dc=org', b: 'cn=a+uid=b,dc=org' },
    { what: 'BER value vs the string that spells it', a: 'cn=#04024869,dc=org', b: 'cn=\\#04024869,dc=org' },
    { what: 'different BER values', a: 'cn=#04024869', b: 'cn=#04024870' },
    { what: 'an accented letter vs the plain letter', a: 'cn=José', b: 'cn=Jose' },
    { what: 'inner space vs none', a: 'cn=a b', b: 'cn=ab' },
    { what: 'a different type', a: 'cn=alice,dc=org', b: 'uid=alice,dc=org' },
    { what: 'RDN order', a: 'ou=a,ou=b', b: 'ou=b,ou=a' },
  ])('$what', ({ a, b }) => {
    expect(normalizeDn(a)).not.toBe(normalizeDn(b));
  });
});

describe('parseDn', () => {
  it.each([
    {
      dn: 'CN=Smith\\, John+UID=jsmith , OU=People,DC=example',
      rdns: [
        [{ type: 'CN', value: 'Smith, John' }, { type: 'UID', value: 'jsmith' }],
        [{ type: 'OU', value: 'People' }],
        [{ type: 'DC', value: 'example' }],
      ],
    },
    { dn: 'cn=\\ padded\\ ,dc=org', rdns: [[{ type: 'cn', value: ' padded ' }], [{ type: 'dc', value: 'org' }]] },
    { dn: 'cn=trailing   ,dc=org', rdns: [[{ type: 'cn', value: 'trailing' }], [{ type: 'dc', value: 'org' }]] },
    { dn: 'cn=Jos\\C3\\A9', rdns: [[{ type: 'cn', value: 'José' }]] },
    { dn: 'cn=Back\\\\Slash\\3C\\>', rdns: [[{ type: 'cn', value: 'Back\\Slash<>' }]] },
    { dn: 'cn=\\#not-ber', rdns: [[{ type: 'cn', value: '#not-ber' }]] },
    { dn: 'cn="a, \\"b\\" + c"', rdns: [[{ type: 'cn', value: 'a, "b" + c' }]] },
    { dn: 'cn=#04024869', rdns: [[{ type: 'cn', value: '#04024869', ber: true }]] },
    { dn: '2.5.4.3=x,OID.0.9.2342.19200300.100.1.25=org', rdns: [[{ type: '2.5.4.3', value: 'x' }], [{ type: 'OID.0.9.2342.19200300.100.1.25', value: 'org' }]] },
    { dn: '', rdns: [] },
  ])('$dn', ({ dn, rdns }) => {
    expect(parseDn(dn)).toEqual(rdns);
  });
});

describe('invalid DNs throw DnSyntaxError', () => {
  it.each([
    { dn: 'cn', why: 'no "="' },
    { dn: '=alice,dc=org', why: 'empty type' },
    { dn: 'cn=alice,dc', why: 'last RDN without "="' },
    { dn: 'cn=alice,', why: 'ends with ","' },
    { dn: 'cn=alice;', why: 'ends with ";"' },
    { dn: 'cn=alice+', why: 'ends with "+"' },
    { dn: 'cn=alice+,dc=org', why: 'empty AVA after "+"' },
    { dn: 'cn=alice,,dc=org', why: 'empty RDN' },
    { dn: ',dc=org', why: 'starts with ","' },
    { dn: 'cn=a\\', why: 'dangling backslash' },
    { dn: 'cn=a\\zz', why: 'escape of a plain character' },
    { dn: 'cn=a\\4', why: 'half a hex pair' },
    { dn: 'cn="unterminated', why: 'unterminated quoted value' },
    { dn: 'cn="quoted"tail=x', why: 'text after a quoted value' },
    { dn: 'cn=#', why: 'BER value without hex' },
    { dn: 'cn=#123', why: 'BER value with half a hex pair' },
    { dn: 'cn=#zz', why: 'BER value with non-hex' },
    { dn: 'cn=#0402 tail=x', why: 'text after a BER value' },
    { dn: 'c n=alice', why: 'space inside the type' },
    { dn: '1cn=alice', why: 'type neither a name nor an OID' },
    { dn: 'cn=a;;dc=org', why: 'empty RDN between ";"' },
  ])('$dn ($why)', ({ dn }) => {
    expect(() => normalizeDn(dn)).toThrow(DnSyntaxError);
    expect(() => parseDn(dn)).toThrow(DnSyntaxError);
  });

  it('names the DN in the message', () => {
    expect(() => normalizeDn('cn=alice,')).toThrow(/invalid DN "cn=alice,"/);
  });
});

describe('isUnder', () => {
  it.each([
    { dn: 'uid=alice,ou=people,dc=example,dc=org', base: 'dc=example,dc=org', under: true },
    { dn: 'UID=Alice, OU=People, DC=Example, DC=Org', base: 'ou=people,dc=example,dc=org', under: true },
    { dn: 'dc=example,dc=org', base: 'dc=example,dc=org', under: true },
    { dn: 'uid=alice,ou=people,dc=example,dc=org', base: '', under: true },
    { dn: 'dc=example,dc=org', base: 'ou=people,dc=example,dc=org', under: false },
    { dn: 'uid=alice,ou=people2,dc=example,dc=org', base: 'ou=people,dc=example,dc=org', under: false },
    { dn: 'uid=alice,xou=people,dc=example,dc=org', base: 'ou=people,dc=example,dc=org', under: false },
    { dn: 'cn=a\\,dc=org', base: 'dc=org', under: false }, // one RDN whose value is "a,dc=org"
    { dn: 'cn=a\\\\,dc=org', base: 'dc=org', under: true }, // value "a\", then a real separator
    { dn: 'cn=x+uid=y,dc=org', base: 'uid=y,dc=org', under: false },
    { dn: 'cn=x+uid=y,dc=org', base: 'dc=org', under: true },
  ])('$dn under "$base": $under', ({ dn, base, under }) => {
    expect(isUnder(normalizeDn(dn), normalizeDn(base))).toBe(under);
  });
});

describe('firstRdnValue', () => {
  it.each([
    { dn: 'CN=App-Admins,OU=Groups,DC=example,DC=org', value: 'App-Admins' },
    { dn: 'cn=Smith\\, John+uid=jsmith,ou=people', value: 'Smith, John' },
    { dn: 'cn=Jos\\C3\\A9,ou=people', value: 'José' },
    { dn: 'cn="Smith, John",ou=people', value: 'Smith, John' },
    { dn: 'cn=Back\\5CSlash', value: 'Back\\Slash' },
    { dn: '', value: null },
    { dn: 'not a dn', value: null },
    { dn: 'cn=alice,', value: null },
  ])('$dn → $value', ({ dn, value }) => {
    expect(firstRdnValue(dn)).toBe(value);
  });
});

// ---- the fast path and the slow path agree ---------------------------------------------------

const TYPES = ['cn', 'CN', 'ou', 'Ou', 'dc', 'DC', 'uid', 'o', 'l', 'sAMAccountName', '2.5.4.3'];
/** Characters that keep a DN on the fast path: no `\ " + # ;` and no `,` inside values. */
const CHARS = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...'-._@()*/!?&%$[]{}~^|:\'`<>=',
  ' ', ' ', ' ',
  'é', 'Ö', 'Å', 'ë', 'ß', 'ñ', 'Ω', '中', '😀',
  'e\u0301', // NFD é
];

interface Generated {
  readonly simple: string;
  readonly rdns: { type: string; value: string }[];
  /** The same DN spelled so that normalizeDn takes the slow (parseDn) path. */
  readonly slow: string;
}

function hexEscape(ch: string, upper: boolean): string {
  return [...Buffer.from(ch, 'utf8')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).map((s) => (upper ? s.toUpperCase() : s)).join('');
}

function generate(random: () => number): Generated {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const spaces = () => ' '.repeat(random() < 0.7 ? 0 : Math.floor(random() * 3) + 1);
  const count = 1 + Math.floor(random() * 5);
  const rdns: { type: string; value: string }[] = [];
  const simpleParts: string[] = [];
  const slowParts: string[] = [];
  const escapeAt = Math.floor(random() * count);
  for (let k = 0; k < count; k++) {
    const type = pick(TYPES);
    const chars = Array.from({ length: 1 + Math.floor(random() * 12) }, () => pick(CHARS));
    const value = chars.join('');
    rdns.push({ type, value });
    const before = spaces();
    const around = [spaces(), spaces()];
    simpleParts.push(`${before}${type}${around[0]}=${around[1]}${value}`);
    // Slow spelling: one character of one value hex-escaped (or backslash-escaped when special).
    let slowValue = value;
    if (k === escapeAt) {
      const at = Math.floor(random() * chars.length);
      const ch = chars[at]!;
      const escaped = '<>='.includes(ch) && random() < 0.5 ? `\\${ch}` : hexEscape(ch, random() < 0.5);
      slowValue = [...chars.slice(0, at), escaped, ...chars.slice(at + 1)].join('');
    }
    slowParts.push(`${before}${type}${around[0]}=${around[1]}${slowValue}`);
  }
  const simple = simpleParts.join(',');
  // Also use ";" for some separators on the slow spelling.
  const slow = slowParts.map((p, k) => (k === 0 ? p : (random() < 0.3 ? ';' : ',') + p)).join('');
  return { simple, rdns, slow };
}

/** An independent oracle: the comparison key computed from parseDn's output. */
function keyFromParse(dn: string): string {
  const fold = (v: string) => v.normalize('NFC').toLowerCase().trim().replace(/ {2,}/g, ' ');
  const escape = (v: string) =>
    [...v].map((c, k) => (',+"\\<>;='.includes(c) || (k === 0 && (c === '#' || c === ' ')) ? `\\${c}` : c)).join('');
  return parseDn(dn)
    .map((rdn) => rdn.map((p) => `${p.type.toLowerCase()}=${escape(fold(p.value))}`).sort().join('+'))
    .join(',');
}

describe('normalizeDn: fast path and slow path agree (generated DNs)', () => {
  const random = mulberry32(0x5eed);
  const cases = Array.from({ length: 400 }, () => generate(random));

  it('generates DNs that stay on the fast path and others that leave it', () => {
    for (const c of cases) {
      expect(c.simple).toMatch(/^[^\\"+#;]*$/);
      expect(c.slow).toMatch(/[\\;]/);
    }
  });

  it('parseDn reads back every generated type and value (unescaped spaces at the ends dropped)', () => {
    for (const c of cases) {
      const parsed = parseDn(c.simple);
      expect(parsed.map((rdn) => rdn.map((p) => ({ type: p.type, value: p.value }))), c.simple).toEqual(
        c.rdns.map((r) => [{ type: r.type, value: r.value.replace(/^ +| +$/g, '') }]),
      );
    }
  });

  it('normalizeDn(simple) equals the key built from parseDn(simple)', () => {
    for (const c of cases) expect(normalizeDn(c.simple), c.simple).toBe(keyFromParse(c.simple));
  });

  it('normalizeDn(simple) equals normalizeDn of an escaped spelling of the same DN', () => {
    for (const c of cases) expect(normalizeDn(c.slow), `${c.simple}  vs  ${c.slow}`).toBe(normalizeDn(c.simple));
  });

  it('normalizeDn is idempotent', () => {
    for (const c of cases) {
      const key = normalizeDn(c.simple);
      expect(normalizeDn(key), key).toBe(key);
    }
  });
});

describe('dnOfNameAndOptionalUid', () => {
  it.each([
    { value: "uid=x,ou=people,dc=example,dc=org#'0101'B", dn: 'uid=x,ou=people,dc=example,dc=org' },
    { value: "uid=x,dc=org#''B", dn: 'uid=x,dc=org' },
    { value: 'uid=x,dc=org', dn: 'uid=x,dc=org' },
    { what: 'an escaped "#" is part of the last value', value: "cn=a\\#'01'B", dn: "cn=a\\#'01'B" },
    { what: 'an escaped backslash before the "#"', value: "cn=a\\\\#'01'B", dn: 'cn=a\\\\' },
    { what: 'a hex-escaped "#" is part of the value', value: "cn=a\\23'01'B", dn: "cn=a\\23'01'B" },
    { what: 'not a bit string', value: "cn=x,dc=org#'012'B", dn: "cn=x,dc=org#'012'B" },
    { what: 'no closing B', value: "cn=x,dc=org#'01'", dn: "cn=x,dc=org#'01'" },
  ])('$value → $dn', ({ value, dn }) => {
    expect(dnOfNameAndOptionalUid(value)).toBe(dn);
  });

  it('keeps a value whose only "#" starts a BER value', () => {
    expect(dnOfNameAndOptionalUid("cn=#0401'B")).toBe("cn=#0401'B");
  });
});

describe('refNames: a typed reference against a stored object', () => {
  const team = { name: 'Team, Core', dn: 'cn=Team\\2C Core,ou=groups,dc=example,dc=org', directoryId: 'ABC-1' };
  it.each([
    'Team, Core',
    'team, core',
    'abc-1',
    'cn=Team\\, Core,ou=groups,dc=example,dc=org',
    'CN = team\\2c core , OU=Groups,DC=Example,DC=Org',
    'cn="Team, Core",ou=groups,dc=example,dc=org',
  ])('%s names it', (ref) => {
    expect(refNames(ref, team)).toBe(true);
  });
  it.each(['Team', 'cn=Team,ou=groups,dc=example,dc=org', 'cn=Team\\, Core,ou=other,dc=example,dc=org', 'cn=Team\\'])('%s does not', (ref) => {
    expect(refNames(ref, team)).toBe(false);
  });
  it('multi-valued RDNs match in any order', () => {
    expect(refNames('uid=jdoe+cn=Jane,dc=org', { name: 'x', dn: 'cn=Jane+uid=jdoe,dc=org', directoryId: 'y' })).toBe(true);
  });
  it('dnKeyOf is null for a name, an id or something that is not a DN', () => {
    expect([dnKeyOf('alice'), dnKeyOf('0f8fad5b-d9cb-469f-a165-70867728950e'), dnKeyOf('=x')]).toEqual([null, null, null]);
  });
});
