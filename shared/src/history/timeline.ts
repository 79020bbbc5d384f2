/**
 * The history index: the document at any version, fast, for the history slider and
 * for state(v) queries (docs/spec.md L5, L6, T1).
 *
 * What it keeps:
 *   - the log from its base (the lowest version it holds, 0 or a server checkpoint) to
 *     the head (the events themselves, shared with the caller);
 *   - the head rope, always at the newest version, which live events are applied to;
 *   - for each event, the authorship of the text its op deletes (recorded once, when the
 *     event is appended or prepended), so the event can be taken back exactly, authors
 *     included (`Rope.revert`): the op alone inverts the text (L6), this adds who wrote it;
 *   - movable ropes ("slots"), one at the base and one every `every` events above it, and
 *     one at the base of every older segment prepended below and every `every` events
 *     above that, so two neighbouring homes are never more than `every` apart. A slot
 *     answers every version nearer to its home than to any other (found by binary search
 *     over the homes, which are sorted) and stays wherever the last such query left it.
 *
 * `ropeAt(v)` takes the rope of the nearest home and moves it to v: forward by applying
 * events, backward by reverting them. So a frame of a slider drag costs only the events
 * between two slider positions, and a far jump at most `every` events from wherever that
 * rope was (it is always within half a gap of its home), whatever the length of the
 * history. Nothing is allocated per query: no copy, no array, no closure (the binary
 * search and the walk use locals only). A copy would be allocation the young-generation
 * GC must trace, and in the bench those pauses were the slow queries (p99).
 *
 * Loading newest first (a browser that joined late a long document): the index starts at
 * a base near the head (`base` option, a server checkpoint) and grows downwards with
 * `prepend`, one older segment at a time; each segment is replayed from its own base
 * and must arrive exactly at the version the index already has ("did not fit"
 * otherwise), so the index never holds two stories. Events below the first base are
 * kept newest-first in an array of their own, so both ends grow in O(1) per event.
 *
 * Live events go to the head rope, never to a rope someone is looking at: appending while
 * the slider shows an old version does not move what it shows.
 */
import type { DocEvent } from '../log/event.js';
import type { AuthorRun } from '../text/authorship.js';
import { checkOp } from '../op/apply.js';
import { Rope } from '../text/rope.js';

/**
 * A checkpoint rope: built at `home`, now at `seq` (always within half a gap of home). Until
 * a query first needs it, only the document at `home` is kept (`flat`: the text as one
 * string and its authorship runs), and the rope is built from it then: building the tree was
 * about half of what a slot cost while loading a long history (a slot every `every` events),
 * and most slots are never visited by a given session.
 */
interface Slot {
  readonly home: number;
  rope: Rope | null;
  flat: Flat | null;
  seq: number;
}

/** A document as one flat string and its authorship runs (a slot not built yet). */
interface Flat {
  readonly text: string;
  readonly runs: AuthorRun[];
}

/**
 * The document at version `seq` (text and authorship), where an index or a prepended
 * segment starts. The index takes the rope over: it moves it to answer queries.
 */
export interface HistoryBase {
  readonly seq: number;
  readonly rope: Rope;
}

/** How an index is built: its checkpoint spacing and where it starts. */
export interface HistoryIndexOptions {
  /** Events between checkpoint ropes (default INDEX_SPACING): memory is one document copy per `every` events. */
  every?: number;
  /** Where the index starts (default: the empty document at 0); the events given then start at base.seq + 1. */
  base?: HistoryBase;
}

/**
 * Events between checkpoint ropes by default. Measured on automerge-paper (260k events,
 * 1,000 far jumps in random order): 1,000 gave p50 0.10-0.15 ms and p99 1.7-2.7 ms, 500 gave
 * p50 0.07-0.08 ms and p99 ~0.5 ms, for 124 MB of index instead of 80 MB. The slow 1% are
 * young-generation scavenges landing inside a query, and a walk's allocation (about 400
 * bytes an event: the touched leaf's new text) is what fills the young generation, so
 * shorter walks mean fewer of them.
 */
export const INDEX_SPACING = 500;

/** How the last `ropeAt` got there (tests and the bench look at it). */
export interface IndexMove {
  /** 'walk': the rope of the last query went on; 'switch': the rope of another home was taken, at `from`. */
  readonly how: 'walk' | 'switch' | 'none';
  readonly from: number;
  /** Events applied or reverted. */
  readonly steps: number;
}

