/**
 * A compact binary container for the kept state: sections of 32-bit integers, one table of
 * strings (one UTF-16 blob and its offsets: decoding it is one call, each string a slice) and
 * a little JSON for what is small. Decoding costs one pass over the bytes, no per-entry JSON.
 */
import { finished } from 'node:stream/promises';
import { createGzip } from 'node:zlib';

const MAGIC = 0x31435347; // "GSC1"

/** Strings by index (null for a negative index). */
export interface StringTable {
  str(index: number): string | null;
}

/** A string table held as one string and the offsets of its strings. */
export class Table implements StringTable {
  readonly text: string;
  /** Where each string starts; one more ends the last. */
  readonly offsets: Uint32Array;
  constructor(text: string, offsets: Uint32Array) {
    this.text = text;
    this.offsets = offsets;
  }

  get size(): number {
    return this.offsets.length - 1;
  }

  str(index: number): string | null {
    return index < 0 ? null : this.text.slice(this.offsets[index]!, this.offsets[index + 1]!);
  }
}

/**
 * A string table filled string by string into bytes (the strings added are not kept): one byte a
 * character while every character fits in one (as V8 holds such strings), two from the first that
 * does not.
 */
export class TableBuilder {
  #bytes = Buffer.allocUnsafe(1 << 16);
  #chars = 0;
  #wide = false;
  readonly #ends = new IntList();

