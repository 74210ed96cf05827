/**
 * Pure transformers from raw directory entries to groupsync's plain types.
 */
import { isUtf8 } from 'node:buffer';
import type { DirectoryUser, SkippedEntry } from '../../domain/types.ts';
import type { VendorProfile } from './vendors.ts';

export type RawValue = string | Buffer;

/** An entry with attribute names folded to lower case. Values keep the server's order. */
export interface RawEntry {
  readonly dn: string;
  readonly attrs: ReadonlyMap<string, readonly RawValue[]>;
}

/** From an ldapts entry (`{ dn, attr: string | string[] | Buffer | Buffer[] }`). */
export function toRawEntry(entry: { dn: string; [key: string]: unknown }): RawEntry {
  const attrs = new Map<string, RawValue[]>();
  for (const key of Object.keys(entry)) {
    if (key === 'dn') continue;
    const value = entry[key];
    const values: RawValue[] = Array.isArray(value) ? (value as RawValue[]) : [value as RawValue];
    attrs.set(key.toLowerCase(), values);
  }
  return { dn: entry.dn, attrs };
}

/**
 * Bytes as text. ldapts (and the LDIF reader) hand a value over as bytes when it is not valid
 * UTF-8: each byte that is not part of a valid sequence becomes U+DC80–U+DCFF (as Python's
 * surrogateescape), never a silent U+FFFD, so validateSnapshot skips the entry and names the byte.
 */
export function decodeText(bytes: Buffer): string {
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let k = 0;
  while (k < bytes.length) {
    const lead = bytes[k]!;
    const size = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0;
    const part = size ? bytes.subarray(k, k + size) : null;
    if (part && part.length === size && isUtf8(part)) {
      out += part.toString('utf8');
      k += size;
    } else {
      out += String.fromCharCode(0xdc00 + lead);
      k++;
    }
  }
  return out;
}

const textOf = (value: RawValue): string => (typeof value === 'string' ? value : decodeText(value));

export function firstString(entry: RawEntry, attribute: string): string | null {
  const values = entry.attrs.get(attribute.toLowerCase());
  const first = values?.[0];
  if (first === undefined) return null;
  const text = textOf(first);
  return text === '' ? null : text;
}

export function allStrings(entry: RawEntry, attribute: string): string[] {
  const values = entry.attrs.get(attribute.toLowerCase());
  if (!values) return [];
  return values.map(textOf);
}

/**
 * AD objectGUID bytes → the GUID's usual text form. The first three groups are little-endian:
 * bytes 00112233-4455-6677-8899-aabbccddeeff read as 33221100-5544-7766-8899-aabbccddeeff.
 */
