/**
 * Distinguished names compared as the directory compares them (RFC 4514 syntax, caseIgnoreMatch
 * values): escapes decoded (`\,` `\+` `\"` `\\` and `\xx` hex, including multi-byte UTF-8),
 * attribute types and values case-folded, insignificant spaces dropped, multi-valued RDNs
 * sorted. Two spellings of one DN give the same key, so no member is lost to letter case or
 * escaping.
 *
 * Hand-written rather than taken from a package: the maintained LDAP client (ldapts) builds DNs
 * but does not parse them, and this runs for every member value of a large directory.
 */

export interface RdnPart {
  readonly type: string;
  readonly value: string;
  /** The value was written as `#` + hex (BER); `value` is that text, lower-cased, not a string value. */
  readonly ber?: true;
}

export class DnSyntaxError extends Error {
  /** What is wrong, without the DN. */
  readonly reason: string;
  constructor(dn: string, reason: string) {
    super(`invalid DN "${dn}": ${reason}`);
    this.name = 'DnSyntaxError';
    this.reason = reason;
  }
}

const SPECIAL = new Set([',', '+', '"', '\\', '<', '>', ';', '=']);
const HEX = /^[0-9a-fA-F]{2}$/;
/** RFC 4514 attributeType: a name (`cn`, `sAMAccountName`) or a numeric OID (RFC 2253 also allows `OID.` before it). */
const TYPE = /^(?:[A-Za-z][A-Za-z0-9-]*|(?:oid\.)?\d+(?:\.\d+)*)$/i;

/** Parses a DN into RDNs, each a list of (type, value) with escapes decoded. */
export function parseDn(dn: string): RdnPart[][] {
  const rdns: RdnPart[][] = [];
  let current: RdnPart[] = [];
  let i = 0;
  const n = dn.length;
  const skipSpaces = () => {
    while (i < n && dn[i] === ' ') i++;
  };
  skipSpaces();
  if (i >= n) return [];
  while (i < n) {
    skipSpaces();
    // attribute type
    const typeStart = i;
    while (i < n && dn[i] !== '=' && dn[i] !== ',' && dn[i] !== '+') i++;
    if (dn[i] !== '=') throw new DnSyntaxError(dn, `missing "=" after "${dn.slice(typeStart, i)}"`);
    const type = dn.slice(typeStart, i).trim();
    if (!type) throw new DnSyntaxError(dn, 'empty attribute type');
    if (!TYPE.test(type)) throw new DnSyntaxError(dn, `"${type}" is not an attribute type`);
    i++; // '='
    skipSpaces();
    let value: string;
    let ber = false;
    if (dn[i] === '#') {
      // BER-encoded value: keep the hex string as is.
      const start = i;
      i++;
      while (i < n && /[0-9a-fA-F]/.test(dn[i]!)) i++;
      if (i === start + 1 || (i - start - 1) % 2 !== 0) throw new DnSyntaxError(dn, `"#" at position ${start} must be followed by hex pairs (a BER value)`);
      value = dn.slice(start, i).toLowerCase();
      ber = true;
      skipSpaces();
    } else if (dn[i] === '"') {
      // RFC 2253 quoted value (legacy, still sent by some servers): `\` before a special character or a hex pair.
      i++;
      const start = i;
      const bytes: number[] = [];
      let out = '';
      const flush = () => {
        if (bytes.length) {
          out += Buffer.from(bytes).toString('utf8');
          bytes.length = 0;
        }
      };
      while (i < n && dn[i] !== '"') {
        if (dn[i] === '\\' && i + 1 < n) {
          const pair = dn.slice(i + 1, i + 3);
          if (HEX.test(pair)) {
            bytes.push(parseInt(pair, 16));
            i += 3;
            continue;
          }
          flush();
          out += dn[i + 1];
          i += 2;
        } else {
          flush();
          out += dn[i];
          i++;
        }
      }
      if (i >= n) throw new DnSyntaxError(dn, `unterminated quoted value starting at ${start}`);
      flush();
      i++;
      value = out;
      skipSpaces();
    } else {
      const bytes: number[] = [];
      let text = '';
      let trailingSpaceStart = -1;
      const flushBytes = () => {
        if (bytes.length) {
          text += Buffer.from(bytes).toString('utf8');
          bytes.length = 0;
        }
      };
      while (i < n && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
        const c = dn[i]!;
        if (c === '\\') {
          const pair = dn.slice(i + 1, i + 3);
          if (HEX.test(pair)) {
            bytes.push(parseInt(pair, 16));
            i += 3;
          } else if (i + 1 < n && (SPECIAL.has(dn[i + 1]!) || dn[i + 1] === ' ' || dn[i + 1] === '#')) {
            flushBytes();
            text += dn[i + 1];
            i += 2;
          } else {
            throw new DnSyntaxError(dn, `bad escape at position ${i}`);
          }
          trailingSpaceStart = -1;
        } else {
          flushBytes();
          if (c === ' ') {
            if (trailingSpaceStart < 0) trailingSpaceStart = text.length;
          } else {
            trailingSpaceStart = -1;
          }
          text += c;
          i++;
        }
      }
      flushBytes();
      // Unescaped trailing spaces are not part of the value.
      value = trailingSpaceStart >= 0 ? text.slice(0, trailingSpaceStart) : text;
    }
    current.push(ber ? { type, value, ber: true } : { type, value });
    if (i >= n) break;
    const sep = dn[i];
    if (sep !== ',' && sep !== ';' && sep !== '+') throw new DnSyntaxError(dn, `unexpected "${sep}" at position ${i} after a value`);
    i++;
    if (sep !== '+') {
      rdns.push(current);
      current = [];
    }
    skipSpaces();
    if (i >= n) throw new DnSyntaxError(dn, 'ends with a separator');
  }
  rdns.push(current);
  return rdns;
}