  add(value: string): number {
    if (!this.#wide && !ONE_BYTE.test(value)) this.#widen();
    const size = this.#wide ? 2 : 1;
    this.#reserve((this.#chars + value.length) * size);
    this.#bytes.write(value, this.#chars * size, this.#wide ? 'utf16le' : 'latin1');
    this.#chars += value.length;
    this.#ends.push(this.#chars);
    return this.#ends.length - 1;
  }

  #reserve(bytes: number): void {
    if (bytes <= this.#bytes.length) return;
    const next = Buffer.allocUnsafe(Math.max(bytes, Math.ceil(this.#bytes.length * 1.5)));
    this.#bytes.copy(next, 0, 0, this.#chars * (this.#wide ? 2 : 1));
    this.#bytes = next;
  }

  #widen(): void {
    const wide = Buffer.from(this.#bytes.toString('latin1', 0, this.#chars), 'utf16le');
    this.#bytes = Buffer.allocUnsafe(Math.max(wide.length * 2, 1 << 16));
    wide.copy(this.#bytes);
    this.#wide = true;
  }

  finish(): Table {
    const offsets = new Uint32Array(this.#ends.length + 1);
    offsets.set(this.#ends.view(), 1);
    const text = this.#wide ? this.#bytes.toString('utf16le', 0, this.#chars * 2) : this.#bytes.toString('latin1', 0, this.#chars);
    this.#bytes = Buffer.alloc(0);
    return new Table(text, offsets);
  }
}

/** Text whose every character fits in one byte. */
const ONE_BYTE = /^[\u0000-\u00ff]*$/;

export class Writer {
  readonly #strings: string[] = [];
  readonly #sections: Uint8Array[] = [];
  /** A table taken whole: its strings are the first of this one's. */
  #adopted: Table | null = null;

  /** A string's index in the table; -1 for null. */
  str(value: string | null | undefined): number {
    if (value === null || value === undefined) return -1;
    this.#strings.push(value);
    return (this.#adopted?.size ?? 0) + this.#strings.length - 1;
  }

  /** Takes a table whole, its indexes kept (only before any other string); false when it cannot. */
  adopt(table: StringTable): boolean {
    if (!(table instanceof Table) || this.#strings.length > 0 || this.#adopted) return false;
    this.#adopted = table;
    return true;
  }

  ints(values: ArrayLike<number>): void {
    const array = values instanceof Int32Array ? values : Int32Array.from(values);
    this.#sections.push(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }

  json(value: unknown): void {
    this.#sections.push(Buffer.from(JSON.stringify(value), 'utf8'));
  }

  /** The container whole (tests, small states). */
  finish(): Uint8Array {
    const parts = [...this.#chunks()];
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  /**
   * The container gzipped, fed to the compressor piece by piece: the uncompressed container (and
   * the string table as one string) never exists whole.
   */
  async gzip(level = 1): Promise<Uint8Array> {
    const z = createGzip({ level });
    const out: Buffer[] = [];
    z.on('data', (b: Buffer) => out.push(b));
    const done = finished(z);
    // One buffer holds the strings being compressed: each piece is written once the last is consumed.
    const scratch = Buffer.allocUnsafe(PIECE * 2);
    for (const chunk of this.#chunks(scratch)) {
      await new Promise<void>((resolve, reject) => z.write(chunk, (error) => (error ? reject(error) : resolve())));
    }
    z.end();
    await done;
    return Buffer.concat(out);
  }

  /** The container's bytes in order: header, string offsets, the strings (UTF-16, in pieces), the sections (each padded to 4 bytes). */
  /** With `scratch`, the strings come in that buffer, each piece valid until the next is asked for. */
  *#chunks(scratch?: Buffer): Generator<Uint8Array> {
    const strings = this.#strings;
    const adopted = this.#adopted ?? new Table('', new Uint32Array(1));
    const offsets = new Uint32Array(adopted.size + strings.length + 1);
    offsets.set(adopted.offsets);
    let chars = adopted.text.length;
    for (let k = 0; k < strings.length; k++) {
      chars += strings[k]!.length;
      offsets[adopted.size + k + 1] = chars;
    }
    const lengths = [offsets.byteLength, chars * 2, ...this.#sections.map((p) => p.byteLength)];
    const header = new Uint32Array(2 + lengths.length);
    header[0] = MAGIC;
    header[1] = lengths.length;
    lengths.forEach((n, k) => (header[2 + k] = n));
    yield new Uint8Array(header.buffer);
    yield new Uint8Array(offsets.buffer);
    yield* pieces(adopted.text, strings, scratch);
    if (chars % 2) yield new Uint8Array(2);
    for (const p of this.#sections) {
      yield p;
      if (p.byteLength % 4) yield new Uint8Array(4 - (p.byteLength % 4));
    }
  }
}

/** Characters of the string table encoded at a time. */
const PIECE = 1 << 17;

/** A text and then strings, as UTF-16 bytes in pieces of about PIECE characters (in `scratch` when given). */
function* pieces(text: string, strings: readonly string[], scratch?: Buffer): Generator<Uint8Array> {
  const buffer = scratch ?? Buffer.allocUnsafe(PIECE * 2);
  const fresh = () => (scratch ? buffer : Buffer.allocUnsafe(PIECE * 2));
  let out = buffer;
  for (let at = 0; at < text.length; at += PIECE) {
    const n = out.write(text.slice(at, at + PIECE), 0, 'utf16le');
    yield out.subarray(0, n);
    out = fresh();
  }
  let used = 0;
  for (const s of strings) {
    if (used + s.length > PIECE) {
      if (used > 0) yield out.subarray(0, used * 2);
      out = fresh();
      used = 0;
      if (s.length > PIECE) {
        yield Buffer.from(s, 'utf16le');
        continue;
      }
    }
    out.write(s, used * 2, 'utf16le');
    used += s.length;
  }
  if (used > 0) yield out.subarray(0, used * 2);
}

/** 32-bit integers appended to a typed array that grows (not a number[] copied at the end). */
export class IntList {
  #array = new Int32Array(1024);
  length = 0;

  push(...values: number[]): void {
    if (this.length + values.length > this.#array.length) {
      const next = new Int32Array(Math.max(this.#array.length * 2, this.length + values.length));
      next.set(this.#array.subarray(0, this.length));
      this.#array = next;
    }
    for (const v of values) this.#array[this.length++] = v;
  }

  /** The values pushed (a view: valid until the next push). */
  view(): Int32Array {
    return this.#array.subarray(0, this.length);
  }
}

export class Reader implements StringTable {
  readonly #bytes: Uint8Array;
  readonly #lengths: number[];
  #at: number;
  #section = 0;
  readonly #text: string;
  readonly #offsets: Uint32Array;

  /** Throws when the bytes are not a container. */
  constructor(bytes: Uint8Array) {
    // A copy aligned on 4 bytes, so the integer sections are views.
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes); // (a Buffer's slice() would not copy)
    this.#bytes = aligned;
    const view = new DataView(aligned.buffer, aligned.byteOffset, aligned.byteLength);
    if (aligned.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('not a state container');
    const count = view.getUint32(4, true);
    this.#lengths = Array.from({ length: count }, (_, k) => view.getUint32(8 + 4 * k, true));
    this.#at = 8 + 4 * count;
    const offsets = this.#next();
    this.#offsets = new Uint32Array(offsets.buffer, offsets.byteOffset, offsets.byteLength / 4);
    const blob = this.#next();
    this.#text = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('utf16le');
  }

  #next(): Uint8Array {
    const length = this.#lengths[this.#section++];
    if (length === undefined) throw new Error('state container ends early');
    const part = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += (length + 3) & ~3;
    return part;
  }

  str(index: number): string | null {
    return index < 0 ? null : this.#text.slice(this.#offsets[index]!, this.#offsets[index + 1]!);
  }

  ints(): Int32Array {
    const part = this.#next();
    return new Int32Array(part.buffer, part.byteOffset, part.byteLength / 4);
  }

  json<T>(): T {
    const part = this.#next();
    return JSON.parse(Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('utf8')) as T;
  }
}
