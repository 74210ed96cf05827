/**
 * One string per distinct value of the attributes that repeat across a read's entries: a user's
 * DN is a member value of every group it is in (about 7 times in a typical directory), and then
 * once more the name of its own entry. Decoding each occurrence made a new string that the read's
 * graph then looked up by content (hashing it first, a cache miss on the stored key after); here
 * the value's bytes are hashed where they lie in the message and compared with the string met
 * before, so a repeated value costs no allocation. Each distinct value has a number, which the
 * decoded entry carries beside the strings (entry-decoder.ts): the read's graph then finds a
 * value's node by that number, and looks a spelling up by content only the first time.
 *
 * Only ASCII values are interned (every byte below 0x80: valid UTF-8 without a byte-order mark,
 * whose string is the bytes one for one). Any other value returns -1, and the caller decodes it
 * as before; the strings given are the ones that decoding gives.
 */
import type { BerReader } from 'ldapts';

const OCTET_STRING = 0x04;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** Distinct values kept at most; past it a new value is decoded as any other (read() says -1). */
const MAX_VALUES = 1 << 23;

export class ValueInterner {
  /** Open addressing, two numbers a slot (one cache line holds both): the value's hash, its number + 1 (0: empty). */
  #slots = new Int32Array(2 << 16);
  readonly #strings: string[] = [];

  /** Distinct values kept. */
  get size(): number {
    return this.#strings.length;
  }

  /** The string of value number `id`. */
  string(id: number): string {
    return this.#strings[id]!;
  }

  /**
   * Reads the OCTET STRING at the reader's offset as an interned value and moves past it: its
   * number (see string()); -1, the offset left where it was, when it is not an ASCII OCTET STRING
   * complete in the buffer (or there is no room left for a new value).
   */
  read(reader: BerReader): number {
    const buffer = reader.buffer;
    const at = reader.offset;
    if (buffer[at] !== OCTET_STRING) return -1;
    const from = reader.readLength(at + 1);
    if (from === null) return -1;
    const to = from + reader.length;
    if (to - at > reader.remain) return -1;
    let hash = FNV_OFFSET;
    let high = 0;
    for (let i = from; i < to; i++) {
      const byte = buffer[i]!;
      high |= byte;
      hash = Math.imul(hash ^ byte, FNV_PRIME);
    }
    if (high & 0x80) return -1;
    const id = this.#find(buffer, from, to, hash);
    if (id >= 0) reader.offset = to;
    return id;
  }

  #find(buffer: Buffer, from: number, to: number, hash: number): number {
    const slots = this.#slots;
    const mask = (slots.length >> 1) - 1;
    const length = to - from;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = slots[slot * 2 + 1]! - 1;
      if (entry < 0) return this.#add(buffer, from, to, hash, slot);
      if (slots[slot * 2] !== hash) continue;
      const s = this.#strings[entry]!;
      if (s.length === length && sameBytes(s, buffer, from)) return entry;
    }
  }

  #add(buffer: Buffer, from: number, to: number, hash: number, slot: number): number {
    const entry = this.#strings.length;
    if (entry >= MAX_VALUES) return -1;
    this.#strings.push(buffer.toString('latin1', from, to));
    this.#slots[slot * 2] = hash;
    this.#slots[slot * 2 + 1] = entry + 1;
    // Kept at most half full: a slot per value takes 8 bytes, 4 more while it doubles.
    if ((entry + 1) * 4 > this.#slots.length) this.#rehash();
    return entry;
  }

  /** Doubles the slots. */
  #rehash(): void {
    const old = this.#slots;
    const slots = new Int32Array(old.length * 2);
    const mask = (slots.length >> 1) - 1;
    for (let at = 0; at < old.length; at += 2) {
      if (old[at + 1] === 0) continue;
      let slot = old[at]! & mask;
      while (slots[slot * 2 + 1] !== 0) slot = (slot + 1) & mask;
      slots[slot * 2] = old[at]!;
      slots[slot * 2 + 1] = old[at + 1]!;
    }
    this.#slots = slots;
  }
}

/** Whether the one-byte string `s` is the bytes of `buffer` from `from` (its length checked by the caller). */
function sameBytes(s: string, buffer: Buffer, from: number): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== buffer[from + i]) return false;
  return true;
}
