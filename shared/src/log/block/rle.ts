/**
 * Run-length columns of signed integers, after Yjs's `IntDiffOptRleEncoder` idea: a value
 * that repeats costs one entry, a value alone costs no more than its varint.
 *
 * Each entry is `u * 2 + r` (u the zigzag of the value; r = 1 if a run follows) and, when r
 * is 1, the run's length minus 2. So a column of the same delta a thousand times (a typist's
 * clientSeq, seq - 1 bases, one author) is three bytes, and a column that changes at every
 * event (a position jumping around) is one varint per event, like a plain column.
 */
import { ByteReader, ByteWriter, zigzag } from './bytes.js';

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
