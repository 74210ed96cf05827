/**
 * A 64-bit non-cryptographic hash of records of strings: two 32-bit FNV-1a lanes with different
 * primes, computed without allocating (a few hundred nanoseconds per record, where a crypto hash
 * costs microseconds per call). The digests of a plan (sync/plan/digest.ts) and of a read's graph
 * (directory/ldap/read/graph-digest.ts) are order-free sums of such record hashes.
 */
const OFFSET_A = 0x811c9dc5;
const OFFSET_B = 0x2b9a3c71;
const PRIME_A = 0x01000193;
const PRIME_B = 0x5bd1e995;

/** Lanes of the record in progress (module scope: no allocation per value hashed). */
let laneA = 0;
let laneB = 0;

/** Starts a record. */
export function startRecord(): void {
  laneA = OFFSET_A;
  laneB = OFFSET_B;
}

/**
 * Feeds a string's UTF-16 code units, then a terminator (0 for a value, 1 for null). A value
 * holding a NUL can read as two: where that matters, feed its length too (graph-digest.ts).
 */
export function feed(s: string | null): void {
  let a = laneA;
  let b = laneB;
  if (s !== null) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, PRIME_A);
      b = Math.imul(b ^ c, PRIME_B);
    }
  }
  const end = s === null ? 1 : 0;
  laneA = Math.imul(a ^ end, PRIME_A);
  laneB = Math.imul(b ^ end, PRIME_B);
}

/** Feeds a 32-bit integer as two 16-bit units, then a terminator (2: not the end of a string). */
export function feedInt(n: number): void {
  let a = Math.imul(laneA ^ (n & 0xffff), PRIME_A);
  let b = Math.imul(laneB ^ (n & 0xffff), PRIME_B);
  a = Math.imul(a ^ (n >>> 16), PRIME_A);
  b = Math.imul(b ^ (n >>> 16), PRIME_B);
  laneA = Math.imul(a ^ 2, PRIME_A);
  laneB = Math.imul(b ^ 2, PRIME_B);
}

/** The record's lanes so far, as unsigned 32-bit numbers. */
export function recordA(): number {
  return laneA >>> 0;
}

export function recordB(): number {
  return laneB >>> 0;
}

/** The last mixed lanes (see mixLanes). */
let mixedA = 0;
let mixedB = 0;

/**
 * Mixes two lanes (murmur3's finaliser, each lane with the other), read back with mixedLaneA and
 * mixedLaneB (hashSummand, RecordSum). FNV-1a carries a difference only towards higher bits, so hashes that are summed
 * must be mixed first: two records that swap values (two users' ids, mails), or two sets of
 * members whose keys differ in characters above 0x7f (`é` and `ũ` against `i` and `ǩ`), change
 * raw lanes by amounts that cancel exactly in a sum. Mixed, every bit depends on every input bit.
 */
function mixLanes(a: number, b: number): void {
  mixedA = fmix32((a + Math.imul(b, 0x9e3779b1)) | 0);
  mixedB = fmix32(b ^ mixedA);
}

/** Hashes one value to be summed (a member of a set): its lanes, mixed, read with mixedLaneA and mixedLaneB. */
export function hashSummand(value: string): void {
  startRecord();
  feed(value);
  mixLanes(laneA, laneB);
}

export function mixedLaneA(): number {
  return mixedA >>> 0;
}

export function mixedLaneB(): number {
  return mixedB >>> 0;
}

/** murmur3's 32-bit finaliser. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export const hex32 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');

/** An order-free digest of records: the sums of their lanes, and how many went in. */
export class RecordSum {
  #a = 0;
  #b = 0;
  #records = 0;

  /** Adds the record in progress (see startRecord), its lanes mixed first (see mixLanes). */
  addRecord(): void {
    mixLanes(laneA, laneB);
    this.#a = (this.#a + (mixedA >>> 0)) | 0;
    this.#b = (this.#b + (mixedB >>> 0)) | 0;
    this.#records++;
  }

  /** Adds one record of these fields. */
  add(...fields: readonly (string | null)[]): void {
    startRecord();
    for (const f of fields) feed(f);
    this.addRecord();
  }

  get records(): number {
    return this.#records;
  }

  /** The sums as 16 hex digits. */
  hex(): string {
    return hex32(this.#a) + hex32(this.#b);
  }
}
