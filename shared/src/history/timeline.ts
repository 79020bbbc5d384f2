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
 *   - one movable rope per `every` events (a checkpoint, "home" at k × every): rope k
 *     answers every version nearer to its home than to any other, and stays wherever
 *     the last such query left it.
 *
 * `ropeAt(v)` takes the rope of the nearest home and moves it to v: forward by applying
 * events, backward by reverting them. So a frame of a slider drag costs only the events
 * between two slider positions, and a far jump at most `every` events from wherever that
 * rope was (it is always within every/2 of its home), whatever the length of the history.
 * Nothing is copied per query: a copy would be allocation the young-generation GC must
 * trace, and in the bench those pauses were the slow queries (p99).
 *
 * Live events go to the head rope, never to a rope someone is looking at: appending while
 * the slider shows an old version does not move what it shows.
 */
import type { DocEvent } from '../log/event.js';
import type { AuthorRun } from '../text/authorship.js';
import { Rope } from '../text/rope.js';

/** A checkpoint rope: built at `home`, now at `seq` (always within every/2 of home). */
interface Slot {
  readonly home: number;
  readonly rope: Rope;
  seq: number;
}

export interface HistoryIndexOptions {
  /** Events between checkpoint ropes (default 1000): memory is one document copy per `every` events. */
  every?: number;
}

/** How the last `ropeAt` got there (tests and the bench look at it). */
export interface IndexMove {
  /** 'walk': the rope of the last query went on; 'switch': the rope of another home was taken, at `from`. */
  readonly how: 'walk' | 'switch' | 'none';
  readonly from: number;
  /** Events applied or reverted. */
  readonly steps: number;
}

const NO_RUNS: readonly AuthorRun[][] = [];

export class HistoryIndex {
  private readonly events: DocEvent[] = [];
  /** Per event (index seq - 1): the authorship of what its op deletes, one list per delete; null when it deletes nothing. */
  private readonly deleted: (AuthorRun[][] | null)[] = [];
  private readonly slots: Slot[] = [];
  private readonly every: number;
  private readonly headRope: Rope;
  private lastSlot: Slot | null = null;
  private last: IndexMove = { how: 'none', from: 0, steps: 0 };

  /** `events` are the log from seq 1, in order. */
  constructor(events: readonly DocEvent[], opts: HistoryIndexOptions = {}) {
    this.every = Math.max(1, Math.floor(opts.every ?? 1000));
    this.headRope = Rope.empty();
    this.slots.push({ home: 0, seq: 0, rope: Rope.empty() });
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
      const n = this.events.length;
      if (n % this.every === 0) this.slots.push({ home: n, seq: n, rope: flatCopy(rope) });
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

  /** The rope at version v, owned by the index: read it, do not keep or change it (the next query moves it). */
  ropeAt(v: number): Rope {
    if (!Number.isInteger(v) || v < 0 || v > this.events.length) {
      throw new RangeError(`version ${v} is outside 0..${this.events.length}`);
    }
    const slot = this.slots[Math.min(Math.round(v / this.every), this.slots.length - 1)];
    const from = slot.seq;
    this.walk(slot, v);
    this.last = { how: slot === this.lastSlot ? 'walk' : 'switch', from, steps: Math.abs(v - from) };
    this.lastSlot = slot;
    return slot.rope;
  }

  /** The text at version v. */
  textAt(v: number): string {
    return this.ropeAt(v).toString();
  }

  /** Moves a slot's rope to v, applying or reverting one event at a time. */
  private walk(slot: Slot, v: number): void {
    const rope = slot.rope;
    let at = slot.seq;
    let lastAuthor: string | null = null;
    let lastId = 0;
    while (at < v) {
      const e = this.events[at];
      if (e.author !== lastAuthor) {
        lastAuthor = e.author;
        lastId = rope.authorId(e.author);
      }
      rope.applyTrusted(e.op, lastId);
      slot.seq = ++at;
    }
    while (at > v) {
      at--;
      rope.revert(this.events[at].op, this.deleted[at] ?? (NO_RUNS as AuthorRun[][]));
      slot.seq = at;
    }
  }
}

/**
 * A copy of `rope` whose leaves are slices of one flat string. Why not `clone()`: leaf
 * texts built by edits are chains of concatenations that V8 flattens the first time they
 * are read, allocating young memory held by old objects; built flat, the first reads of a
 * checkpoint rope allocate nothing.
 */
function flatCopy(rope: Rope): Rope {
  return Rope.fromRuns(rope.toString(), rope.authorship());
}