export function decodeObjectGuid(bytes: Buffer): string {
  if (bytes.length !== 16) throw new Error(`objectGUID must be 16 bytes, got ${bytes.length}`);
  const h = bytes.toString('hex');
  const le = (start: number, len: number) => {
    let out = '';
    for (let k = start + len - 2; k >= start; k -= 2) out += h.slice(k, k + 2);
    return out;
  };
  return `${le(0, 8)}-${le(8, 4)}-${le(12, 4)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The inverse, for building `(objectGUID=\xx…)` filters from a stored id. */
export function encodeObjectGuid(guid: string): Buffer {
  const hex = guid.replace(/-/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new Error(`not a GUID: ${guid}`);
  const b = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out[0] = b[3]!; out[1] = b[2]!; out[2] = b[1]!; out[3] = b[0]!;
  out[4] = b[5]!; out[5] = b[4]!; out[6] = b[7]!; out[7] = b[6]!;
  b.copy(out, 8, 8, 16);
  return out;
}

const ACCOUNTDISABLE = 0x2;
const TRUTHY = /^(true|yes|1|disabled|locked|inactive)$/i;

/** Whether the entry is a disabled account, per the vendor's flag. */
export function isDisabled(entry: RawEntry, profile: VendorProfile): boolean {
  if (!profile.disabled) return false;
  const value = firstString(entry, profile.disabled);
  if (value === null) return false;
  if (profile.disabled.toLowerCase() === 'useraccountcontrol') {
    const flags = Number.parseInt(value, 10);
    return Number.isFinite(flags) && (flags & ACCOUNTDISABLE) !== 0;
  }
  // Lock timestamps (pwdAccountLockedTime) disable by presence; flags by a truthy value.
  if (/lockedtime$/i.test(profile.disabled)) return true;
  return TRUTHY.test(value.trim());
}

export function stableId(entry: RawEntry, profile: VendorProfile): string | null {
  const values = entry.attrs.get(profile.id.toLowerCase());
  const first = values?.[0];
  if (first === undefined) return null;
  if (profile.idIsGuid) {
    // ldapts hands a value over as a string only when its bytes decoded as valid UTF-8: re-encoding
    // as UTF-8 gives them back (latin1 would mangle every multi-byte sequence).
    const bytes = typeof first === 'string' ? Buffer.from(first, 'utf8') : first;
    if (bytes.length !== 16) return null;
    return decodeObjectGuid(bytes);
  }
  const text = typeof first === 'string' ? first : first.toString('utf8');
  return text ? text.toLowerCase() : null;
}

const MAIL = /^[^\s@]+@[^\s@]+$/;

/** A user entry → a DirectoryUser, or the reason it cannot be used. */
export function transformUser(entry: RawEntry, profile: VendorProfile): DirectoryUser | SkippedEntry {
  const id = stableId(entry, profile);
  if (!id) return { ref: entry.dn, kind: 'user', reason: `no ${profile.id} (stable id); the entry cannot be tracked` };
  const mail = firstString(entry, profile.mail);
  if (mail !== null && !MAIL.test(mail)) return { ref: entry.dn, id, kind: 'user', reason: `invalid ${profile.mail} value "${mail}"` };
  return {
    id,
    dn: entry.dn,
    login: firstString(entry, profile.login),
    mail,
    displayName: firstString(entry, profile.displayName) ?? firstString(entry, 'cn'),
    enabled: !isDisabled(entry, profile),
  };
}

export function isSkipped(value: DirectoryUser | SkippedEntry): value is SkippedEntry {
  return 'reason' in value;
}

export function hasClass(entry: RawEntry, classes: readonly string[]): boolean {
  const values = entry.attrs.get('objectclass');
  if (!values) return false;
  for (const v of values) {
    const c = (typeof v === 'string' ? v : v.toString('utf8')).toLowerCase();
    if (classes.includes(c)) return true;
  }
  return false;
}

/** Attribute keys holding member values, including AD's ranged form `member;range=0-1499`. */
export interface MemberChunk {
  readonly values: readonly string[];
  /** Next range start when the server cut the attribute, or null when complete. */
  readonly nextStart: number | null;
}

const RANGE = /^([^;]+);range=(\d+)-(\d+|\*)$/i;

export function memberChunks(entry: RawEntry, memberAttributes: readonly string[]): Map<string, MemberChunk> {
  const wanted = new Set(memberAttributes.map((a) => a.toLowerCase()));
  const out = new Map<string, MemberChunk>();
  for (const [key, values] of entry.attrs) {
    const strings = () => values.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
    // ldapts also returns an empty key for each requested name the server did not send: with a
    // ranged answer, `member: []` sits beside `member;range=0-1499`. The non-empty one wins.
    if (wanted.has(key)) {
      if (values.length > 0 || !out.has(key)) out.set(key, { values: strings(), nextStart: null });
      continue;
    }
    const m = RANGE.exec(key);
    if (m && wanted.has(m[1]!.toLowerCase())) {
      const end = m[3]!;
      const base = m[1]!.toLowerCase();
      if (values.length > 0 || !out.has(base)) out.set(base, { values: strings(), nextStart: end === '*' ? null : Number(end) + 1 });
    }
  }
  return out;
}
