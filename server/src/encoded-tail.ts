/**
 * The newest committed events of a room, kept as the JSON text they go out as.
 *
 * Why: every committed event is encoded once for its broadcast, and then, before this,
 * again for every welcome and every history page that included it, after a read from
 * the store (a SQLite query, JSON.parse and validation of each row): about 3 ms for a
 * page of 1,000 events, all in one turn of the event loop. Welcomes and recent history
 * pages ask for the newest events far more than for old ones (a joining client gets the
 * tail since the last checkpoint, at most ~1,000 events; a late joiner's history panel
 * starts at the head), so the room keeps the newest events' text and splices it into
 * those frames: no read, no parse, no second encode. Under the attack test these frames
 * were the longest stretches the honest clients waited behind.
 *
 * What it promises: `join(from, to)` is, when `covers(from, to)`, exactly the
 * comma-separated JSON of the committed events `from < seq ≤ to` as `JSON.stringify`
 * writes them (so a frame built with it decodes to the same events as one built with
 * `encodeServerMessage`). It holds a contiguous run ending at the committed head, at most
 * `maxEvents` events and about `maxChars` characters (a huge paste does not pin memory).
 */
import type { Checkpoint, DocEvent } from '../../shared/src/index.js';

export class EncodedTail {
  /** Text of events from+1 … from+texts.length, contiguous; `start` skips dropped ones. */
  private texts: string[] = [];
  private start = 0;
  private from = 0;
  private chars = 0;
  /** The newest checkpoints, encoded (they are read for every welcome). */
  private readonly cps = new Map<number, string>();

  constructor(
    private readonly maxEvents = 4096,
    private readonly maxChars = 4 * 1024 * 1024,
    private readonly maxCheckpoints = 4,
  ) {}

  /** Starts over at `head` (the room was loaded or reloaded from the store). */
  reset(head: number): void {
    this.texts = [];
    this.start = 0;
    this.from = head;
    this.chars = 0;
    this.cps.clear();
  }

  /** The newest seq held. */
  get head(): number {
    return this.from + this.texts.length - this.start;
  }

  /**
   * Adds committed events (the next seqs) and returns their texts. A gap (events that
   * do not continue the tail) starts the tail over at them.
   */
  push(events: readonly DocEvent[]): string[] {
    const out = events.map((e) => JSON.stringify(e));
    if (events.length === 0) return out;
    if (events[0].seq !== this.head + 1) this.reset(events[0].seq - 1);
    for (const t of out) {
      this.texts.push(t);
      this.chars += t.length;
    }
    while (this.texts.length - this.start > this.maxEvents || (this.chars > this.maxChars && this.texts.length - this.start > 1)) {
      this.chars -= this.texts[this.start].length;
      this.start++;
      this.from++;
    }
    if (this.start > 1024 && this.start * 2 > this.texts.length) {
      this.texts = this.texts.slice(this.start);
      this.start = 0;
    }
    return out;
  }

  /** Whether the events `from < seq ≤ to` are all held. */
  covers(from: number, to: number): boolean {
    return from >= this.from && to <= this.head && from <= to;
  }

  /** The events `from < seq ≤ to` as comma-separated JSON (call only when `covers`). */
  join(from: number, to: number): string {
    if (!this.covers(from, to)) throw new RangeError(`EncodedTail: ${from}..${to} is not within ${this.from}..${this.head}`);
    const a = this.start + (from - this.from);
    return this.texts.slice(a, a + (to - from)).join(',');
  }

  /** The events `from < seq ≤ to` as a JSON array: from the tail when it has them, else from `read`. */
  eventsJson(from: number, to: number, read: (from: number, to: number) => readonly DocEvent[]): string {
    if (to <= from) return '[]';
    return this.covers(from, to) ? `[${this.join(from, to)}]` : JSON.stringify(read(from, to));
  }

  /** The kept JSON of the checkpoint at `seq`, if it is kept. */
  checkpointText(seq: number): string | undefined {
    return this.cps.get(seq);
  }

  /** Encodes `cp` and keeps the text for the next frames that carry it (the newest few). */
  keepCheckpoint(cp: Checkpoint): string {
    let text = this.cps.get(cp.seq);
    if (text === undefined) {
      text = JSON.stringify(cp);
      this.cps.set(cp.seq, text);
      if (this.cps.size > this.maxCheckpoints) this.cps.delete(this.cps.keys().next().value!);
    }
    return text;
  }
}
