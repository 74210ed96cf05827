// A loopback LDAP server that answers like Windows Active Directory where Samba does not:
//
//  - MaxPageSize (default 1000): an unpaged search matching more entries sends the first 1000 and
//    ends with resultCode 4 (sizeLimitExceeded); a paged search (1.2.840.113556.1.4.319) sends pages
//    of min(requested size, MaxPageSize) with an opaque, connection-bound cookie.
//  - MaxValRange (default 1500): a multi-valued attribute with more values comes back as
//    `member;range=0-1499` (and no plain `member`); `member;range=1500-*` returns the next chunk,
//    `member;range=1500-2999`, ..., the last chunk named `member;range=3000-*`. A range whose low end
//    is past the last value of a link attribute (member, memberOf) fails with operationsError unless
//    the request carries LDAP_SERVER_RANGE_RETRIEVAL_NOERR_OID (1.2.840.113556.1.4.1948), as on AD.
//
//  - DirSync (1.2.840.113556.1.4.841), read-only: a pass over every object under the naming context
//    matching the filter, `dirSyncBatch` objects per response (default 1000) with moreResults set
//    while more remain, as AD's maxBytes cut does, and MaxValRange applied as in any search. The
//    fake keeps no change history: the cookie that ends a pass answers "no change" from then on.
//    A base other than the naming context answers insufficientAccessRights, a cookie the fake did
//    not write protocolError.
//
// Plus the AD look: an AD root DSE (capabilities, controls, functional levels, no vendorName),
// objectGUID / objectSid as raw bytes, `(objectCategory=person)` short-name matching, computed
// memberOf, the bitwise matching rules (…803 AND, …804 OR) and LDAP_MATCHING_RULE_IN_CHAIN (…1941),
// case-insensitive attribute names and DNs, AD-style diagnostic messages (ending in a NUL byte, as
// AD's do), anonymous binds allowed but anonymous searches (other than the root DSE) refused.
//
// Written on node:net with ldapts's BerReader/BerWriter rather than the ldapjs server: ldapjs is
// archived, would be one more dependency with its own BER stack, and its server filters returned
// attributes against the requested list and owns the search-done message, which gets in the way of
// sending `member;range=0-1499` for a request of `member`, of stopping after 1000 entries with code 4,
// and of cutting a connection after exactly N entries. Here every byte on the wire is ours.
//
// Read-only: add/modify/delete/modifyDN/compare answer unwillingToPerform (53); extended operations
// (StartTLS included) answer protocolError (2). SASL binds answer authMethodNotSupported (7).
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { BerReader, BerWriter } from 'ldapts';

// ---------------------------------------------------------------------------------------------
// Public types

export type FakeAdValue = string | Buffer | number;

export interface FakeAdEntry {
  /** As AD would print it, e.g. `CN=User 00001,OU=Staff,DC=gs,DC=test`. */
  dn: string;
  /** Attribute names in schema case (that is how they are sent back); values as strings or raw bytes. */
  attributes: Record<string, FakeAdValue | readonly FakeAdValue[]>;
}

export interface StartFakeAdOptions {
  entries: readonly FakeAdEntry[];
  /** The one account that may bind (compared as a DN: case- and space-insensitive). */
  bindDn: string;
  password: string;
  /** Other names the account may bind with, e.g. `svc@gs.test` or `GS\\svc` (compared case-insensitively). */
  bindAliases?: readonly string[];
  /** defaultNamingContext; by default the DC= suffix of the first entry (or DC=gs,DC=test). */
  baseDn?: string;
  /** AD's MaxPageSize policy (default 1000). */
  maxPageSize?: number;
  /** AD's MaxValRange policy (default 1500). */
  maxValRange?: number;
  /** DirSync: objects per response before moreResults (default 1000). */
  dirSyncBatch?: number;
  /** Root DSE dnsHostName (default dc1.<domain>). */
  dnsHostName?: string;
  /** Port on 127.0.0.1 (default 0: any free port). */
  port?: number;
}

export interface FakeAdSearchLogEntry {
  baseDn: string;
  scope: 'base' | 'one' | 'sub' | 'children';
  filter: string;
  attributes: string[];
  sizeLimit: number;
  /** Requested page size when the paged-results control was sent. */
  pageSize: number | null;
  /** Whether the request continued a paged search (non-empty cookie). */
  continued: boolean;
  resultCode: number;
  entriesSent: number;
}

export interface FakeAdServer {
  /** `ldap://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly baseDn: string;
  /** Every search answered (or cut off), oldest first. Clear it with `searchLog.length = 0`. */
  readonly searchLog: FakeAdSearchLogEntry[];
  /** Counters since start. */
  readonly stats: { connections: number; binds: number; searches: number; entriesSent: number; droppedConnections: number };
  /** Replaces the directory. Paged searches in flight keep the result set they started with. */
  setEntries(entries: readonly FakeAdEntry[]): void;
  /**
   * Simulates a directory that goes away mid-read: once a connection has sent `entries` search
   * entries (counted from this call, or from the connection's start if later), its socket is
   * destroyed right after that entry. Applies to every connection until called with null, or to
   * the first one only with `{ once: true }`.
   */
  dropConnectionsAfter(entries: number | null, options?: { once?: boolean }): void;
  /** Closes the listener and every open connection. */
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// LDAP constants

const RC = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  sizeLimitExceeded: 4,
  authMethodNotSupported: 7,
  unavailableCriticalExtension: 12,
  noSuchObject: 32,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  unwillingToPerform: 53,
} as const;

const OP = {
  bindRequest: 0x60,
  bindResponse: 0x61,
  unbindRequest: 0x42,
  searchRequest: 0x63,
  searchResultEntry: 0x64,
  searchResultDone: 0x65,
  modifyRequest: 0x66,
  addRequest: 0x68,
  delRequest: 0x4a,
  modDnRequest: 0x6c,
  compareRequest: 0x6e,
  abandonRequest: 0x50,
  extendedRequest: 0x77,
  extendedResponse: 0x78,
} as const;

const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';
const RANGE_NOERR_OID = '1.2.840.113556.1.4.1948';
const DIRSYNC_OID = '1.2.840.113556.1.4.841';
const DIRSYNC_COOKIE_MAGIC = Buffer.from('GSFAKEDS', 'latin1');
/** The offset written in the cookie that ends a pass: nothing more to send, ever (the fake has no changes). */
const DIRSYNC_PASS_DONE = 0xffffffff;
const MATCH_BIT_AND = '1.2.840.113556.1.4.803';
const MATCH_BIT_OR = '1.2.840.113556.1.4.804';
const MATCH_IN_CHAIN = '1.2.840.113556.1.4.1941';
/** Critical controls AD implements that change nothing this fake serves: accepted and ignored. */
const IGNORABLE_CRITICAL_CONTROLS = new Set([
  '1.2.840.113556.1.4.801', // SD flags
  '1.2.840.113556.1.4.1339', // domain scope
  '1.2.840.113556.1.4.1340', // search options
  RANGE_NOERR_OID,
]);

