/**
 * A room's log as the blocks it sends: welcomes and history pages are built from these.
 *
 * Why: welcomes and history pages carry the log itself (a late joiner walks all of it), and
 * they go out as binary frames of encoded blocks (shared/src/protocol/frames.ts). Encoding is
 * the expensive part (a chunk of 1,000 events is a few ms of column building and deflate), and
 * every client that walks the history asks for the same chunks, so the room encodes each
 * chunk of `PAGE_CHUNK` seqs once and keeps it: a page is then mostly cached blocks
 * concatenated. Runs that are not a whole chunk (the head's open chunk, a page that starts
 * mid-chunk) are encoded when asked and kept among a few recent slices, since a welcome's
 * run (checkpoint … head) is asked for by everyone who joins at that head. Each checkpoint
 * is encoded once too (a welcome carries the newest to every new client).
 *
 * The newest events are also kept as values (`push` at each commit, up to two chunks), so
 * the runs welcomes need most are encoded without a store read: under the attack test the
 * reads behind welcomes were the longest stretches honest clients waited behind. A chunk
 * that the head has just completed, and a checkpoint just stored, are encoded by `warm`,
 * which the room runs after the commit's turn (not on the ack's path): the first reader of
 * a page then finds it ready instead of paying a read and an encode (a few ms a chunk)
 * while other connections wait.
 *
 * What it promises: `run(from, to)` decodes to exactly the committed events
 * `from < seq ≤ to` (a range within one chunk), `checkpoint(seq)` to the stored checkpoint
 * at `seq`; what it keeps stays within about `maxBytes` (the newest entries stay).
 */
import {
  PAGE_CHUNK,
  encodeBlock,
  encodeCheckpointBlock,
  type Checkpoint,
  type DocEvent,
  type PageCost,
} from '../../shared/src/index.js';

/** Where a cache reads what it has not kept: the store. Reads throw if the store does (a damaged stored block included). */
export interface BlockSource {
  range(from: number, to: number): readonly DocEvent[];
  checkpointAtOrBefore(at: number): Checkpoint | null;
  /** Optional: the blocks the store keeps encoded wholly within `from < seq ≤ to` (LogStore.storedBlocks). */
  storedBlocks?(from: number, to: number): readonly { first: number; last: number; data: Uint8Array }[];
  /** Optional: the checkpoint at `seq` as the store keeps it encoded, or null (LogStore.storedCheckpoint). */
  storedCheckpoint?(seq: number): Uint8Array | null;
}

/** How long pricing one page may spend encoding what is not cached (ms): a cold page ends early instead of holding the loop. */
export const PAGE_ENCODE_BUDGET_MS = 40;

export class BlockCache implements PageCost {
  /** When the page being priced must stop encoding more (performance.now()), or Infinity. */
  private deadline = Infinity;
  /** Encoded whole chunks by index k: the events k·PAGE_CHUNK < seq ≤ (k+1)·PAGE_CHUNK. */
  private readonly chunks = new Map<number, Uint8Array>();
  /** Encoded partial runs, "from:to", the most recent last. */
  private readonly slices = new Map<string, Uint8Array>();
  private readonly cps = new Map<number, Uint8Array>();
  /** Checkpoints kept as values until their block is first needed (or `warm` runs). */
  private readonly cpValues = new Map<number, Checkpoint>();
  private bytes = 0;
  /** The newest committed events, seqs recentFrom + 1 … head. */
  private recent: DocEvent[] = [];
  private recentFrom = 0;

  constructor(
    private readonly source: BlockSource,
    private readonly maxBytes = 16 * 1024 * 1024,
    private readonly maxSlices = 8,
  ) {}

  /** Starts over at `head` (the room was loaded or reloaded from the store). */
  reset(head: number): void {
    this.chunks.clear();
    this.slices.clear();
    this.cps.clear();
    this.cpValues.clear();
    this.bytes = 0;
    this.recent = [];
    this.recentFrom = head;
  }

  /** The newest seq whose event is kept as a value. */
  get head(): number {
    return this.recentFrom + this.recent.length;
  }

  /** Committed events (the next seqs). A gap starts the kept events over at them. */
  push(events: readonly DocEvent[]): void {
    if (events.length === 0) return;
    if (events[0].seq !== this.head + 1) {
      this.recent = [];
      this.recentFrom = events[0].seq - 1;
    }
    for (const e of events) this.recent.push(e);
    // Keep the open chunk and the one before it.
    const keepFrom = Math.max(this.recentFrom, (Math.floor(this.head / PAGE_CHUNK) - 1) * PAGE_CHUNK);
    if (keepFrom - this.recentFrom >= PAGE_CHUNK) {
      this.recent = this.recent.slice(keepFrom - this.recentFrom);
      this.recentFrom = keepFrom;
    }
    // Slices that ended at the old head stay right (the log only grows), but are rarely asked again.
  }

  /** Starts pricing a page: from now on `exhausted` says when its encoding budget is spent. */
  beginPage(budgetMs = PAGE_ENCODE_BUDGET_MS): PageCost {
    this.deadline = performance.now() + budgetMs;
    return this;
  }

  /** PageCost: whether the page being priced has spent its encoding budget. */
  exhausted(): boolean {
    return performance.now() > this.deadline;
  }

