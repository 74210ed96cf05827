/**
 * The Entra directory model as kept between runs (delta.ts keeps it with the delta links): columns
 * rather than an object per user, the memberships as user indexes, gzipped.
 */
import { endianness } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DirectoryModel, GroupRecord, UserRecord } from './transform.ts';

/**
 * Version of the stored model. 2: columns (one array per property) and the memberships as user
 * indexes in 32-bit words, base64; a model of another version reads as none (a full read).
 */
export const MODEL_VERSION = 2;

interface EncodedModel {
  readonly v: number;
  readonly users: {
    readonly id: string[];
    readonly login: Array<string | null>;
    readonly mail: Array<string | null>;
    readonly displayName: Array<string | null>;
    /** Bit 1: enabled; bit 2: removed (a tombstone). */
    readonly flags: number[];
  };
  readonly groups: {
    readonly id: string[];
    readonly name: string[];
    readonly description: Array<string | null>;
    readonly nested: string[][];
    /** How many user indexes of `members` each group takes, in order. */
    readonly sizes: number[];
    /** Every group's user indexes one after the other: unsigned 32-bit little-endian, base64. */
    readonly members: string;
  };
}

/** The words of a Uint32Array as little-endian bytes (swapped in place on a big-endian machine). */
function littleEndian(bytes: Buffer): Buffer {
  return endianness() === 'BE' ? bytes.swap32() : bytes;
}

/** The model as stored: columns rather than an object per user, gzipped (level 1: as small, faster). */
export function encodeModel(model: DirectoryModel): Uint8Array {
  const index = new Map<string, number>();
  const users: EncodedModel['users'] = { id: [], login: [], mail: [], displayName: [], flags: [] };
  for (const u of model.users.values()) {
    index.set(u.id, users.id.length);
    users.id.push(u.id);
    users.login.push(u.login);
    users.mail.push(u.mail);
    users.displayName.push(u.displayName);
    users.flags.push((u.enabled ? 1 : 0) | (u.removed ? 2 : 0));
  }
  let total = 0;
  for (const g of model.groups.values()) total += g.userIds.length;
  const members = new Uint32Array(total);
  const groups = { id: [] as string[], name: [] as string[], description: [] as Array<string | null>, nested: [] as string[][], sizes: [] as number[] };
  let at = 0;
  for (const g of model.groups.values()) {
    const start = at;
    for (const id of g.userIds) {
      const k = index.get(id);
      if (k !== undefined) members[at++] = k;
    }
    groups.id.push(g.id);
    groups.name.push(g.name);
    groups.description.push(g.description);
    groups.nested.push([...g.nestedGroupIds]);
    groups.sizes.push(at - start);
  }
  const encoded: EncodedModel = { v: MODEL_VERSION, users, groups: { ...groups, members: littleEndian(Buffer.from(members.buffer, 0, at * 4)).toString('base64') } };
  return gzipJson(encoded);
}

/** Text gzipped at a time, at least (a column of 100,000 ids is 3.9 MB). */
const PIECE = 1 << 20;

/**
 * JSON.stringify(value), gzipped (level 1: as small, faster) a column at a time: the objects of
 * the first two levels are written key by key, and the text is gzipped in pieces, each its own
 * gzip member, which gunzip reads back as the one text. The whole text (15 MB for 100,000 users)
 * is never one string, nor one buffer.
 */
function gzipJson(value: object): Buffer {
  const parts: Buffer[] = [];
  let text = '';
  const write = (more: string) => {
    text += more;
    if (text.length < PIECE) return;
    parts.push(gzipSync(text, { level: 1 }));
    text = '';
  };
  const put = (v: unknown, depth: number) => {
    if (depth === 0 || v === null || typeof v !== 'object' || Array.isArray(v)) return write(JSON.stringify(v));
    write('{');
    let first = true;
    for (const [key, item] of Object.entries(v)) {
      if (item === undefined) continue;
      write(`${first ? '' : ','}${JSON.stringify(key)}:`);
      put(item, depth - 1);
      first = false;
    }
    write('}');
  };
  put(value, 2);
  if (text !== '' || parts.length === 0) parts.push(gzipSync(text, { level: 1 }));
  return Buffer.concat(parts);
}

/** The stored model, or null when it is missing, unreadable or from another version (then: a full read). */
export function decodeModel(bytes: Uint8Array | null): DirectoryModel | null {
  if (!bytes) return null;
  let encoded: EncodedModel;
  try {
    encoded = JSON.parse(gunzipSync(bytes).toString('utf8')) as EncodedModel;
  } catch {
    return null;
  }
  if (encoded?.v !== MODEL_VERSION) return null;
  const { id, login, mail, displayName, flags } = encoded.users;
  const users = new Map<string, UserRecord>();
  for (let k = 0; k < id.length; k++) {
    const removed = (flags[k]! & 2) !== 0;
    users.set(id[k]!, { id: id[k]!, login: login[k]!, mail: mail[k]!, displayName: displayName[k]!, enabled: (flags[k]! & 1) !== 0, ...(removed ? { removed } : {}) });
  }
  const raw = littleEndian(Buffer.from(encoded.groups.members, 'base64'));
  // Copied out of Node's buffer pool: aligned for a Uint32Array.
  const members = new Uint32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const groups = new Map<string, GroupRecord>();
  let at = 0;
  encoded.groups.id.forEach((groupId, g) => {
    const size = encoded.groups.sizes[g]!;
    const userIds = new Array<string>(size);
    for (let k = 0; k < size; k++) userIds[k] = id[members[at + k]!]!;
    at += size;
    groups.set(groupId, { id: groupId, name: encoded.groups.name[g]!, description: encoded.groups.description[g]!, userIds, nestedGroupIds: encoded.groups.nested[g]! });
  });
  return { groups, users };
}