function foldValue(value: string): string {
  // caseIgnoreMatch: case-fold, drop leading/trailing spaces, collapse inner runs of spaces.
  return value.normalize('NFC').toLowerCase().trim().replace(/ {2,}/g, ' ');
}

function escapeValue(value: string): string {
  let out = '';
  for (let k = 0; k < value.length; k++) {
    const c = value[k]!;
    if (SPECIAL.has(c) || (k === 0 && (c === '#' || c === ' ')) || (k === value.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

const SIMPLE = /^[^\\"+#;]*$/;

/** Normalised parents of simple DNs (see normalizeDn), at most PARENTS_KEPT of them. */
const parents = new Map<string, string>();
const PARENTS_KEPT = 4096;

/** The normal form of parts[from..to) of a simple DN (no escapes, quotes or multi-valued RDNs), joined by commas. */
function simpleParts(dn: string, parts: readonly string[], from: number, to: number): string {
  let out = '';
  for (let k = from; k < to; k++) {
    const part = parts[k]!;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      if (parts.length === 1 && part.trim() === '') return '';
      throw new DnSyntaxError(dn, `"${part}" is not type=value`);
    }
    const type = part.slice(0, eq).trim().toLowerCase();
    if (!type) throw new DnSyntaxError(dn, 'empty attribute type');
    if (!TYPE.test(type)) throw new DnSyntaxError(dn, `"${type}" is not an attribute type`);
    const value = foldValue(part.slice(eq + 1));
    out += (k > from ? ',' : '') + type + '=' + escapeValue(value);
  }
  return out;
}

/**
 * The comparison key of a DN. Throws DnSyntaxError for a value that is not a DN.
 * The common case (no escapes, quotes or multi-valued RDNs) takes a fast path.
 */
export function normalizeDn(dn: string): string {
  if (SIMPLE.test(dn)) {
    const parts = dn.split(',');
    if (parts.length < 3) return simpleParts(dn, parts, 0, parts.length);
    // The parent (all but the first RDN) is shared by thousands of DNs: normalised once.
    const first = simpleParts(dn, parts, 0, 1);
    const rest = dn.slice(parts[0]!.length + 1);
    let parent = parents.get(rest);
    if (parent === undefined) {
      parent = simpleParts(dn, parts, 1, parts.length);
      if (parents.size >= PARENTS_KEPT) parents.clear();
      parents.set(rest, parent);
    }
    return `${first},${parent}`;
  }
  return parseDn(dn)
    .map((rdn) =>
      rdn
        // A BER value stays `#hex`, unescaped, so it never equals the string value `\#hex`.
        .map((p) => `${p.type.toLowerCase()}=${p.ber ? p.value : escapeValue(foldValue(p.value))}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

/** True when `dn` is `base` or lies below it (both given as normalized keys). */
export function isUnder(dnKey: string, baseKey: string): boolean {
  if (!baseKey) return true;
  return dnKey === baseKey || dnKey.endsWith(`,${baseKey}`);
}

/** The value of the first RDN (e.g. the cn of a group), unescaped. */
export function firstRdnValue(dn: string): string | null {
  try {
    const rdns = parseDn(dn);
    return rdns[0]?.[0]?.value ?? null;
  } catch {
    return null;
  }
}

const OPTIONAL_UID = /#'[01]*'B$/;

/**
 * The DN of a NameAndOptionalUID value (RFC 4517 §3.3.21, the syntax of uniqueMember):
 * `uid=x,ou=people,dc=org#'0101'B` → `uid=x,ou=people,dc=org`. A `#` escaped as `\#` (or `\23`)
 * belongs to the last RDN value and is kept; an escaped backslash before it does not escape it.
 */
export function dnOfNameAndOptionalUid(value: string): string {
  const found = OPTIONAL_UID.exec(value);
  if (!found) return value;
  let backslashes = 0;
  for (let k = found.index - 1; k >= 0 && value[k] === '\\'; k--) backslashes++;
  return backslashes % 2 === 0 ? value.slice(0, found.index) : value;
}

/** The comparison key of a reference a person typed, when it is a DN; null for a name or an id. */
export function dnKeyOf(ref: string): string | null {
  if (!ref.includes('=')) return null;
  try {
    return normalizeDn(ref);
  } catch {
    return null;
  }
}

/**
 * Whether a typed reference names this object: its name or id ignoring case, its DN as a DN
 * (`cn=Smith\, John` and `CN=smith\2c john` are one entry).
 */
export function refNames(ref: string, object: { readonly name: string; readonly dn: string | null; readonly directoryId: string }): boolean {
  const lower = ref.toLowerCase();
  if (object.name.toLowerCase() === lower || object.directoryId.toLowerCase() === lower) return true;
  if (object.dn === null) return false;
  const key = dnKeyOf(ref);
  return key !== null && dnKeyOf(object.dn) === key;
}