  /** PageCost: the bytes of the run's block. */
  events(from: number, to: number): number {
    return this.run(from, to).length;
  }

  /** The blocks of `from < seq ≤ to`, one per chunk the range touches. */
  runs(from: number, to: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = from;
    while (at < to) {
      const next = Math.min(to, (Math.floor(at / PAGE_CHUNK) + 1) * PAGE_CHUNK);
      out.push(this.run(at, next));
      at = next;
    }
    return out;
  }

  /** The block of `from < seq ≤ to`, a non-empty range within one chunk. */
  run(from: number, to: number): Uint8Array {
    if (!(from < to) || Math.floor(from / PAGE_CHUNK) !== Math.floor((to - 1) / PAGE_CHUNK)) {
      throw new RangeError(`BlockCache.run: ${from}..${to} is not a non-empty range within one chunk`);
    }
    const whole = from % PAGE_CHUNK === 0 && to === from + PAGE_CHUNK;
    if (whole) {
      const k = from / PAGE_CHUNK;
      const hit = this.chunks.get(k);
      if (hit !== undefined) {
        this.chunks.delete(k);
        this.chunks.set(k, hit);
        return hit;
      }
      const block = this.stored(from, to) ?? encodeBlock(this.read(from, to));
      this.chunks.set(k, block);
      this.grew(block.length);
      return block;
    }
    const key = `${from}:${to}`;
    const hit = this.slices.get(key);
    if (hit !== undefined) return hit;
    const block = this.stored(from, to) ?? encodeBlock(this.read(from, to));
    this.slices.set(key, block);
    this.grew(block.length);
    if (this.slices.size > this.maxSlices) {
      const [oldest, b] = this.slices.entries().next().value!;
      this.slices.delete(oldest);
      this.bytes -= b.length;
    }
    return block;
  }

  /** PageCost: the bytes of the checkpoint's block. */
  checkpoint(seq: number): number {
    return this.checkpointBlock(seq).length;
  }

  /** The block of the stored checkpoint at `seq` (throws if there is none: the plan named it). */
  checkpointBlock(seq: number): Uint8Array {
    const hit = this.cps.get(seq);
    if (hit !== undefined) {
      this.cps.delete(seq);
      this.cps.set(seq, hit);
      return hit;
    }
    const kept = this.cpValues.get(seq);
    let block: Uint8Array | null = null;
    if (kept !== undefined) block = encodeCheckpointBlock(kept);
    else if (this.source.storedCheckpoint !== undefined) block = this.source.storedCheckpoint(seq);
    else {
      const cp = this.source.checkpointAtOrBefore(seq);
      if (cp !== null && cp.seq === seq) block = encodeCheckpointBlock(cp);
    }
    if (block === null) throw new Error(`BlockCache: the store has no checkpoint at ${seq}`);
    this.cpValues.delete(seq);
    this.cps.set(seq, block);
    this.grew(block.length);
    return block;
  }

  /** A checkpoint just stored (or loaded): the next welcomes carry it, so it is kept (encoded by `warm` or when first sent). */
  keepCheckpoint(cp: Checkpoint): void {
    if (!this.cps.has(cp.seq)) this.cpValues.set(cp.seq, cp);
  }

  /** Whether `warm` has anything to do. */
  get cold(): boolean {
    return this.cpValues.size > 0 || this.coldChunk() !== null;
  }

  /** Encodes the kept checkpoints and the whole chunks among the newest events that are not cached yet. */
  warm(): void {
    for (const seq of [...this.cpValues.keys()]) this.checkpointBlock(seq);
    for (let k = this.coldChunk(); k !== null; k = this.coldChunk()) this.run(k * PAGE_CHUNK, (k + 1) * PAGE_CHUNK);
  }

  /** A whole chunk within the kept newest events that is not encoded yet, or null. */
  private coldChunk(): number | null {
    for (let k = Math.ceil(this.recentFrom / PAGE_CHUNK); (k + 1) * PAGE_CHUNK <= this.head; k++) {
      if (!this.chunks.has(k)) return k;
    }
    return null;
  }

  /**
   * The store's own block of exactly `from < seq ≤ to`, if it keeps one (a sealed block the
   * size of a chunk): its bytes go out as they are, no decode and re-encode. (Asking costs an
   * index seek; the newest events may not be sealed yet, and are then encoded.)
   */
  private stored(from: number, to: number): Uint8Array | null {
    if (this.source.storedBlocks === undefined) return null;
    const got = this.source.storedBlocks(from, to);
    return got.length === 1 && got[0].first === from + 1 && got[0].last === to ? got[0].data : null;
  }

  private read(from: number, to: number): readonly DocEvent[] {
    if (from >= this.recentFrom && to <= this.head) return this.recent.slice(from - this.recentFrom, to - this.recentFrom);
    return this.source.range(from, to);
  }

  /** Drops the least recently used chunks, then the oldest checkpoints, until within `maxBytes`. */
  private grew(n: number): void {
    this.bytes += n;
    for (const map of [this.chunks, this.cps] as Map<number, Uint8Array>[]) {
      while (this.bytes > this.maxBytes && map.size > 1) {
        const [k, b] = map.entries().next().value!;
        map.delete(k);
        this.bytes -= b.length;
      }
    }
  }
}
