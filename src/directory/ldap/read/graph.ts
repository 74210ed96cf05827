/**
 * The scope graph a read builds (the intern step): every DN a read meets (a linked group, a
 * member value) becomes one integer node, keyed by its normalised DN, with a kind (unknown until
 * classified, user, group, other, dangling, not a DN). Users and groups hold their compact
 * records; a group's members are node numbers. A full read builds it from the server, an
 * incremental read patches the kept one (snapshot.ts); both give their answer from it (expand.ts).
 */
import type { DirectoryUser, SkippedEntry } from '../../../domain/types.ts';
import { DnSyntaxError, normalizeDn } from '../dn.ts';

export const UNKNOWN = 0;
export const USER = 1;
export const GROUP = 2;
/** An entry that is neither a usable user nor a group (a computer, a contact, a skipped user or group). */
export const OTHER = 3;
/** A member value naming no entry. */
export const DANGLING = 4;
/** A member value that is not a DN. */
export const INVALID = 5;

/** A linked group is linked by the scope filter, by a reference by id or name, by a reference by DN. */
export const LINKED_BY_FILTER = 1;
export const LINKED_BY_REF = 2;
export const LINKED_BY_DN = 4;

export interface GroupNode {
  readonly id: string;
  readonly dn: string;
  readonly name: string;
  readonly description: string | null;
  members: number[];
}

export class ScopeGraph {
  readonly nodeIndex = new Map<string, number>();
  /** The DN as first spelled (a member value, an entry's DN). */
  readonly nodeDn: string[] = [];
  readonly nodeKey: string[] = [];
  readonly nodeKind: number[] = [];
  readonly users = new Map<number, DirectoryUser>();
  readonly groups = new Map<number, GroupNode>();
  /** Why a node is OTHER when it is a skipped user or group (listed while the node is reached). */
  readonly nodeSkip = new Map<number, SkippedEntry>();
  /** The stable id of the entry a node was classified from, when it has one. */
  readonly nodeId = new Map<number, string>();
  /** Why a member value is not a DN. */
  readonly invalidReason = new Map<number, string>();
  /** Linked groups: by the scope filter, or by a reference. */
  readonly linked = new Set<number>();
  /** Why each linked group is linked (LINKED_BY_* bits). */
  readonly linkedBy = new Map<number, number>();
  /** Entries whose DN cannot be parsed (met as linked groups): no node. */
  readonly loose: SkippedEntry[] = [];
  /** Raw spelling → node, so each distinct spelling is normalised once. */
  readonly #raw = new Map<string, number>();

  get size(): number {
    return this.nodeKind.length;
  }

  /** The node of a normalised DN, created (UNKNOWN) when new. */
  nodeOf(key: string, dn: string, kind: number = UNKNOWN): number {
    let index = this.nodeIndex.get(key);
    if (index === undefined) {
      index = this.nodeDn.length;
      this.nodeIndex.set(key, index);
      this.nodeDn.push(dn);
      this.nodeKey.push(key);
      this.nodeKind.push(kind);
    }
    return index;
  }

  /** The node a DN spelled exactly so was interned as, if any (no normalising). */
  spelled(dn: string): number | undefined {
    return this.#raw.get(dn);
  }

  /** An entry's DN as a node; null (and a skipped entry) when it cannot be parsed. */
  intern(dn: string): number | null {
    const known = this.#raw.get(dn);
    if (known !== undefined) return known;
    let key: string;
    try {
      key = normalizeDn(dn);
    } catch (error) {
      if (error instanceof DnSyntaxError) {
        this.loose.push({ ref: dn, reason: error.message, kind: 'entry' });
        return null;
      }
      throw error;
    }
    const index = this.nodeOf(key, dn);
    this.#raw.set(dn, index);
    return index;
  }

  /** A member value as a node: one that is not a DN becomes an INVALID node. */
  internMember(value: string): number {
    const known = this.#raw.get(value);
    if (known !== undefined) return known;
    let index: number;
    try {
      index = this.nodeOf(normalizeDn(value), value);
    } catch (error) {
      if (!(error instanceof DnSyntaxError)) throw error;
      index = this.nodeOf(`\u0000${value}`, value, INVALID);
      this.invalidReason.set(index, error.reason);
    }
    this.#raw.set(value, index);
    return index;
  }

  /** Forgets what a node was classified as (it is classified again). */
  reset(node: number): void {
    this.nodeKind[node] = UNKNOWN;
    this.users.delete(node);
    this.groups.delete(node);
    this.nodeSkip.delete(node);
    this.nodeId.delete(node);
  }

  link(node: number, by: number): void {
    this.linked.add(node);
    this.linkedBy.set(node, (this.linkedBy.get(node) ?? 0) | by);
  }

  /** Takes back the links of a node named by `by` (bits); it stays linked by the others. */
  unlink(node: number, by: number): void {
    const rest = (this.linkedBy.get(node) ?? 0) & ~by;
    if (rest) this.linkedBy.set(node, rest);
    else {
      this.linkedBy.delete(node);
      this.linked.delete(node);
    }
  }

  pending(): number[] {
    const out: number[] = [];
    const kinds = this.nodeKind;
    for (let k = 0; k < kinds.length; k++) if (kinds[k] === UNKNOWN) out.push(k);
    return out;
  }
}
