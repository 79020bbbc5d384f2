/**
 * The history index: the document at any version, fast, for the history slider and
 * for state(v) queries (DESIGN.md L5, T1).
 *
 * It keeps a checkpoint (text and authorship) every `every` events and one rope, the
 * cursor, at the last version asked for. `stateAt(v)` moves the cursor forward by
 * replaying events when v is ahead of it and no checkpoint is closer; otherwise it
 * starts from the nearest checkpoint at or before v. Either way a query costs at most
 * `every` event applications plus building a rope from one checkpoint, whatever the
 * length of the history. Moving backwards by inverting ops (L6) would be cheaper for
 * small steps but cannot restore the authorship of deleted text, which the view shows.
 */
import type { DocEvent } from '../log/event.js';
import { replayInto } from '../log/replay.js';
import { Rope } from '../text/rope.js';

/** A frozen copy of the rope at `seq`; it shares leaf strings with later copies. */
interface Snapshot {
  readonly seq: number;
  readonly rope: Rope;
}

export interface HistoryIndexOptions {
  /** Events between checkpoints. */
  every?: number;
}

export class HistoryIndex {
  private readonly events: DocEvent[];
  private readonly snapshots: Snapshot[] = [];
  private readonly every: number;
  private cursor: Rope;
  private cursorSeq = 0;

  /** `events` are the log from seq 1, in order. */
  constructor(events: readonly DocEvent[], opts: HistoryIndexOptions = {}) {
    this.every = Math.max(1, opts.every ?? 1000);
    this.events = [];
    this.cursor = Rope.empty();
    this.snapshots.push({ seq: 0, rope: Rope.empty() });
    this.append(events);
  }

  /** The newest version. */
  get head(): number {
    return this.events.length;
  }

  /** Adds events at the head (live edits arriving while the slider is open). */
  append(events: readonly DocEvent[]): void {
    // Check the whole batch first: a batch that broke off part way would leave the cursor
    // ahead of cursorSeq, and every later answer wrong.
    for (let i = 0; i < events.length; i++) {
      const want = this.events.length + i + 1;
      if (events[i].seq !== want) throw new Error(`HistoryIndex: expected seq ${want}, got ${events[i].seq}`);
    }
    const builder = this.cursorSeq === this.events.length ? this.cursor : this.ropeAt(this.events.length);
    let seq = this.events.length;
    for (const e of events) {
      this.events.push(e);
      replayInto(builder, seq, [e]);
      seq++;
      if (seq % this.every === 0) this.snapshots.push({ seq, rope: builder.clone() });
    }
    this.cursor = builder;
    this.cursorSeq = seq;
  }

  /** The event that made version v (v ≥ 1). */
  eventAt(v: number): DocEvent | undefined {
    return this.events[v - 1];
  }

  /** The rope at version v, owned by the index: read it, do not keep or change it. */
  ropeAt(v: number): Rope {
    if (!Number.isInteger(v) || v < 0 || v > this.events.length) {
      throw new RangeError(`version ${v} is outside 0..${this.events.length}`);
    }
    const snap = this.snapshots[Math.floor(v / this.every)];
    if (!(this.cursorSeq <= v && this.cursorSeq >= snap.seq)) {
      this.cursor = snap.rope.clone();
      this.cursorSeq = snap.seq;
    }
    replayInto(this.cursor, this.cursorSeq, this.events.slice(this.cursorSeq, v));
    this.cursorSeq = v;
    return this.cursor;
  }

  /** The text at version v. */
  textAt(v: number): string {
    return this.ropeAt(v).toString();
  }
}
