/**
 * Bytes in and out: the primitives every column of a block is made of.
 *
 * Unsigned integers are LEB128 varints (7 bits a byte, low bits first, high bit set on every
 * byte but the last), signed ones are zigzag-mapped first (0, -1, 1, -2, … become 0, 1, 2,
 * 3, …) so that a small delta of either sign stays one byte. Both work on the whole safe
 * integer range with arithmetic, not 32-bit bit operations, because times are milliseconds
 * since the epoch (41 bits).
 *
 * The reader never throws on bad input: it sets `failed` and returns 0, and the decoder checks
 * the flag where it matters (once per column, and before it builds anything from a length),
 * so a hostile block costs no more than its size and a broken one is a value, not an
 * exception. A varint must be minimal (no trailing zero byte) and fit 2^53, so each number
 * has exactly one encoding.
 *
 * Run-length columns of signed integers, after Yjs's `IntDiffOptRleEncoder` idea: a value
 * that repeats costs one entry, a value alone costs no more than its varint. Each entry is
 * `u * 2 + r` (u the zigzag of the value; r = 1 if a run follows) and, when r is 1, the run's
 * length minus 2. So a column of the same delta a thousand times (a typist's clientSeq, seq - 1
 * bases, one author) is three bytes, and a column that changes at every event (a position
 * jumping around) is one varint per event, like a plain column.
 */

/** A growable byte buffer written front to back. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }

  /** An unsigned integer, 0 ≤ v ≤ 2^53 - 1. */
  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`block: ${v} is not an unsigned safe integer`);
    this.room(8);
    const buf = this.buf;
    let n = this.length;
    while (v >= 0x80) {
      buf[n++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[n++] = v;
    this.length = n;
  }

  /** A signed integer, |v| ≤ 2^52 (zigzag keeps the mapped value safe). */
  int(v: number): void {
    this.uint(zigzag(v));
  }

  /** An IEEE 754 double, little-endian, bit for bit (so -0 and fractions survive). */
  float64(v: number): void {
    this.room(8);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.length, 8).setFloat64(0, v, true);
    this.length += 8;
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** The bytes written so far (a view: copy it before writing more if it must be kept). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const MAX_ZIGZAG_ABS = 2 ** 52;

export function zigzag(v: number): number {
  if (!Number.isSafeInteger(v) || v > MAX_ZIGZAG_ABS || v < -MAX_ZIGZAG_ABS) throw new Error(`block: ${v} is not a signed integer within ±2^52`);
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

export function unzigzag(u: number): number {
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/** Reads what a ByteWriter wrote, from `start` to `end` of `bytes`; see the essay for `failed`. */
export class ByteReader {
  pos: number;
  failed = false;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  get done(): boolean {
    return this.pos === this.end;
  }

  byte(): number {
    if (this.pos >= this.end) return this.fail();
    return this.bytes[this.pos++];
  }

  uint(): number {
    const bytes = this.bytes;
    let pos = this.pos;
    if (pos < this.end) {
      const b = bytes[pos];
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    // The long way: up to 8 bytes (56 bits), checked for minimality and the safe range.
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (pos >= this.end) return this.fail();
      const b = bytes[pos++];
      v += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && i > 0) return this.fail();
        if (v > Number.MAX_SAFE_INTEGER) return this.fail();
        this.pos = pos;
        return v;
      }
      scale *= 0x80;
    }
    return this.fail();
  }

  int(): number {
    const u = this.uint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  float64(): number {
    if (this.end - this.pos < 8) return this.fail();
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8).getFloat64(0, true);
    this.pos += 8;
    return v;
  }

  /** The next `n` bytes as a view, or an empty one (and `failed`) if there are fewer. */
  take(n: number): Uint8Array {
    if (n > this.end - this.pos) {
      this.fail();
      return new Uint8Array(0);
    }
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  fail(): number {
    this.failed = true;
    this.pos = this.end;
    return 0;
  }
}

/** Collects a column value by value; `flush` writes it. */
export class RleWriter {
  private value = 0;
  private count = 0;

  constructor(private readonly out: ByteWriter) {}

  push(v: number): void {
    if (this.count > 0 && v === this.value) {
      this.count++;
      return;
    }
    this.flush();
    this.value = v;
    this.count = 1;
  }

  /** Writes the pending run; call once after the last value. */
  flush(): void {
    if (this.count === 0) return;
    const u = zigzag(this.value);
    if (this.count === 1) this.out.uint(u * 2);
    else {
      this.out.uint(u * 2 + 1);
      this.out.uint(this.count - 2);
    }
    this.count = 0;
  }
}

/** Reads an RleWriter's column; past the end, or on bad bytes, `failed` is set and 0 comes back. */
export class RleReader {
  private value = 0;
  private left = 0;

  constructor(private readonly in_: ByteReader) {}

  next(): number {
    if (this.left > 0) {
      this.left--;
      return this.value;
    }
    const head = this.in_.uint();
    const u = Math.floor(head / 2);
    this.value = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    this.left = head % 2 === 1 ? this.in_.uint() + 1 : 0;
    return this.value;
  }

  /** True when every value written was read: no run left over, no byte left in the column. */
  get done(): boolean {
    return this.left === 0 && this.in_.done && !this.in_.failed;
  }

  get failed(): boolean {
    return this.in_.failed;
  }
}

/**
 * Reads `count` values of an RleWriter column into `out[0..count)`, run by run: the decoder's
 * fast path (a run is one fill, not a call per value). False, with `out` partly written, if
 * the column holds fewer values than `count`, has bad bytes or a run crosses `count`. The caller
 * checks that the column ends there (nothing after the loop here: V8 compiles this loop by
 * on-stack replacement, and code after it that had never run would deoptimize it).
 */
export function readRleColumn(in_: ByteReader, out: Float64Array, count: number): boolean {
  let i = 0;
  while (i < count) {
    const head = in_.uint();
    const u = Math.floor(head / 2);
    const value = u % 2 === 0 ? u / 2 : -(u + 1) / 2;
    const run = head % 2 === 1 ? in_.uint() + 2 : 1;
    if (in_.failed || run > count - i) return false;
    const end = i + run;
    if (run > 16) {
      out.fill(value, i, end);
      i = end;
    } else while (i < end) out[i++] = value;
  }
  return true;
}
