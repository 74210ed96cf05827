/**
 * The DirSync control (LDAP_SERVER_DIRSYNC_OID, MS-ADTS 3.1.1.3.4.1.3) on ldapts' Control API,
 * and the cookie groupsync stores around the server's own.
 *
 * Request value:  SEQUENCE { flags INTEGER, maxBytes INTEGER, cookie OCTET STRING }
 * Response value: SEQUENCE { moreResults INTEGER, unused INTEGER, cookie OCTET STRING }
 *
 * ldapts has no class for this OID: its ControlParser hands a response control it does not know
 * to the request control of the same OID (`parse()`), so the response lands on the instance sent.
 */
import { Ber, BerReader, BerWriter, Control } from 'ldapts';
import { CookieRejectedError } from './changes.ts';

export const DIRSYNC_OID = '1.2.840.113556.1.4.841';

/** MS-ADTS flag values. groupsync sends none (see dirsync.ts for why). */
export const DIRSYNC_FLAGS = {
  /** Access checks per object instead of the "Replicating Directory Changes" right. */
  objectSecurity: 0x1,
  /** Parents before children (Windows only; Samba ignores it). */
  ancestorsFirstOrder: 0x800,
  publicDataOnly: 0x2000,
  /** Linked attributes as added/removed values (`member;range=1-1` / `member;range=0-0`). */
  incrementalValues: 0x80000000,
} as const;

export interface DirSyncRequestValue {
  readonly flags: number;
  readonly maxBytes: number;
  readonly cookie: Buffer;
}

export interface DirSyncResponseValue {
  /** The server has more changes: ask again with `cookie`. */
  readonly moreResults: boolean;
  readonly unused: number;
  readonly cookie: Buffer;
}

/** The request value's BER bytes. Flags are a 32-bit field sent as a signed INTEGER (0x80000000 is -2^31). */
export function encodeDirSyncRequest(value: DirSyncRequestValue): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(value.flags | 0);
  w.writeInt(value.maxBytes | 0);
  if (value.cookie.length) w.writeBuffer(value.cookie, Ber.OctetString);
  else w.writeString('');
  w.endSequence();
  return Buffer.from(w.buffer);
}

export function readDirSyncResponse(reader: BerReader): DirSyncResponseValue {
  if (reader.readSequence() === null) throw new Error('DirSync response control: no value');
  const moreResults = reader.readInt();
  const unused = reader.readInt();
  const cookie = reader.readString(Ber.OctetString, true);
  if (moreResults === null || unused === null || cookie === null) throw new Error('DirSync response control: truncated value');
  return { moreResults: moreResults !== 0, unused, cookie: Buffer.from(cookie) };
}

export function decodeDirSyncResponse(bytes: Buffer): DirSyncResponseValue {
  return readDirSyncResponse(new BerReader(bytes));
}

/** Sent critical (Samba answers operationsError otherwise); after the search, `response` holds the server's answer. */
export class DirSyncControl extends Control {
  static readonly type = DIRSYNC_OID;
  readonly request: DirSyncRequestValue;
  response: DirSyncResponseValue | null = null;

  constructor(request: DirSyncRequestValue) {
    super(DIRSYNC_OID, { critical: true });
    this.request = request;
  }

  protected override writeControl(writer: BerWriter): void {
    writer.writeBuffer(encodeDirSyncRequest(this.request), Ber.OctetString);
  }

  protected override parseControl(reader: BerReader): void {
    this.response = readDirSyncResponse(reader);
  }
}

/**
 * What groupsync stores as the connection's cookie: the server's cookie plus what tells whether it
 * still applies. `invocationId` and `usn` (the DC's highestCommittedUSN when the cookie was taken)
 * detect another DC or a DC restored from backup (same invocationId, USN gone back), where the
 * server would silently answer "no change"; `scope` is a digest of base, filter and attributes,
 * which the server's cookie does not cover.
 */
export interface DirSyncCookie {
  readonly server: Buffer;
  readonly invocationId: string;
  readonly usn: bigint;
  readonly namingContext: string;
  readonly scope: string;
}

const COOKIE_PREFIX = 'dirsync1.';

export function encodeDirSyncCookie(cookie: DirSyncCookie): string {
  const json = JSON.stringify({
    c: cookie.server.toString('base64'),
    i: cookie.invocationId,
    u: cookie.usn.toString(),
    n: cookie.namingContext,
    s: cookie.scope,
  });
  return COOKIE_PREFIX + Buffer.from(json, 'utf8').toString('base64url');
}

/** The stored text back; anything not written by encodeDirSyncCookie is a CookieRejectedError. */
export function decodeDirSyncCookie(text: string): DirSyncCookie {
  const rejected = () => new CookieRejectedError('the stored cookie is not a DirSync cookie written by groupsync');
  if (!text.startsWith(COOKIE_PREFIX)) throw rejected();
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(text.slice(COOKIE_PREFIX.length), 'base64url').toString('utf8'));
  } catch (error) {
    throw new CookieRejectedError('the stored DirSync cookie is not readable', { cause: error });
  }
  const r = raw as Record<string, unknown>;
  if (typeof r?.c !== 'string' || typeof r.i !== 'string' || typeof r.u !== 'string' || !/^\d+$/.test(r.u) || typeof r.n !== 'string' || typeof r.s !== 'string') {
    throw rejected();
  }
  return { server: Buffer.from(r.c, 'base64'), invocationId: r.i, usn: BigInt(r.u), namingContext: r.n, scope: r.s };
}
