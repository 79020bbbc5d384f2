/**
 * A decoded run of events, column-wise: what `decodeColumns` (event-decode.ts) makes of a
 * block without building an object per event.
 *
 * Why: a DocEvent is 4-5 objects (the event, its id, the op array, a boxed time, `{d}` for a
 * delete), and a whole log is a few hundred thousand of them. Allocating them, and the garbage
 * collector's work on them, is most of the cost of reading a log (bench/results/decode-2026-12-05.txt:
 * ~65 % of a 300 ms decode, with a floor of 140-190 ms for the literals alone), while the
 * decoding itself is a few per cent. A consumer that folds the run into a text (replay.ts
 * `replayColumnsInto`) or looks at a few events needs none of those objects, so the decoded form
 * is typed arrays, one entry per event, plus the block's own string table and text.
 */
import type { Op } from '../../op/op.js';
import type { DocEvent, EventKind, EventMeta } from '../event.js';
import { eventKinds } from '../event.js';
import { SHAPE_DELETE, SHAPE_EMPTY, SHAPE_GENERAL, SHAPE_INSERT, SHAPE_REPLACE } from './event-layout.js';

/** How event i's op is laid out in the columns (event-layout.ts's shapes). */
export const OpShape = {
  /** `[]`. */
  Empty: SHAPE_EMPTY,
  /** `[pos?, inserted]`: retain `pos` (absent when 0), insert the event's inserted text. */
  Insert: SHAPE_INSERT,
  /** `[pos?, {d: deleted}]`. */
  Delete: SHAPE_DELETE,
  /** `[pos?, inserted, {d: deleted}]`: a replacement. */
  Replace: SHAPE_REPLACE,
  /** Anything else: the op is in `generalOps`. */
  General: SHAPE_GENERAL,
} as const;

/** The arrays an EventColumns is made of (the decoder fills them, nobody else). */
export interface EventColumnsParts {
  firstSeq: number;
  table: readonly string[];
  text: string;
  client: Uint32Array;
  clientSeq: Float64Array;
  base: Float64Array;
  author: Uint32Array;
  time: Float64Array;
  kind: Uint8Array;
  shape: Uint8Array;
  pos: Uint32Array;
  insAt: Uint32Array;
  delAt: Uint32Array;
  meta: ReadonlyMap<number, EventMeta>;
  generalOps: ReadonlyMap<number, Op>;
}

/**
 * A contiguous run of events (seqs `firstSeq` … `firstSeq + length - 1`), column-wise.
 *
 * Promises: it holds exactly the information of the DocEvent[] the same block decodes to
 * (`decodeBlock`), field for field and bit for bit (B3): `eventAt(i)` is that array's event i,
 * deep-equal and with the same key order, and `toEvents()` is the array. Every event passed the
 * decoder's checks (B2): indexes are in the table, lengths fit the text, ops are canonical, kinds
 * are known; a consumer may fold the columns without re-checking them. Nothing changes after
 * decoding: the arrays are the consumer's to read, not to write, and the events built from them
 * share their meta objects and general ops (readonly types) between calls.
 *
 * Event i (0 ≤ i < length):
 *   - seq: `firstSeq + i`; id: `{ client: table[client[i]], clientSeq: clientSeq[i] }`;
 *     author: `table[author[i]]`; base, time: `base[i]`, `time[i]` (time is any double);
 *     kind: `eventKinds[kind[i]]`; meta: `meta.get(i)` (absent for most events);
 *   - op: by `shape[i]` (OpShape), at position `pos[i]`, with the inserted text
 *     `text.slice(insAt[i], insAt[i + 1])` and the deleted text `text.slice(delAt[i], delAt[i + 1])`
 *     (both empty when the shape has none); a General op is `generalOps.get(i)`, whose inserts and
 *     deletes are those two slices in order.
 */
export class EventColumns implements EventColumnsParts {
  readonly firstSeq: number;
  /** The block's strings: clients, authors, meta keys and string values. */
  readonly table: readonly string[];
  /** The block's text: what `insAt` and `delAt` slice (and the table's strings, before them). */
  readonly text: string;
  readonly client: Uint32Array;
  readonly clientSeq: Float64Array;
  readonly base: Float64Array;
  readonly author: Uint32Array;
  readonly time: Float64Array;
  readonly kind: Uint8Array;
  readonly shape: Uint8Array;
  readonly pos: Uint32Array;
  /** length + 1 offsets into `text`: event i's inserted text ends where event i + 1's starts. */
  readonly insAt: Uint32Array;
  /** Likewise for deleted text. */
  readonly delAt: Uint32Array;
  readonly meta: ReadonlyMap<number, EventMeta>;
  readonly generalOps: ReadonlyMap<number, Op>;

