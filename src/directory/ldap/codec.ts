/**
 * A compact binary container for the kept state: sections of 32-bit integers, one table of
 * strings (one UTF-16 blob and its offsets: decoding it is one call, each string a slice) and
 * a little JSON for what is small. Decoding costs one pass over the bytes, no per-entry JSON.
 */
const MAGIC = 0x31435347; // "GSC1"

export class Writer {
  readonly #strings: string[] = [];
  readonly #sections: Uint8Array[] = [];
  #length = 0;

  /** A string's index in the table; -1 for null. */
  str(value: string | null | undefined): number {
    if (value === null || value === undefined) return -1;
    this.#strings.push(value);
    return this.#strings.length - 1;
  }

  ints(values: ArrayLike<number>): void {
    const array = values instanceof Int32Array ? values : Int32Array.from(values);
    this.#sections.push(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  }

  json(value: unknown): void {
    this.#sections.push(Buffer.from(JSON.stringify(value), 'utf8'));
  }

  finish(): Uint8Array {
    const offsets = new Uint32Array(this.#strings.length + 1);
    let at = 0;
    for (let k = 0; k < this.#strings.length; k++) {
      at += this.#strings[k]!.length;
      offsets[k + 1] = at;
    }
    const blob = Buffer.from(this.#strings.join(''), 'utf16le');
    const parts = [new Uint8Array(offsets.buffer), blob, ...this.#sections];
    const header = new Uint32Array(2 + parts.length);
    header[0] = MAGIC;
    header[1] = parts.length;
    parts.forEach((p, k) => (header[2 + k] = p.byteLength));
    let total = header.byteLength;
    for (const p of parts) total += (p.byteLength + 3) & ~3;
    const out = new Uint8Array(total);
    out.set(new Uint8Array(header.buffer), 0);
    this.#length = header.byteLength;
    for (const p of parts) {
      out.set(p, this.#length);
      this.#length += (p.byteLength + 3) & ~3;
    }
    return out;
  }
}

export class Reader {
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