type Deleted = AuthorRun[][] | null;
const NO_RUNS: readonly AuthorRun[][] = [];

/**
 * The versions `base..head` of one document, each answered exactly as the fold of the
 * log's first v events (T1), live events at the head and older segments below.
 */
export class HistoryIndex {
  /** The first base: events above it are in `up` (seq origin+1+i), below it in `down` (seq origin-i). */
  private readonly origin: number;
  private readonly up: DocEvent[] = [];
  private readonly upDel: Deleted[] = [];
  private readonly down: DocEvent[] = [];
  private readonly downDel: Deleted[] = [];
  private lowest: number;
  /** Sorted by home; the first is at the base. */
  private readonly slots: Slot[] = [];
  private readonly every: number;
  private readonly headRope: Rope;
  private lastSlot: Slot | null = null;
  private last: IndexMove = { how: 'none', from: 0, steps: 0 };

  /** `events` are the log from seq base.seq + 1 (1 by default), in order. */
  constructor(events: readonly DocEvent[], opts: HistoryIndexOptions = {}) {
    this.every = Math.max(1, Math.floor(opts.every ?? INDEX_SPACING));
    const base = opts.base ?? { seq: 0, rope: Rope.empty() };
    if (!Number.isInteger(base.seq) || base.seq < 0) throw new RangeError(`HistoryIndex: base ${base.seq} is not a version`);
    this.origin = this.lowest = base.seq;
    this.headRope = flatCopy(base.rope);
    this.slots.push({ home: base.seq, seq: base.seq, rope: base.rope, flat: null });
    this.append(events);
  }

  /** The newest version. */
  get head(): number {
    return this.origin + this.up.length;
  }

  /** The lowest version available (0 once the whole log is in). */
  get base(): number {
    return this.lowest;
  }

  /** How the last `ropeAt` moved (for tests and measurements). */
  get lastMove(): IndexMove {
    return this.last;
  }

  /** Adds events at the head (live edits arriving while the slider is open). */
  append(events: readonly DocEvent[]): void {
    // Check the whole batch first: a batch that broke off part way would leave the head
    // rope ahead of the log, and every later answer wrong.
    const head = this.head;
    for (let i = 0; i < events.length; i++) {
      const want = head + i + 1;
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
      this.up.push(e);
      this.upDel.push(del.length > 0 ? del : null);
      const n = this.head;
      if (n - this.slots[this.slots.length - 1].home >= this.every) this.slots.push({ home: n, seq: n, rope: null, flat: flatOf(rope) });
    }
  }

  /**
   * Adds an older stretch below the base: `events` are base.seq+1 .. this.base, and
   * `base` the document at base.seq (a server checkpoint, or the empty document at 0).
   * Throws "did not fit" (the index unchanged) when the events do not continue from the
   * base, an op does not apply to it (length, deleted text), or the replay does not arrive
   * at exactly the text and authorship the index has at its base. (Authorship of text the
   * segment itself deletes cannot be checked against anything; the text of it is.)
   */
  prepend(events: readonly DocEvent[], base: HistoryBase): void {
    const top = this.lowest;
    if (events.length === 0 || base.seq + events.length !== top) {
      throw new Error(`HistoryIndex: ${events.length} events from base ${base.seq} did not fit below version ${top}`);
    }
    for (let i = 0; i < events.length; i++) {
      if (events[i].seq !== base.seq + i + 1) throw new Error(`HistoryIndex: prepend expected seq ${base.seq + i + 1}, got ${events[i].seq}`);
    }
    // Replay on a copy: the index changes only once the whole segment has fitted.
    const rope = flatCopy(base.rope);
    const slots: Slot[] = [{ home: base.seq, seq: base.seq, rope: base.rope, flat: null }];
    const dels: Deleted[] = [];
    const read = (a: number, b: number) => rope.slice(a, b);
    for (const e of events) {
      const ok = checkOp(e.op, rope.length, read);
      if (!ok.ok) throw new Error(`HistoryIndex: event ${e.seq} did not fit the base at ${base.seq}: ${ok.error.message}`);
      const del = rope.applyRevertible(e.op, rope.authorId(e.author));
      dels.push(del.length > 0 ? del : null);
      if (e.seq < top && e.seq - slots[slots.length - 1].home >= this.every) slots.push({ home: e.seq, seq: e.seq, rope: null, flat: flatOf(rope) });
    }
    const mine = this.slots[0];
    this.walk(mine, top);
    const at = ropeOf(mine);
    if (rope.toString() !== at.toString() || !sameRuns(rope.authorship(), at.authorship())) {
      throw new Error(`HistoryIndex: the events ${base.seq + 1}–${top} from the base at ${base.seq} did not fit version ${top}`);
    }
    for (let i = events.length - 1; i >= 0; i--) {
      this.down.push(events[i]);
      this.downDel.push(dels[i]);
    }
    this.slots.unshift(...slots);
    this.lowest = base.seq;
  }

