/**
 * The history index: the document at any version, fast, for the history slider and
 * for state(v) queries (DESIGN.md L5, L6, T1).
 *
 * What it keeps:
 *   - the log from seq 1 (the events themselves, shared with the caller);
 *   - the head rope, always at the newest version, which live events are applied to;
 *   - for each event, the authorship of the text its op deletes (recorded once, when the
 *     event is appended), so the event can be taken back exactly, authors included
 *     (`Rope.revert`): the op alone inverts the text (L6), this adds who wrote it;
 *   - a frozen snapshot of the rope every `every` events;
 *   - one cursor rope at the last version asked for.
 *
 * `ropeAt(v)` moves the cursor: forward by applying events, backward by reverting them,
 * so a frame of a slider drag costs only the events between two positions. When the
 * cursor is further away than the nearest snapshot (below or above v) plus the cost of
 * copying one, it starts from that snapshot instead and replays forward or backward to
 * v. A query therefore never costs more than `every / 2` event steps plus one copy,
 * whatever the length of the history, and a scrub costs the distance scrubbed.
 *
 * Live events go to the head rope, not the cursor: appending while someone looks at an
 * old version does not move what they see, nor make their next step cost more.
 */
import type { DocEvent } from '../log/event.js';
import type { AuthorRun } from '../text/authorship.js';
import { Rope } from '../text/rope.js';

/** A frozen rope at `seq` (never edited: copied before use; leaf strings are shared). */
interface Snapshot {
  readonly seq: number;
  readonly rope: Rope;
}

export interface HistoryIndexOptions {
  /** Events between snapshots (default 1000). */
  every?: number;
  /**
   * What copying a snapshot costs, in event steps (default every / 4): the cursor walks
   * when it is at most this much further than the nearest snapshot, else copies it.
   */
  copyCost?: number;
}

/** How the last `ropeAt` got there (tests and the bench look at it). */
export interface IndexMove {
  /** 'walk': from the cursor; 'snapshot': from a copy of the snapshot at `from`. */
  readonly how: 'walk' | 'snapshot' | 'none';
  readonly from: number;
  /** Events applied or reverted. */
  readonly steps: number;
}

const NO_RUNS: readonly AuthorRun[][] = [];

export class HistoryIndex {
  private readonly events: DocEvent[] = [];
  /** Per event (index seq - 1): the authorship of what its op deletes, one list per delete; null when it deletes nothing. */
  private readonly deleted: (AuthorRun[][] | null)[] = [];
  private readonly snapshots: Snapshot[] = [];
  private readonly every: number;
  private readonly copyCost: number;
  private readonly headRope: Rope;
  private cursor: Rope | null = null;
  private cursorSeq = 0;
  private last: IndexMove = { how: 'none', from: 0, steps: 0 };

  /** `events` are the log from seq 1, in order. */
  constructor(events: readonly DocEvent[], opts: HistoryIndexOptions = {}) {
    this.every = Math.max(1, Math.floor(opts.every ?? 1000));
    this.copyCost = Math.max(0, opts.copyCost ?? Math.floor(this.every / 4));
    this.headRope = Rope.empty();
    this.snapshots.push({ seq: 0, rope: Rope.empty() });
    this.append(events);
  }

  /** The newest version. */
  get head(): number {
    return this.events.length;
  }

  /** How the last `ropeAt` moved (for tests and measurements). */
  get lastMove(): IndexMove {
    return this.last;
  }

  /** Adds events at the head (live edits arriving while the slider is open). */
  append(events: readonly DocEvent[]): void {
    // Check the whole batch first: a batch that broke off part way would leave the head
    // rope ahead of the log, and every later answer wrong.
    for (let i = 0; i < events.length; i++) {
      const want = this.events.length + i + 1;
      if (events[i].seq !== want) throw new Error(`HistoryIndex: expected seq ${want}, got ${events[i].seq}`);
    }
    const rope = this.headRope;
    let lastAuthor: string | null = null;
    let lastId = 0;
    for (const e of events) {
      if (e.author !== lastAuthor) {
        lastAuthor = e.author;
        lastId = rope.authorId(e.author);
      }
      const del = rope.applyRevertible(e.op, lastId);
      this.events.push(e);
      this.deleted.push(del.length > 0 ? del : null);
      if (this.events.length % this.every === 0) this.snapshots.push({ seq: this.events.length, rope: rope.clone() });
    }
  }

  /** The event that made version v (v ≥ 1). */
  eventAt(v: number): DocEvent | undefined {
    return this.events[v - 1];
  }

  /** The events `from < seq ≤ to` (clamped to the log), read-only. */
  eventsBetween(from: number, to: number): readonly DocEvent[] {
    return this.events.slice(Math.max(0, from), Math.max(0, Math.min(to, this.events.length)));
  }

  /** The rope at version v, owned by the index: read it, do not keep or change it. */
  ropeAt(v: number): Rope {
    if (!Number.isInteger(v) || v < 0 || v > this.events.length) {
      throw new RangeError(`version ${v} is outside 0..${this.events.length}`);
    }
    const below = Math.floor(v / this.every);
    const lower = this.snapshots[below];
    const upper = below + 1 < this.snapshots.length ? this.snapshots[below + 1] : null;
    const snap = upper !== null && upper.seq - v < v - lower.seq ? upper : lower;
    const viaSnap = Math.abs(v - snap.seq) + this.copyCost;
    const viaCursor = this.cursor === null ? Infinity : Math.abs(v - this.cursorSeq);
    let how: IndexMove['how'] = 'walk';
    if (viaSnap < viaCursor) {
      this.cursor = snap.rope.clone();
      this.cursorSeq = snap.seq;
      how = 'snapshot';
    }
    const from = this.cursorSeq;
    this.walk(this.cursor!, v);
    this.last = { how, from, steps: Math.abs(v - from) };
    return this.cursor!;
  }

  /** The text at version v. */
  textAt(v: number): string {
    return this.ropeAt(v).toString();
  }

  /** Moves the cursor from cursorSeq to v, applying or reverting one event at a time. */
  private walk(rope: Rope, v: number): void {
    let at = this.cursorSeq;
    let lastAuthor: string | null = null;
    let lastId = 0;
    while (at < v) {
      const e = this.events[at];
      if (e.author !== lastAuthor) {
        lastAuthor = e.author;
        lastId = rope.authorId(e.author);
      }
      rope.applyTrusted(e.op, lastId);
      at++;
      this.cursorSeq = at;
    }
    while (at > v) {
      at--;
      rope.revert(this.events[at].op, this.deleted[at] ?? (NO_RUNS as AuthorRun[][]));
      this.cursorSeq = at;
    }
  }
}