/** AD's diagnostic messages carry a trailing NUL. */
const adMessage = (text: string) => `${text}\u0000`;
const MSG_BAD_CREDENTIALS = adMessage('80090308: LdapErr: DSID-0C090439, comment: AcceptSecurityContext error, data 52e, v4563');
const MSG_BIND_REQUIRED = adMessage(
  '000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563',
);
const MSG_BAD_CONTROL = adMessage('00000057: LdapErr: DSID-0C090A71, comment: Error processing control, data 0, v4563');
const MSG_RANGE = adMessage('000020EF: SvcErr: DSID-0C09098B, problem 5012 (DIR_ERROR), data 0');
const MSG_READ_ONLY = adMessage('00002035: LdapErr: DSID-0C090F78, comment: This fake directory is read-only, data 0, v4563');
const noSuchObjectMessage = (bestMatch: string) =>
  adMessage(`0000208D: NameErr: DSID-0310028C, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'${bestMatch}'\n`);

/** Attributes holding DNs: compared as DNs in filters. */
const DN_ATTRIBUTES = new Set(['member', 'memberof', 'distinguishedname', 'objectcategory', 'manager', 'managedby', 'directreports']);
/** Link attributes: range retrieval past the end is an error on AD. */
const LINK_ATTRIBUTES = new Set(['member', 'memberof', 'directreports', 'manager', 'managedby']);

/** What AD maps `(objectCategory=<class>)` to: the class's defaultObjectCategory. */
const DEFAULT_OBJECT_CATEGORY: Record<string, string> = {
  person: 'person',
  user: 'person',
  contact: 'person',
  organizationalperson: 'person',
  inetorgperson: 'person',
  group: 'group',
  computer: 'computer',
  organizationalunit: 'organizational-unit',
  container: 'container',
  domaindns: 'domain-dns',
};

// ---------------------------------------------------------------------------------------------
// DNs

/** Splits a DN into [type, value] RDNs (multi-valued RDNs are kept whole), unescaping values. */
function parseDn(dn: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const s = dn.trim();
  if (s === '') return out;
  let type = '';
  let value = '';
  let inValue = false;
  let pendingSpaces = '';
  const push = () => {
    out.push([type.trim().toLowerCase(), value]);
    type = '';
    value = '';
    inValue = false;
    pendingSpaces = '';
  };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (!inValue) {
      if (c === '=') {
        inValue = true;
        while (s[i + 1] === ' ') i++;
      } else type += c;
      continue;
    }
    if (c === '\\' && i + 1 < s.length) {
      const hex = s.slice(i + 1, i + 3);
      value += pendingSpaces;
      pendingSpaces = '';
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        value += String.fromCharCode(Number.parseInt(hex, 16));
        i += 2;
      } else {
        value += s[i + 1];
        i += 1;
      }
      continue;
    }
    if (c === ',' || c === ';') {
      push();
      while (s[i + 1] === ' ') i++;
      continue;
    }
    if (c === ' ') {
      pendingSpaces += c;
      continue;
    }
    value += pendingSpaces + c;
    pendingSpaces = '';
  }
  push();
  return out;
}

/** A comparison key for a DN: RDNs lowercased, separated by \u0001 (so suffix tests are exact). */
export function dnKey(dn: string): string {
  return parseDn(dn)
    .map(([t, v]) => `${t}=${v.toLowerCase()}`)
    .join('\u0001');
}

/** The RDNs of a DN as written (escapes kept), split on unescaped commas. */
function splitDn(dn: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (c === '\\' && i + 1 < dn.length) {
      cur += c + dn[i + 1];
      i++;
    } else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim() !== '' || out.length) out.push(cur.trim());
  return out;
}

/** The DC= suffix of the first entry that has one, spelled as in that entry. */
function inferBaseDn(entries: readonly FakeAdEntry[]): string {
  for (const e of entries) {
    const i = parseDn(e.dn).findIndex(([t]) => t === 'dc');
    if (i >= 0) return splitDn(e.dn).slice(i).join(',');
  }
  return 'DC=gs,DC=test';
}

function parentKey(key: string): string {
  const i = key.indexOf('\u0001');
  return i < 0 ? '' : key.slice(i + 1);
}

// ---------------------------------------------------------------------------------------------
// Directory model

type Value = string | Buffer;

interface StoredAttribute {
  name: string;
  values: Value[];
}

interface StoredEntry {
  dn: string;
  key: string;
  parent: string;
  /** Keyed by lowercased attribute name. */
  attrs: Map<string, StoredAttribute>;
}

interface Directory {
  entries: StoredEntry[];
  byKey: Map<string, StoredEntry>;
  /** Keys of every entry and every ancestor of one (implicit containers exist). */
  known: Set<string>;
  highestUsn: number;
}

function toValues(v: FakeAdValue | readonly FakeAdValue[]): Value[] {
  const list = Array.isArray(v) ? (v as readonly FakeAdValue[]) : [v as FakeAdValue];
  return list.map((x) => (typeof x === 'number' ? String(x) : x));
}

function buildDirectory(input: readonly FakeAdEntry[]): Directory {
  const entries: StoredEntry[] = [];
  const byKey = new Map<string, StoredEntry>();
  const known = new Set<string>();
  let highestUsn = 0;
  for (const e of input) {
    const key = dnKey(e.dn);
    if (byKey.has(key)) throw new Error(`fake AD: duplicate entry ${e.dn}`);
    const attrs = new Map<string, StoredAttribute>();
    for (const [name, raw] of Object.entries(e.attributes)) {
      const values = toValues(raw);
      if (values.length === 0) continue; // AD stores no empty attributes
      const lc = name.toLowerCase();
      if (attrs.has(lc)) throw new Error(`fake AD: attribute ${name} given twice on ${e.dn}`);
      attrs.set(lc, { name, values });
    }
    if (!attrs.has('distinguishedname')) attrs.set('distinguishedname', { name: 'distinguishedName', values: [e.dn] });
    const rdn = parseDn(e.dn)[0];
    if (rdn && !attrs.has('name')) attrs.set('name', { name: 'name', values: [rdn[1]] });
    const usn = Number(attrs.get('usnchanged')?.values[0] ?? 0);
    if (Number.isFinite(usn) && usn > highestUsn) highestUsn = usn;
    const stored: StoredEntry = { dn: e.dn, key, parent: parentKey(key), attrs };
    entries.push(stored);
    byKey.set(key, stored);
    for (let k = key; k !== ''; k = parentKey(k)) known.add(k);
  }
  // memberOf, computed from member (direct memberships), unless the input gave it.
  const memberOf = new Map<string, string[]>();
  for (const group of entries) {
    const members = group.attrs.get('member');
    if (!members) continue;
    for (const m of members.values) {
      const k = dnKey(String(m));
      let list = memberOf.get(k);
      if (!list) memberOf.set(k, (list = []));
      list.push(group.dn);
    }
  }
  for (const [k, groups] of memberOf) {
    const target = byKey.get(k);
    if (target && !target.attrs.has('memberof')) target.attrs.set('memberof', { name: 'memberOf', values: groups });
  }
  return { entries, byKey, known, highestUsn };
}

// ---------------------------------------------------------------------------------------------
// Filters

type Filter =
  | { kind: 'and' | 'or'; filters: Filter[] }
  | { kind: 'not'; filter: Filter }
  | { kind: 'eq' | 'ge' | 'le' | 'approx'; attribute: string; value: Buffer }
  | { kind: 'present'; attribute: string }
  | { kind: 'substrings'; attribute: string; initial: Buffer | null; any: Buffer[]; final: Buffer | null }
  | { kind: 'ext'; attribute: string | null; rule: string | null; value: Buffer; dnAttributes: boolean };

class LdapError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