  /** The event that made version v (base < v ≤ head), else undefined. */
  eventAt(v: number): DocEvent | undefined {
    if (!(v > this.lowest && v <= this.head)) return undefined;
    return v > this.origin ? this.up[v - this.origin - 1] : this.down[this.origin - v];
  }

  /** The events `from < seq ≤ to` (clamped to base..head), read-only. */
  eventsBetween(from: number, to: number): readonly DocEvent[] {
    const lo = Math.max(this.lowest, from);
    const hi = Math.min(to, this.head);
    if (hi <= lo) return [];
    const o = this.origin;
    const above = lo >= o ? this.up.slice(lo - o, hi - o) : this.up.slice(0, Math.max(0, hi - o));
    if (lo >= o) return above;
    // Below the first base the events are kept newest first.
    const below: DocEvent[] = [];
    for (let s = lo + 1; s <= Math.min(hi, o); s++) below.push(this.down[o - s]);
    return below.concat(above);
  }

  /** The rope at version v, owned by the index: read it, do not keep or change it (the next query moves it). */
  ropeAt(v: number): Rope {
    if (!Number.isInteger(v) || v < this.lowest || v > this.head) {
      throw new RangeError(`version ${v} is outside ${this.lowest}..${this.head}`);
    }
    const slot = this.nearest(v);
    const from = slot.seq;
    this.walk(slot, v);
    this.last = { how: slot === this.lastSlot ? 'walk' : 'switch', from, steps: Math.abs(v - from) };
    this.lastSlot = slot;
    return ropeOf(slot);
  }

  /** The text at version v. */
  textAt(v: number): string {
    return this.ropeAt(v).toString();
  }

  /** The slot whose home is nearest v (the upper one on a tie), by binary search. */
  private nearest(v: number): Slot {
    const slots = this.slots;
    let lo = 0;
    let hi = slots.length; // first home ≥ v is in [lo, hi]
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (slots[mid].home < v) lo = mid + 1;
      else hi = mid;
    }
    if (lo === slots.length) return slots[lo - 1];
    if (lo === 0) return slots[0];
    return slots[lo].home - v <= v - slots[lo - 1].home ? slots[lo] : slots[lo - 1];
  }

  /** Moves a slot's rope to v, applying or reverting one event at a time. */
  private walk(slot: Slot, v: number): void {
    const rope = ropeOf(slot);
    const o = this.origin;
    let at = slot.seq;
    let lastAuthor: string | null = null;
    let lastId = 0;
    while (at < v) {
      const e = at >= o ? this.up[at - o] : this.down[o - at - 1];
      if (e.author !== lastAuthor) {
        lastAuthor = e.author;
        lastId = rope.authorId(e.author);
      }
      rope.applyTrusted(e.op, lastId);
      slot.seq = ++at;
    }
    while (at > v) {
      at--;
      const e = at >= o ? this.up[at - o] : this.down[o - at - 1];
      const del = at >= o ? this.upDel[at - o] : this.downDel[o - at - 1];
      rope.revert(e.op, del ?? (NO_RUNS as AuthorRun[][]));
      slot.seq = at;
    }
  }
}

function sameRuns(a: readonly AuthorRun[], b: readonly AuthorRun[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].author !== b[i].author || a[i].length !== b[i].length) return false;
  return true;
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

/** The document of `rope` as a flat string and runs, for a slot built later (`ropeOf`). */
function flatOf(rope: Rope): Flat {
  return { text: rope.toString(), runs: rope.authorship() };
}

/** The slot's rope, built from its flat copy the first time it is needed (flat, as `flatCopy` is). */
function ropeOf(slot: Slot): Rope {
  if (slot.rope === null) {
    slot.rope = Rope.fromRuns(slot.flat!.text, slot.flat!.runs);
    slot.flat = null;
  }
  return slot.rope;
}