  constructor(p: EventColumnsParts) {
    this.firstSeq = p.firstSeq;
    this.table = p.table;
    this.text = p.text;
    this.client = p.client;
    this.clientSeq = p.clientSeq;
    this.base = p.base;
    this.author = p.author;
    this.time = p.time;
    this.kind = p.kind;
    this.shape = p.shape;
    this.pos = p.pos;
    this.insAt = p.insAt;
    this.delAt = p.delAt;
    this.meta = p.meta;
    this.generalOps = p.generalOps;
  }

  get length(): number {
    return this.shape.length;
  }

  /** The seq after the run's last: `firstSeq + length`. */
  get endSeq(): number {
    return this.firstSeq + this.shape.length;
  }

  clientOf(i: number): string {
    return this.table[this.client[i]];
  }

  authorOf(i: number): string {
    return this.table[this.author[i]];
  }

  kindOf(i: number): EventKind {
    return eventKinds[this.kind[i]];
  }

  /** Event i's inserted text ('' if its op inserts nothing). */
  insertedOf(i: number): string {
    return this.text.slice(this.insAt[i], this.insAt[i + 1]);
  }

  /** Event i's deleted text ('' if its op deletes nothing). */
  deletedOf(i: number): string {
    return this.text.slice(this.delAt[i], this.delAt[i + 1]);
  }

  /**
   * Event i's op, as the DocEvent holds it: a new array, except a General op, which is the
   * columns' own (ops are immutable, `Op` is a readonly type).
   */
  opOf(i: number): Op {
    const shape = this.shape[i];
    if (shape === SHAPE_EMPTY) return [];
    if (shape === SHAPE_GENERAL) return this.generalOps.get(i) as Op;
    const pos = this.pos[i];
    // Literals of the exact size: no growth, packed elements.
    if (shape === SHAPE_INSERT) {
      const ins = this.text.slice(this.insAt[i], this.insAt[i + 1]);
      return pos > 0 ? [pos, ins] : [ins];
    }
    const del = { d: this.text.slice(this.delAt[i], this.delAt[i + 1]) };
    if (shape === SHAPE_DELETE) return pos > 0 ? [pos, del] : [del];
    const ins = this.text.slice(this.insAt[i], this.insAt[i + 1]);
    return pos > 0 ? [pos, ins, del] : [ins, del];
  }

  /** Event i (0 ≤ i < length), built on demand: `decodeBlock`'s event i exactly. */
  eventAt(i: number): DocEvent {
    if (!(i >= 0 && i < this.shape.length)) throw new RangeError(`EventColumns.eventAt: ${i} is not in 0..${this.shape.length - 1}`);
    return this.build(i);
  }

  /** Every event, in order: the DocEvent[] `decodeBlock` gives for the same block. */
  toEvents(): DocEvent[] {
    return this.slice(0, this.shape.length);
  }

  /** Events `start` … `end - 1` (indexes, clamped to the run) as DocEvents. */
  slice(start: number, end: number): DocEvent[] {
    const from = Math.max(0, Math.min(start, this.shape.length));
    const to = Math.max(from, Math.min(end, this.shape.length));
    // Filled by index: Node 20 keeps `new Array(n)` fast (holey, not a dictionary) up to
    // MAX_BLOCK_EVENTS, and pushing cost more than filling (decode-2026-12-05.txt).
    const out = new Array<DocEvent>(to - from);
    for (let i = from; i < to; i++) out[i - from] = this.build(i);
    return out;
  }

  private build(i: number): DocEvent {
    const table = this.table;
    const op = this.opOf(i);
    const m = this.meta.size === 0 ? undefined : this.meta.get(i);
    // The same literal shapes and key order as a DocEvent parsed from JSON or made by the app.
    return m === undefined
      ? {
          id: { client: table[this.client[i]], clientSeq: this.clientSeq[i] },
          seq: this.firstSeq + i,
          base: this.base[i],
          author: table[this.author[i]],
          time: this.time[i],
          op,
          kind: eventKinds[this.kind[i]],
        }
      : {
          id: { client: table[this.client[i]], clientSeq: this.clientSeq[i] },
          seq: this.firstSeq + i,
          base: this.base[i],
          author: table[this.author[i]],
          time: this.time[i],
          op,
          kind: eventKinds[this.kind[i]],
          meta: m,
        };
  }
}