function readRaw(r: BerReader, tag: number): Buffer {
  const b = r.readString(tag, true);
  if (b === null) throw new LdapError(RC.protocolError, 'truncated element');
  return b;
}

function readText(r: BerReader, tag = 0x04): string {
  return readRaw(r, tag).toString('utf8');
}

function readFilter(r: BerReader): Filter {
  const tag = r.peek();
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      r.readSequence(tag);
      const end = r.offset + r.length;
      const filters: Filter[] = [];
      while (r.offset < end) filters.push(readFilter(r));
      return { kind: tag === 0xa0 ? 'and' : 'or', filters };
    }
    case 0xa2: {
      r.readSequence(tag);
      return { kind: 'not', filter: readFilter(r) };
    }
    case 0xa3:
    case 0xa5:
    case 0xa6:
    case 0xa8: {
      r.readSequence(tag);
      const attribute = readText(r);
      const value = readRaw(r, 0x04);
      const kind = tag === 0xa3 ? 'eq' : tag === 0xa5 ? 'ge' : tag === 0xa6 ? 'le' : 'approx';
      return { kind, attribute, value };
    }
    case 0xa4: {
      r.readSequence(tag);
      const attribute = readText(r);
      r.readSequence(0x30);
      const end = r.offset + r.length;
      let initial: Buffer | null = null;
      let final: Buffer | null = null;
      const any: Buffer[] = [];
      while (r.offset < end) {
        const t = r.peek()!;
        const v = readRaw(r, t);
        if (t === 0x80) initial = v;
        else if (t === 0x81) any.push(v);
        else if (t === 0x82) final = v;
        else throw new LdapError(RC.protocolError, `bad substring tag 0x${t.toString(16)}`);
      }
      return { kind: 'substrings', attribute, initial, any, final };
    }
    case 0x87:
      return { kind: 'present', attribute: readText(r, 0x87) };
    case 0xa9: {
      r.readSequence(tag);
      const end = r.offset + r.length;
      let rule: string | null = null;
      let attribute: string | null = null;
      let value: Buffer = Buffer.alloc(0);
      let dnAttributes = false;
      while (r.offset < end) {
        const t = r.peek()!;
        const v = readRaw(r, t);
        if (t === 0x81) rule = v.toString('utf8');
        else if (t === 0x82) attribute = v.toString('utf8');
        else if (t === 0x83) value = v;
        else if (t === 0x84) dnAttributes = v[0] !== 0;
      }
      return { kind: 'ext', attribute, rule, value, dnAttributes };
    }
    default:
      throw new LdapError(RC.protocolError, `unsupported filter tag 0x${(tag ?? 0).toString(16)}`);
  }
}

function escapeFilterValue(b: Buffer): string {
  let s = '';
  for (const byte of b) {
    const c = String.fromCharCode(byte);
    s += byte < 0x20 || byte > 0x7e || '*()\\'.includes(c) ? `\\${byte.toString(16).padStart(2, '0')}` : c;
  }
  return s;
}

function filterToString(f: Filter): string {
  switch (f.kind) {
    case 'and':
      return `(&${f.filters.map(filterToString).join('')})`;
    case 'or':
      return `(|${f.filters.map(filterToString).join('')})`;
    case 'not':
      return `(!${filterToString(f.filter)})`;
    case 'eq':
      return `(${f.attribute}=${escapeFilterValue(f.value)})`;
    case 'ge':
      return `(${f.attribute}>=${escapeFilterValue(f.value)})`;
    case 'le':
      return `(${f.attribute}<=${escapeFilterValue(f.value)})`;
    case 'approx':
      return `(${f.attribute}~=${escapeFilterValue(f.value)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings':
      return `(${f.attribute}=${f.initial ? escapeFilterValue(f.initial) : ''}*${f.any.map((a) => `${escapeFilterValue(a)}*`).join('')}${f.final ? escapeFilterValue(f.final) : ''})`;
    case 'ext':
      return `(${f.attribute ?? ''}${f.dnAttributes ? ':dn' : ''}${f.rule ? `:${f.rule}` : ''}:=${escapeFilterValue(f.value)})`;
  }
}

interface MatchContext {
  dir: Directory;
}

function valueText(v: Value): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : v;
}

function valuesEqual(attribute: string, stored: Value, asserted: Buffer): boolean {
  if (Buffer.isBuffer(stored)) return stored.equals(asserted);
  const a = asserted.toString('utf8');
  if (DN_ATTRIBUTES.has(attribute)) return dnKey(stored) === dnKey(a);
  return stored.toLowerCase() === a.toLowerCase();
}

function compareOrdered(stored: Value, asserted: Buffer): number {
  const s = valueText(stored);
  const a = asserted.toString('utf8');
  if (/^-?\d+$/.test(s) && /^-?\d+$/.test(a)) {
    const d = BigInt(s) - BigInt(a);
    return d === 0n ? 0 : d > 0n ? 1 : -1;
  }
  const ls = s.toLowerCase();
  const la = a.toLowerCase();
  return ls === la ? 0 : ls > la ? 1 : -1;
}

function transitiveGroups(dir: Directory, start: StoredEntry): Set<string> {
  // keys of every group `start` is a member of, directly or through nesting
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length) {
    const e = queue.shift()!;
    for (const g of e.attrs.get('memberof')?.values ?? []) {
      const k = dnKey(valueText(g));
      if (seen.has(k)) continue;
      seen.add(k);
      const ge = dir.byKey.get(k);
      if (ge) queue.push(ge);
    }
  }
  return seen;
}

function matches(f: Filter, e: StoredEntry, ctx: MatchContext): boolean {
  switch (f.kind) {
    case 'and':
      return f.filters.every((x) => matches(x, e, ctx));
    case 'or':
      return f.filters.some((x) => matches(x, e, ctx));
    case 'not':
      return !matches(f.filter, e, ctx);
    case 'present': {
      const a = f.attribute.toLowerCase();
      return a === 'objectclass' || e.attrs.has(a);
    }
    case 'eq':
    case 'approx': {
      const a = f.attribute.toLowerCase();
      const attr = e.attrs.get(a);
      if (!attr) return false;
      if (a === 'objectcategory') {
        const asserted = f.value.toString('utf8');
        if (!asserted.includes('=')) {
          const wanted = DEFAULT_OBJECT_CATEGORY[asserted.toLowerCase()] ?? asserted.toLowerCase();
          return attr.values.some((v) => (parseDn(valueText(v))[0]?.[1] ?? '').toLowerCase() === wanted);
        }
      }
      return attr.values.some((v) => valuesEqual(a, v, f.value));
    }
    case 'ge':
    case 'le': {
      const attr = e.attrs.get(f.attribute.toLowerCase());
      if (!attr) return false;
      return attr.values.some((v) => {
        const c = compareOrdered(v, f.value);
        return f.kind === 'ge' ? c >= 0 : c <= 0;
      });
    }
    case 'substrings': {
      const attr = e.attrs.get(f.attribute.toLowerCase());
      if (!attr) return false;
      const parts = {
        initial: f.initial?.toString('utf8').toLowerCase() ?? null,
        any: f.any.map((x) => x.toString('utf8').toLowerCase()),
        final: f.final?.toString('utf8').toLowerCase() ?? null,
      };
      return attr.values.some((v) => {
        let s = valueText(v).toLowerCase();
        if (parts.initial !== null) {
          if (!s.startsWith(parts.initial)) return false;
          s = s.slice(parts.initial.length);
        }
        for (const a of parts.any) {
          const i = s.indexOf(a);
          if (i < 0) return false;
          s = s.slice(i + a.length);
        }
        return parts.final === null || s.endsWith(parts.final);
      });
    }
    case 'ext': {
      if (!f.attribute) return false;
      const a = f.attribute.toLowerCase();
      if (f.rule === MATCH_BIT_AND || f.rule === MATCH_BIT_OR) {
        const attr = e.attrs.get(a);
        if (!attr) return false;
        let mask: bigint;
        try {
          mask = BigInt(f.value.toString('utf8'));
        } catch {
          return false;
        }
        return attr.values.some((v) => {
          let n: bigint;
          try {
            n = BigInt(valueText(v));
          } catch {
            return false;
          }
          // AD compares the 32-bit two's complement for negative values (groupType)
          const u = (x: bigint) => BigInt.asUintN(32, x);
          return f.rule === MATCH_BIT_AND ? (u(n) & u(mask)) === u(mask) : (u(n) & u(mask)) !== 0n;
        });
      }
      if (f.rule === MATCH_IN_CHAIN) {
        const target = dnKey(f.value.toString('utf8'));
        if (a === 'memberof') return transitiveGroups(ctx.dir, e).has(target);
        if (a === 'member') {
          const member = ctx.dir.byKey.get(target);
          return member !== undefined && transitiveGroups(ctx.dir, member).has(e.key);
        }
        return false;
      }
      if (f.rule === null) {
        const attr = e.attrs.get(a);
        return attr?.values.some((v) => valuesEqual(a, v, f.value)) ?? false;
      }
      return false; // unknown matching rule: Undefined
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Wire helpers

interface Control {
  oid: string;
  critical: boolean;
  value: Buffer | null;
}

function message(messageId: number, body: (w: BerWriter) => void, controls: readonly Control[] = []): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  body(w);
  if (controls.length) {
    w.startSequence(0xa0);
    for (const c of controls) {
      w.startSequence();
      w.writeString(c.oid);
      if (c.critical) w.writeBoolean(true);
      if (c.value) w.writeBuffer(c.value, 0x04);
      w.endSequence();
    }
    w.endSequence();
  }
  w.endSequence();
  return w.buffer;
}

function ldapResult(messageId: number, tag: number, code: number, diagnostic = '', matchedDn = '', controls: readonly Control[] = []): Buffer {
  return message(
    messageId,
    (w) => {
      w.startSequence(tag);
      w.writeEnumeration(code);
      w.writeString(matchedDn);
      w.writeString(diagnostic);
      w.endSequence();
    },
    controls,
  );
}

function searchEntryMessage(messageId: number, dn: string, attributes: ReadonlyArray<{ name: string; values: readonly Value[] }>): Buffer {
  return message(messageId, (w) => {
    w.startSequence(OP.searchResultEntry);
    w.writeString(dn);
    w.startSequence();
    for (const a of attributes) {
      w.startSequence();
      w.writeString(a.name);
      w.startSequence(0x31);
      for (const v of a.values) {
        if (Buffer.isBuffer(v)) w.writeBuffer(v, 0x04);
        else w.writeString(v);
      }
      w.endSequence();
      w.endSequence();
    }
    w.endSequence();
    w.endSequence();
  });
}

/** DirSync response value: SEQUENCE { moreResults INTEGER, unused INTEGER, cookie OCTET STRING }. */
function dirSyncControl(moreResults: boolean, offset: number): Control {
  const cookie = Buffer.concat([DIRSYNC_COOKIE_MAGIC, Buffer.alloc(4)]);
  cookie.writeUInt32BE(offset, DIRSYNC_COOKIE_MAGIC.length);
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(moreResults ? 1 : 0);
  w.writeInt(0);
  w.writeBuffer(cookie, 0x04);
  w.endSequence();
  return { oid: DIRSYNC_OID, critical: true, value: w.buffer };
}

/** The offset a DirSync cookie of this fake continues from (0 for none); null for a cookie it did not write. */
function dirSyncOffset(value: Buffer | null): number | null {
  const r = new BerReader(value ?? Buffer.alloc(0));
  r.readSequence(0x30);
  r.readInt();
  r.readInt();
  const cookie = readRaw(r, 0x04);
  if (cookie.length === 0) return 0;
  if (cookie.length !== DIRSYNC_COOKIE_MAGIC.length + 4 || !cookie.subarray(0, DIRSYNC_COOKIE_MAGIC.length).equals(DIRSYNC_COOKIE_MAGIC)) return null;
  return cookie.readUInt32BE(DIRSYNC_COOKIE_MAGIC.length);
}

function pagedControl(cookie: Buffer): Control {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(0); // AD sends 0 as the size estimate
  w.writeBuffer(cookie, 0x04);
  w.endSequence();
  return { oid: PAGED_RESULTS_OID, critical: false, value: w.buffer };
}

// ---------------------------------------------------------------------------------------------
// Attribute selection and range retrieval

interface AttributeRequest {
  /** Lowercased base name, `*`, or `1.1`. */
  name: string;
  range: { low: number; high: number | null } | null;
}

const RANGE_OPTION = /^([^;]+);range=(\d+)-(\d+|\*)$/i;

function parseAttributeRequest(raw: string): AttributeRequest {
  const m = RANGE_OPTION.exec(raw.trim());
  if (m) return { name: m[1]!.toLowerCase(), range: { low: Number(m[2]), high: m[3] === '*' ? null : Number(m[3]) } };
  // other options (e.g. ;binary) are ignored, as AD ignores unknown ones
  return { name: raw.trim().split(';')[0]!.toLowerCase(), range: null };
}

function selectAttributes(
  e: StoredEntry,
  requested: readonly AttributeRequest[],
  maxValRange: number,
  rangeNoErr: boolean,
): Array<{ name: string; values: Value[] }> {
  const out: Array<{ name: string; values: Value[] }> = [];
  const wantsAll = requested.length === 0 || requested.some((r) => r.name === '*');
  const explicit = new Map<string, AttributeRequest[]>();
  for (const r of requested) {
    if (r.name === '*' || r.name === '1.1') continue;
    let list = explicit.get(r.name);
    if (!list) explicit.set(r.name, (list = []));
    list.push(r);
  }
  const emit = (attr: StoredAttribute, range: AttributeRequest['range']) => {
    const n = attr.values.length;
    if (range === null) {
      if (n > maxValRange) out.push({ name: `${attr.name};range=0-${maxValRange - 1}`, values: attr.values.slice(0, maxValRange) });
      else out.push({ name: attr.name, values: attr.values });
      return;
    }
    const { low, high } = range;
    if (low >= n) {
      if (LINK_ATTRIBUTES.has(attr.name.toLowerCase()) && !rangeNoErr) throw new LdapError(RC.operationsError, MSG_RANGE);
      return;
    }
    if (high !== null && high < low) throw new LdapError(RC.operationsError, MSG_RANGE);
    const last = n - 1;
    const end = Math.min(high ?? last, last, low + maxValRange - 1);
    out.push({ name: `${attr.name};range=${low}-${end === last ? '*' : end}`, values: attr.values.slice(low, end + 1) });
  };
  for (const [lc, attr] of e.attrs) {
    const reqs = explicit.get(lc);
    if (reqs) for (const r of reqs) emit(attr, r.range);
    else if (wantsAll) emit(attr, null);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Root DSE

const SUPPORTED_CONTROLS = [
  '1.2.840.113556.1.4.319',
  '1.2.840.113556.1.4.801',
  '1.2.840.113556.1.4.473',
  '1.2.840.113556.1.4.528',
  '1.2.840.113556.1.4.417',
  '1.2.840.113556.1.4.619',
  '1.2.840.113556.1.4.841',
  '1.2.840.113556.1.4.529',
  '1.2.840.113556.1.4.805',
  '1.2.840.113556.1.4.521',
  '1.2.840.113556.1.4.970',
  '1.2.840.113556.1.4.1338',
  '1.2.840.113556.1.4.474',
  '1.2.840.113556.1.4.1339',
  '1.2.840.113556.1.4.1340',
  '1.2.840.113556.1.4.1413',
  '2.16.840.1.113730.3.4.9',
  '2.16.840.1.113730.3.4.10',
  '1.2.840.113556.1.4.1504',
  '1.2.840.113556.1.4.1852',
  '1.2.840.113556.1.4.802',
  '1.2.840.113556.1.4.1907',
  '1.2.840.113556.1.4.1948',
  '1.2.840.113556.1.4.1974',
  '1.2.840.113556.1.4.1341',
  '1.2.840.113556.1.4.2026',
  '1.2.840.113556.1.4.2064',
  '1.2.840.113556.1.4.2065',
  '1.2.840.113556.1.4.2066',
  '1.2.840.113556.1.4.2090',
  '1.2.840.113556.1.4.2205',
  '1.2.840.113556.1.4.2204',
  '1.2.840.113556.1.4.2206',
  '1.2.840.113556.1.4.2211',
  '1.2.840.113556.1.4.2239',
  '1.2.840.113556.1.4.2255',
  '1.2.840.113556.1.4.2256',
];
const SUPPORTED_CAPABILITIES = [
  '1.2.840.113556.1.4.800', // LDAP_CAP_ACTIVE_DIRECTORY_OID
  '1.2.840.113556.1.4.1670', // ..._V51_OID
  '1.2.840.113556.1.4.1791', // LDAP_CAP_ACTIVE_DIRECTORY_LDAP_INTEG_OID
  '1.2.840.113556.1.4.1935', // ..._V60_OID
  '1.2.840.113556.1.4.2080', // ..._V61_R2_OID
  '1.2.840.113556.1.4.2237', // ..._W8_OID
];
const LDAP_POLICIES = [
  'MaxPoolThreads',
  'MaxPercentDirSyncRequests',
  'MaxDatagramRecv',
  'MaxReceiveBuffer',
  'InitRecvTimeout',
  'MaxConnections',
  'MaxConnIdleTime',
  'MaxPageSize',
  'MaxBatchReturnMessages',
  'MaxQueryDuration',
  'MaxDirSyncDuration',
  'MaxTempTableSize',
  'MaxResultSetSize',
  'MinResultSets',
  'MaxResultSetsPerConn',
  'MaxNotificationPerConn',
  'MaxValRange',
  'MaxValRangeTransitive',
  'ThreadMemoryLimit',
  'SystemMemoryLimitPercent',
];

function generalizedTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.0Z`;
}

function domainOf(baseDn: string): string {
  return parseDn(baseDn)
    .filter(([t]) => t === 'dc')
    .map(([, v]) => v.toLowerCase())
    .join('.');
}

function rootDseEntry(baseDn: string, dnsHostName: string, highestUsn: number): StoredEntry {
  const config = `CN=Configuration,${baseDn}`;
  const host = dnsHostName.split('.')[0]!.toUpperCase();
  const domain = domainOf(baseDn);
  const server = `CN=${host},CN=Servers,CN=Default-First-Site-Name,CN=Sites,${config}`;
  const attrs: Record<string, Value[]> = {
    currentTime: [generalizedTime(new Date())],
    subschemaSubentry: [`CN=Aggregate,CN=Schema,${config}`],
    dsServiceName: [`CN=NTDS Settings,${server}`],
    namingContexts: [baseDn, config, `CN=Schema,${config}`, `DC=DomainDnsZones,${baseDn}`, `DC=ForestDnsZones,${baseDn}`],
    defaultNamingContext: [baseDn],
    rootDomainNamingContext: [baseDn],
    configurationNamingContext: [config],
    schemaNamingContext: [`CN=Schema,${config}`],
    serverName: [server],
    supportedControl: SUPPORTED_CONTROLS,
    supportedLDAPVersion: ['3', '2'],
    supportedLDAPPolicies: LDAP_POLICIES,
    highestCommittedUSN: [String(highestUsn)],
    supportedSASLMechanisms: ['GSSAPI', 'GSS-SPNEGO', 'EXTERNAL', 'DIGEST-MD5'],
    dnsHostName: [dnsHostName],
    ldapServiceName: [`${domain}:${dnsHostName.split('.')[0]!.toLowerCase()}$@${domain.toUpperCase()}`],
    supportedCapabilities: SUPPORTED_CAPABILITIES,
    isSynchronized: ['TRUE'],
    isGlobalCatalogReady: ['TRUE'],
    domainFunctionality: ['7'],
    forestFunctionality: ['7'],
    domainControllerFunctionality: ['7'],
  };
  const map = new Map<string, StoredAttribute>();
  for (const [name, values] of Object.entries(attrs)) map.set(name.toLowerCase(), { name, values });
  return { dn: '', key: '', parent: '', attrs: map };
}

// ---------------------------------------------------------------------------------------------
// The server

interface PagedState {
  results: StoredEntry[];
  offset: number;
  sent: number;
}

interface Connection {
  socket: Socket;
  buffer: Buffer;
  authenticated: boolean;
  paged: Map<string, PagedState>;
  /** Entries sent since the drop rule was armed. */
  sentSinceArm: number;
  armGeneration: number;
  dead: boolean;
}

interface SearchRequestParsed {
  baseDn: string;
  scope: 'base' | 'one' | 'sub' | 'children';
  sizeLimit: number;
  typesOnly: boolean;
  filter: Filter;
  attributes: string[];
}

function parseControls(r: BerReader, end: number): Control[] {
  const controls: Control[] = [];
  if (r.offset >= end || r.peek() !== 0xa0) return controls;
  r.readSequence(0xa0);
  const cend = r.offset + r.length;
  while (r.offset < cend) {
    r.readSequence(0x30);
    const one = r.offset + r.length;
    const oid = readText(r);
    let critical = false;
    let value: Buffer | null = null;
    if (r.offset < one && r.peek() === 0x01) critical = r.readBoolean() ?? false;
    if (r.offset < one && r.peek() === 0x04) value = readRaw(r, 0x04);
    r.offset = one;
    controls.push({ oid, critical, value });
  }
  return controls;
}

export async function startFakeAd(options: StartFakeAdOptions): Promise<FakeAdServer> {
  const maxPageSize = options.maxPageSize ?? 1000;
  const maxValRange = options.maxValRange ?? 1500;
  const dirSyncBatch = options.dirSyncBatch ?? 1000;
  const baseDn = options.baseDn ?? inferBaseDn(options.entries);
  const dnsHostName = options.dnsHostName ?? `dc1.${domainOf(baseDn) || 'gs.test'}`;
  const bindKey = dnKey(options.bindDn);
  const aliases = new Set((options.bindAliases ?? []).map((a) => a.toLowerCase()));

  let dir = buildDirectory(options.entries);
  const searchLog: FakeAdSearchLogEntry[] = [];
  const stats = { connections: 0, binds: 0, searches: 0, entriesSent: 0, droppedConnections: 0 };
  const connections = new Set<Connection>();
  let drop: { after: number; once: boolean; generation: number } | null = null;
  let generation = 0;

  const send = (c: Connection, buf: Buffer) => {
    if (!c.dead) c.socket.write(buf);
  };

  const kill = (c: Connection) => {
    if (c.dead) return;
    c.dead = true;
    c.socket.destroy();
  };

  function handleBind(c: Connection, id: number, r: BerReader): void {
    stats.binds++;
    r.readInt(); // version
    const name = readText(r);
    const authTag = r.peek();
    if (authTag !== 0x80) {
      c.authenticated = false;
      send(c, ldapResult(id, OP.bindResponse, RC.authMethodNotSupported, adMessage('00002027: LdapErr: DSID-0C09054F, comment: SASL is not offered by this fake, data 0, v4563')));
      return;
    }
    const password = readText(r, 0x80);
    if (password === '') {
      // AD treats a simple bind without a password as anonymous (or unauthenticated): success
      c.authenticated = false;
      send(c, ldapResult(id, OP.bindResponse, RC.success));
      return;
    }
    const nameOk = dnKey(name) === bindKey || aliases.has(name.toLowerCase());
    if (nameOk && password === options.password) {
      c.authenticated = true;
      send(c, ldapResult(id, OP.bindResponse, RC.success));
    } else {
      c.authenticated = false;
      send(c, ldapResult(id, OP.bindResponse, RC.invalidCredentials, MSG_BAD_CREDENTIALS));
    }
  }

  function parseSearch(r: BerReader): SearchRequestParsed {
    const baseDn = readText(r);
    const scopeN = r.readEnumeration();
    r.readEnumeration(); // derefAliases
    const sizeLimit = r.readInt() ?? 0;
    r.readInt(); // timeLimit
    const typesOnly = r.readBoolean() ?? false;
    const filter = readFilter(r);
    const attributes: string[] = [];
    if (r.peek() === 0x30) {
      r.readSequence(0x30);
      const end = r.offset + r.length;
      while (r.offset < end) attributes.push(readText(r));
    }
    const scope = scopeN === 0 ? 'base' : scopeN === 1 ? 'one' : scopeN === 2 ? 'sub' : 'children';
    return { baseDn, scope, sizeLimit, typesOnly, filter, attributes };
  }

  /** Writes entries; returns how many went out before the connection was cut (if it was). */
  function sendEntries(
    c: Connection,
    id: number,
    list: readonly StoredEntry[],
    req: SearchRequestParsed,
    rangeNoErr: boolean,
  ): { sent: number; cut: boolean } {
    const requested = req.attributes.map(parseAttributeRequest);
    // Build every message first: a range error fails the whole search before anything is sent.
    const messages = list.map((e) => {
      const attrs = selectAttributes(e, requested, maxValRange, rangeNoErr);
      return searchEntryMessage(id, e.dn, req.typesOnly ? attrs.map((a) => ({ name: a.name, values: [] })) : attrs);
    });
    let sent = 0;
    c.socket.cork();
    try {
      for (const m of messages) {
        if (c.dead) return { sent, cut: true };
        send(c, m);
        sent++;
        stats.entriesSent++;
        if (drop && c.armGeneration !== drop.generation) {
          c.armGeneration = drop.generation;
          c.sentSinceArm = 0;
        }
        c.sentSinceArm++;
        if (drop && c.sentSinceArm >= drop.after) {
          if (drop.once) drop = null;
          stats.droppedConnections++;
          c.socket.uncork();
          kill(c);
          return { sent, cut: true };
        }
      }
    } finally {
      if (!c.dead) c.socket.uncork();
    }
    return { sent, cut: false };
  }

  function candidates(req: SearchRequestParsed): StoredEntry[] {
    const base = dnKey(req.baseDn);
    const out: StoredEntry[] = [];
    const ctx: MatchContext = { dir };
    const consider = (e: StoredEntry) => {
      if (matches(req.filter, e, ctx)) out.push(e);
    };
    if (req.scope === 'base') {
      const e = dir.byKey.get(base);
      if (e) consider(e);
      return out;
    }
    const suffix = `\u0001${base}`;
    for (const e of dir.entries) {
      if (req.scope === 'one') {
        if (e.parent === base) consider(e);
      } else if (e.key === base) {
        if (req.scope === 'sub') consider(e);
      } else if (e.key.endsWith(suffix)) consider(e);
    }
    return out;
  }

  /** One DirSync response: the next `dirSyncBatch` objects of the pass (always subtree, as AD). */
  function handleDirSync(
    c: Connection,
    id: number,
    req: SearchRequestParsed,
    ctl: Control,
    rangeNoErr: boolean,
    log: FakeAdSearchLogEntry,
    done: (code: number, diagnostic?: string, matched?: string, ctrls?: Control[]) => void,
  ): void {
    if (dnKey(req.baseDn) !== dnKey(baseDn)) {
      done(RC.insufficientAccessRights, adMessage('00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0'));
      return;
    }
    let offset: number | null;
    try {
      offset = dirSyncOffset(ctl.value);
    } catch {
      offset = null;
    }
    if (offset === null) {
      done(RC.protocolError, MSG_BAD_CONTROL);
      return;
    }
    log.continued = offset > 0;
    const results = candidates({ ...req, scope: 'sub' });
    const batch = results.slice(offset, offset + dirSyncBatch);
    const { sent, cut } = sendEntries(c, id, batch, req, rangeNoErr);
    log.entriesSent = sent;
    if (cut) return;
    const next = offset + batch.length;
    // The cookie that ends a pass is "complete" whatever the filter of later requests.
    done(RC.success, '', '', [dirSyncControl(next < results.length, next < results.length ? next : DIRSYNC_PASS_DONE)]);
  }

  function handleSearch(c: Connection, id: number, req: SearchRequestParsed, controls: Control[]): void {
    stats.searches++;
    const log: FakeAdSearchLogEntry = {
      baseDn: req.baseDn,
      scope: req.scope,
      filter: filterToString(req.filter),
      attributes: req.attributes,
      sizeLimit: req.sizeLimit,
      pageSize: null,
      continued: false,
      resultCode: RC.success,
      entriesSent: 0,
    };
    searchLog.push(log);
    const done = (code: number, diagnostic = '', matched = '', ctrls: Control[] = []) => {
      log.resultCode = code;
      send(c, ldapResult(id, OP.searchResultDone, code, diagnostic, matched, ctrls));
    };

    for (const ctl of controls) {
      if (ctl.critical && ctl.oid !== PAGED_RESULTS_OID && ctl.oid !== DIRSYNC_OID && !IGNORABLE_CRITICAL_CONTROLS.has(ctl.oid)) {
        done(RC.unavailableCriticalExtension, adMessage(`00000057: LdapErr: DSID-0C090A71, comment: Error processing control ${ctl.oid}, data 0, v4563`));
        return;
      }
    }
    const rangeNoErr = controls.some((x) => x.oid === RANGE_NOERR_OID);

    // Root DSE: readable without a bind.
    if (req.baseDn.trim() === '' && req.scope === 'base') {
      const dse = rootDseEntry(baseDn, dnsHostName, Math.max(dir.highestUsn, 12000));
      const { sent } = sendEntries(c, id, [dse], req, rangeNoErr);
      log.entriesSent = sent;
      if (!c.dead) done(RC.success);
      return;
    }
    if (!c.authenticated) {
      done(RC.operationsError, MSG_BIND_REQUIRED);
      return;
    }
    const base = dnKey(req.baseDn);
    if (base === '') {
      // no phantom-root searches without the search-options control
      done(RC.noSuchObject, noSuchObjectMessage(''), '');
      return;
    }
    if (!dir.known.has(base)) {
      let best = parentKey(base);
      while (best !== '' && !dir.known.has(best)) best = parentKey(best);
      const bestEntry = dir.byKey.get(best);
      const bestDn = bestEntry?.dn ?? (best === '' ? '' : splitDn(req.baseDn).slice(-best.split('\u0001').length).join(','));
      done(RC.noSuchObject, noSuchObjectMessage(bestDn), bestDn);
      return;
    }

    try {
      const dirSyncCtl = controls.find((x) => x.oid === DIRSYNC_OID);
      if (dirSyncCtl) {
        handleDirSync(c, id, req, dirSyncCtl, rangeNoErr, log, done);
        return;
      }
      const pagedCtl = controls.find((x) => x.oid === PAGED_RESULTS_OID);
      if (pagedCtl) {
        let size = 0;
        let cookie: Buffer = Buffer.alloc(0);
        try {
          const pr = new BerReader(pagedCtl.value ?? Buffer.alloc(0));
          pr.readSequence(0x30);
          size = pr.readInt() ?? 0;
          cookie = readRaw(pr, 0x04);
        } catch {
          done(RC.protocolError, MSG_BAD_CONTROL);
          return;
        }
        log.pageSize = size;
        log.continued = cookie.length > 0;
        let state: PagedState | undefined;
        const cookieKey = cookie.toString('hex');
        if (cookie.length > 0) {
          state = c.paged.get(cookieKey);
          if (!state) {
            done(RC.unwillingToPerform, MSG_BAD_CONTROL);
            return;
          }
          c.paged.delete(cookieKey);
        } else {
          state = { results: candidates(req), offset: 0, sent: 0 };
        }
        if (size <= 0) {
          // size 0 abandons the paged search
          done(RC.success, '', '', [pagedControl(Buffer.alloc(0))]);
          return;
        }
        const pageSize = Math.min(size, maxPageSize);
        let take = Math.min(pageSize, state.results.length - state.offset);
        let limited = false;
        if (req.sizeLimit > 0 && state.sent + take > req.sizeLimit) {
          take = Math.max(0, req.sizeLimit - state.sent);
          limited = true;
        }
        const page = state.results.slice(state.offset, state.offset + take);
        const { sent, cut } = sendEntries(c, id, page, req, rangeNoErr);
        log.entriesSent = sent;
        if (cut) return;
        state.offset += take;
        state.sent += take;
        if (limited) {
          done(RC.sizeLimitExceeded);
          return;
        }
        if (state.offset < state.results.length) {
          const next = randomBytes(16);
          c.paged.set(next.toString('hex'), state);
          done(RC.success, '', '', [pagedControl(next)]);
        } else {
          done(RC.success, '', '', [pagedControl(Buffer.alloc(0))]);
        }
        return;
      }

      const results = candidates(req);
      const limit = Math.min(req.sizeLimit > 0 ? req.sizeLimit : Number.POSITIVE_INFINITY, maxPageSize);
      const over = results.length > limit;
      const { sent, cut } = sendEntries(c, id, over ? results.slice(0, limit) : results, req, rangeNoErr);
      log.entriesSent = sent;
      if (cut) return;
      done(over ? RC.sizeLimitExceeded : RC.success);
    } catch (e) {
      if (e instanceof LdapError) done(e.code, e.message);
      else throw e;
    }
  }

  function handleMessage(c: Connection, msg: Buffer): void {
    const r = new BerReader(msg);
    r.readSequence(0x30);
    const end = r.offset + r.length;
    const id = r.readInt() ?? 0;
    const tag = r.peek();
    if (tag === null) throw new LdapError(RC.protocolError, 'empty message');

    if (tag === OP.unbindRequest) {
      c.socket.end();
      return;
    }
    if (tag === OP.abandonRequest || tag === OP.delRequest) {
      readRaw(r, tag);
      if (tag === OP.delRequest) send(c, ldapResult(id, 0x6b, RC.unwillingToPerform, MSG_READ_ONLY));
      return;
    }
    r.readSequence(tag);
    const opEnd = r.offset + r.length;
    switch (tag) {
      case OP.bindRequest:
        handleBind(c, id, r);
        return;
      case OP.searchRequest: {
        const req = parseSearch(r);
        r.offset = opEnd; // controls follow the operation
        handleSearch(c, id, req, parseControls(r, end));
        return;
      }
      case OP.extendedRequest:
        send(c, ldapResult(id, OP.extendedResponse, RC.protocolError, adMessage('0000203D: LdapErr: DSID-0C091088, comment: Unknown extended request OID, data 0, v4563')));
        return;
      case OP.modifyRequest:
      case OP.addRequest:
      case OP.modDnRequest:
      case OP.compareRequest:
        send(c, ldapResult(id, tag + 1, RC.unwillingToPerform, MSG_READ_ONLY));
        return;
      default:
        throw new LdapError(RC.protocolError, `unknown operation 0x${tag.toString(16)}`);
    }
  }

  function onData(c: Connection, chunk: Buffer): void {
    c.buffer = c.buffer.length ? Buffer.concat([c.buffer, chunk]) : chunk;
    while (c.buffer.length >= 2 && !c.dead) {
      if (c.buffer[0] !== 0x30) {
        kill(c);
        return;
      }
      const first = c.buffer[1]!;
      let headerLen = 2;
      let bodyLen = first;
      if (first & 0x80) {
        const n = first & 0x7f;
        if (n === 0 || n > 4) {
          kill(c);
          return;
        }
        if (c.buffer.length < 2 + n) return;
        bodyLen = 0;
        for (let i = 0; i < n; i++) bodyLen = bodyLen * 256 + c.buffer[2 + i]!;
        headerLen = 2 + n;
      }
      const total = headerLen + bodyLen;
      if (c.buffer.length < total) return;
      const msg = c.buffer.subarray(0, total);
      c.buffer = c.buffer.subarray(total);
      try {
        handleMessage(c, msg);
      } catch (e) {
        // A request we could not parse: AD answers a notice of disconnection; we just hang up.
        void e;
        kill(c);
        return;
      }
    }
  }

  const server: Server = createServer((socket) => {
    stats.connections++;
    const c: Connection = {
      socket,
      buffer: Buffer.alloc(0),
      authenticated: false,
      paged: new Map(),
      sentSinceArm: 0,
      armGeneration: drop?.generation ?? -1,
      dead: false,
    };
    connections.add(c);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => onData(c, chunk));
    socket.on('error', () => {
      c.dead = true;
    });
    socket.on('close', () => {
      c.dead = true;
      connections.delete(c);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fake AD: no port');
  const port = addr.port;

  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    baseDn,
    searchLog,
    stats,
    setEntries(entries) {
      dir = buildDirectory(entries);
    },
    dropConnectionsAfter(entries, opts = {}) {
      generation++;
      drop = entries === null ? null : { after: Math.max(1, entries), once: opts.once ?? false, generation };
    },
    async stop() {
      for (const c of connections) kill(c);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A generated AD-shaped directory

export interface MakeAdDirectoryOptions {
  users: number;
  /**
   * Groups; members are users by index (`members`) or the first `memberCount` users, plus nested
   * groups by name (`groups`, which must be defined in this list too).
   */
  groups?: ReadonlyArray<{ name: string; memberCount?: number; members?: readonly number[]; groups?: readonly string[]; description?: string }>;
  /** Every n-th user (users n-1, 2n-1, … by index) is disabled: userAccountControl 514 instead of 512. */
  disabledEvery?: number;
  /** Every n-th user gets an objectGUID whose bytes are valid UTF-8 (a client that forgets explicitBufferAttributes gets a string for it). */
  utf8GuidEvery?: number;
  /** Default DC=gs,DC=test. */
  baseDn?: string;
  /** RDN of the users' OU, default OU=Staff. */
  usersOu?: string;
  /** RDN of the groups' OU, default OU=Groups. */
  groupsOu?: string;
}

export interface FakeAdDirectory {
  entries: FakeAdEntry[];
  baseDn: string;
  usersDn: string;
  groupsDn: string;
  userName(i: number): string;
  userDn(i: number): string;
  userGuid(i: number): Buffer;
  groupDn(name: string): string;
  groupGuid(name: string): Buffer;
}

/** A deterministic AD-style GUID (16 bytes, version 4 bits set) from a seed. */
export function makeGuid(seed: string): Buffer {
  const b = createHash('sha256').update(`groupsync-fake-ad:${seed}`).digest().subarray(0, 16);
  const g = Buffer.from(b);
  g[7] = (g[7]! & 0x0f) | 0x40; // Data3 is little-endian: its high nibble (the version) is byte 7
  g[8] = (g[8]! & 0x3f) | 0x80;
  return g;
}

/** The string form AD tools print for a binary objectGUID (first three fields little-endian). */
export function guidToString(g: Buffer): string {
  if (g.length !== 16) throw new Error(`a GUID has 16 bytes, not ${g.length}`);
  const h = (from: number, to: number, reverse: boolean) => {
    const part = Buffer.from(g.subarray(from, to));
    if (reverse) part.reverse();
    return part.toString('hex');
  };
  return `${h(0, 4, true)}-${h(4, 6, true)}-${h(6, 8, true)}-${h(8, 10, false)}-${h(10, 16, false)}`;
}

function makeSid(rid: number | null): Buffer {
  const sub = [21, 1111111111, 2222222222, 3333333333];
  if (rid !== null) sub.push(rid);
  const b = Buffer.alloc(8 + 4 * sub.length);
  b[0] = 1;
  b[1] = sub.length;
  b.writeUIntBE(5, 2, 6); // NT authority
  sub.forEach((s, i) => b.writeUInt32LE(s, 8 + 4 * i));
  return b;
}

export function makeAdDirectory(options: MakeAdDirectoryOptions): FakeAdDirectory {
  const baseDn = options.baseDn ?? 'DC=gs,DC=test';
  const domain = domainOf(baseDn) || 'gs.test';
  const usersDn = `${options.usersOu ?? 'OU=Staff'},${baseDn}`;
  const groupsDn = `${options.groupsOu ?? 'OU=Groups'},${baseDn}`;
  const config = `CN=Configuration,${baseDn}`;
  const category = (cn: string) => `CN=${cn},CN=Schema,${config}`;
  const pad = (i: number) => String(i).padStart(5, '0');
  const userName = (i: number) => `user${pad(i)}`;
  const userDn = (i: number) => `CN=User ${pad(i)},${usersDn}`;
  const groupDn = (name: string) => `CN=${name},${groupsDn}`;
  const userGuid = (i: number) => {
    if (options.utf8GuidEvery && (i + 1) % options.utf8GuidEvery === 0) {
      const g = makeGuid(`user:${i}`);
      for (let k = 0; k < 16; k++) g[k] = 0x21 + (g[k]! % 0x5e); // printable ASCII
      return g;
    }
    return makeGuid(`user:${i}`);
  };
  const groupGuid = (name: string) => makeGuid(`group:${name.toLowerCase()}`);
  let usn = 12000;
  const stamp = () => {
    usn++;
    return { uSNCreated: String(usn), uSNChanged: String(usn), whenCreated: '20240115093000.0Z', whenChanged: '20240115093000.0Z' };
  };

  const entries: FakeAdEntry[] = [
    {
      dn: baseDn,
      attributes: {
        objectClass: ['top', 'domain', 'domainDNS'],
        objectCategory: category('Domain-DNS'),
        dc: parseDn(baseDn)[0]?.[1] ?? 'gs',
        objectGUID: makeGuid('domain'),
        objectSid: makeSid(null),
        ...stamp(),
      },
    },
  ];
  for (const [dn, name] of [
    [usersDn, 'users-ou'],
    [groupsDn, 'groups-ou'],
  ] as const) {
    entries.push({
      dn,
      attributes: {
        objectClass: ['top', 'organizationalUnit'],
        objectCategory: category('Organizational-Unit'),
        ou: parseDn(dn)[0]?.[1] ?? name,
        objectGUID: makeGuid(name),
        ...stamp(),
      },
    });
  }
  for (let i = 0; i < options.users; i++) {
    const disabled = options.disabledEvery !== undefined && options.disabledEvery > 0 && (i + 1) % options.disabledEvery === 0;
    const name = userName(i);
    entries.push({
      dn: userDn(i),
      attributes: {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        objectCategory: category('Person'),
        cn: `User ${pad(i)}`,
        sAMAccountName: name,
        userPrincipalName: `${name}@${domain}`,
        displayName: `User ${pad(i)}`,
        givenName: 'User',
        sn: pad(i),
        mail: `${name}@${domain}`,
        userAccountControl: disabled ? '514' : '512',
        sAMAccountType: '805306368',
        primaryGroupID: '513',
        objectGUID: userGuid(i),
        objectSid: makeSid(1100 + i),
        ...stamp(),
      },
    });
  }
  const groups = options.groups ?? [];
  const groupNames = new Set(groups.map((g) => g.name.toLowerCase()));
  groups.forEach((g, j) => {
    const members: string[] = [];
    const indices = g.members ?? Array.from({ length: g.memberCount ?? 0 }, (_, k) => k);
    for (const i of indices) {
      if (i < 0 || i >= options.users) throw new Error(`group ${g.name}: no user ${i} (there are ${options.users})`);
      members.push(userDn(i));
    }
    for (const nested of g.groups ?? []) {
      if (!groupNames.has(nested.toLowerCase())) throw new Error(`group ${g.name}: nested group ${nested} is not defined`);
      members.push(groupDn(nested));
    }
    entries.push({
      dn: groupDn(g.name),
      attributes: {
        objectClass: ['top', 'group'],
        objectCategory: category('Group'),
        cn: g.name,
        sAMAccountName: g.name,
        description: g.description ?? `${g.name} (${members.length} members)`,
        groupType: '-2147483646', // global security group
        sAMAccountType: '268435456',
        member: members,
        objectGUID: groupGuid(g.name),
        objectSid: makeSid(1100 + options.users + j),
        ...stamp(),
      },
    });
  });
  return { entries, baseDn, usersDn, groupsDn, userName, userDn, userGuid, groupDn, groupGuid };
}
