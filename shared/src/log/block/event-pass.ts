/**
 * The checked pass over a block's events (event-decode.ts reads the columns, then hands them
 * here): adds the predictions of event-layout.ts to the stored values, checks every event,
 * and builds the result's columns (event-columns.ts).
 */
import type { Component, Op } from '../../op/op.js';
import { decodeOp, defaultOpLimits } from '../../op/codec.js';
import type { EventMeta } from '../event.js';
import { eventKinds } from '../event.js';
import { ByteReader } from './bytes.js';
import { EventColumns } from './event-columns.js';
import {
  META_FALSE,
  META_FLOAT,
  META_INT,
  META_NULL,
  META_OWN_KEY,
  META_STRING,
  META_TRUE,
  SHAPE_DELETE,
  SHAPE_EMPTY,
  SHAPE_GENERAL,
  SHAPE_INSERT,
} from './event-layout.js';

/*
 * Why `release` keeps the last Decoding (`Decoding.last`) alive, emptied, on purpose: V8 keeps an
 * object's hidden class (map) only while an object uses it, and drops optimized code that
 * depends on a map that died. With no Decoding alive, every full GC threw away the compiled
 * pass, and the next decode ran in the slower tiers while V8 compiled it again (seen with
 * %GetOptimizationStatus before and after a GC; bench/results/decode-columns-2026-12-05.txt).
 * The empty values below have the types of the real ones, so the kept instance keeps its map.
 */
const NO_F64 = new Float64Array(0);
const NO_U32 = new Uint32Array(0);
const NO_U8 = new Uint8Array(0);
const NO_PARTS: Parts = {
  clients: NO_F64,
  clientSeq: NO_F64,
  base: NO_F64,
  authors: NO_F64,
  time: NO_F64,
  kinds: NO_F64,
  metaCounts: NO_F64,
  shapes: NO_F64,
  positions: NO_F64,
  insLens: NO_F64,
  delLens: NO_F64,
};
const NO_READER = new ByteReader(NO_U8);

/**
 * A block's numeric columns, each read whole: one value an event, but positions (one an op of
 * shape insert, delete or replace), insert lengths (one an insert or replace) and delete
 * lengths (one a delete or replace). Values are as stored: deltas from the predictions
 * (event-layout.ts), except clientSeqs when wide and times when float.
 */
export interface Parts {
  clients: Float64Array;
  clientSeq: Float64Array;
  base: Float64Array;
  authors: Float64Array;
  time: Float64Array;
  kinds: Float64Array;
  metaCounts: Float64Array;
  shapes: Float64Array;
  positions: Float64Array;
  insLens: Float64Array;
  delLens: Float64Array;
}

/**
 * The pass over the events: adds the predictions to the columns' values and checks every
 * event, slice by slice (`read`), building the result's columns; `clientSeq`, `base` and
 * `time` turn from deltas into values in place and become columns of the result. Inserted
 * text runs from `insStart` to `insEnd` of the text, deleted text from there to its end.
 */
export class Decoding {
  /** The last Decoding, emptied: see the note above NO_F64. */
  private static last: Decoding | null = null;

  // Per table index (only clients' entries are used): -1 = not seen yet.
  private lastClientSeq: Float64Array;
  private lastAuthor: Int32Array;
  private cursors: Float64Array;
  private client: Uint32Array;
  private author: Uint32Array;
  private kind: Uint8Array;
  private shape: Uint8Array;
  private pos: Uint32Array;
  private insAt: Uint32Array;
  private delAt: Uint32Array;
  private metas = new Map<number, EventMeta>();
  private generalOps = new Map<number, Op>();
  private clientIndex = 0;
  private t = 0;
  private pi = 0;
  private ii = 0;
  private di = 0;
  insOff: number;
  delOff: number;

  constructor(
    private p: Parts,
    private readonly wideClientSeqs: boolean,
    private readonly floatTimes: boolean,
    public meta: ByteReader,
    public general: ByteReader,
    private readonly firstSeq: number,
    private readonly table: string[],
    private readonly text: string,
    insStart: number,
    private readonly insEnd: number,
  ) {
    const n = p.shapes.length;
    const tableSize = table.length;
    this.lastClientSeq = new Float64Array(tableSize).fill(-1);
    this.lastAuthor = new Int32Array(tableSize);
    this.cursors = new Float64Array(tableSize);
    this.client = new Uint32Array(n);
    this.author = new Uint32Array(n);
    this.kind = new Uint8Array(n);
    this.shape = new Uint8Array(n);
    this.pos = new Uint32Array(n);
    this.insAt = new Uint32Array(n + 1);
    this.delAt = new Uint32Array(n + 1);
    this.insOff = insStart;
    this.delOff = insEnd;
  }

  /** Events `from` … `to - 1`, after the ones before them: null, or what is wrong. */
  read(from: number, to: number): string | null {
    const { clients, clientSeq, base, authors, time, kinds, metaCounts, shapes, positions, insLens, delLens } = this.p;
    const { lastClientSeq, lastAuthor, cursors, wideClientSeqs, floatTimes, firstSeq, table, text, insEnd } = this;
    const { client: clientCol, author: authorCol, kind: kindCol, shape: shapeCol, pos: posCol, insAt, delAt } = this;
    const tableSize = table.length;
    const units = text.length;
    const maxRetain = defaultOpLimits.maxRetain;
    const kindCount = eventKinds.length;
    let client = this.clientIndex;
    let t = this.t;
    let pi = this.pi;
    let ii = this.ii;
    let di = this.di;
    let insOff = this.insOff;
    let delOff = this.delOff;
    for (let i = from; i < to; i++) {
      client += clients[i];
      const c = client;
      if (c < 0 || c >= tableSize) return `event ${i}: client index ${c} is not in the table`;
      const seen = lastClientSeq[c] >= 0;
      const cs = wideClientSeqs ? clientSeq[i] : clientSeq[i] + (seen ? lastClientSeq[c] + 1 : 0);
      clientSeq[i] = cs;
      lastClientSeq[c] = cs;
      const b = firstSeq + i - 1 - base[i];
      base[i] = b;
      if (!Number.isSafeInteger(cs) || cs < 0 || b < 0) return `event ${i}: clientSeq or base out of range`;
      const av = authors[i];
      const a = av === 0 && seen ? lastAuthor[c] : av - 1;
      if (a < 0 || a >= tableSize) return `event ${i}: author index ${a} is not in the table`;
      lastAuthor[c] = a;
      if (!floatTimes) time[i] = t += time[i];
      const k = kinds[i];
      if (k < 0 || k >= kindCount) return `event ${i}: unknown kind ${k}`;
      const mc = metaCounts[i];
      if (mc !== 0) {
        const wrong = this.readMeta(i, mc, c, cs);
        if (wrong !== null) return wrong;
      }
      const shape = shapes[i];
      insAt[i] = insOff;
      delAt[i] = delOff;
      if (shape === SHAPE_GENERAL) {
        this.insOff = insOff;
        this.delOff = delOff;
        const wrong = this.readGeneral(i, c);
        if (wrong !== null) return wrong;
        insOff = this.insOff;
        delOff = this.delOff;
      } else if (shape !== SHAPE_EMPTY) {
        // Shapes were checked to be known when they were counted.
        const pos = cursors[c] + positions[pi++];
        if (pos < 0 || pos > maxRetain) return `event ${i}: position ${pos} out of range`;
        posCol[i] = pos;
        cursors[c] = pos;
        if (shape !== SHAPE_DELETE) {
          const len = insLens[ii++];
          if (len < 1 || len > insEnd - insOff) return `event ${i}: bad insert length ${len}`;
          insOff += len;
          cursors[c] = pos + len;
        }
        if (shape !== SHAPE_INSERT) {
          const len = delLens[di++];
          if (len < 1 || len > units - delOff) return `event ${i}: bad delete length ${len}`;
          delOff += len;
        }
      }
      clientCol[i] = c;
      authorCol[i] = a;
      kindCol[i] = k;
      shapeCol[i] = shape;
    }
    this.clientIndex = client;
    this.t = t;
    this.pi = pi;
    this.ii = ii;
    this.di = di;
    this.insOff = insOff;
    this.delOff = delOff;
    return null;
  }

  /** Event i's meta (`mc - 1` entries of the meta column). */
  private readMeta(i: number, mc: number, c: number, clientSeq: number): string | null {
    const meta = this.meta;
    if (mc < 0 || mc - 1 > meta.end - meta.pos) return `event ${i}: bad meta count`;
    const m = readMeta(meta, mc - 1, this.table, c, clientSeq);
    if (typeof m === 'string') return `event ${i}: ${m}`;
    this.metas.set(i, m);
    return null;
  }

  /** Event i's op of no common shape, from the general column and the text. */
  private readGeneral(i: number, c: number): string | null {
    const { general, text, insEnd } = this;
    const units = text.length;
    const count = general.uint();
    if (count < 1 || count > general.end - general.pos) return `event ${i}: bad component count`;
    const op: Component[] = [];
    let end = 0;
    for (let j = 0; j < count; j++) {
      const v = general.uint();
      const len = Math.floor(v / 3);
      const tag = v % 3;
      if (tag === 0) {
        op.push(len);
        end += len;
      } else if (tag === 1) {
        if (len > insEnd - this.insOff) return `event ${i}: an insert runs past the inserted text`;
        op.push(text.slice(this.insOff, (this.insOff += len)));
        end += len;
      } else {
        if (len > units - this.delOff) return `event ${i}: a delete runs past the deleted text`;
        op.push({ d: text.slice(this.delOff, (this.delOff += len)) });
      }
    }
    if (general.failed) return `event ${i}: the ops column is cut short`;
    const valid = decodeOp(op);
    if (!valid.ok) return `event ${i}: ${valid.error.message}`;
    this.generalOps.set(i, op);
    this.cursors[c] = end;
    return null;
  }

  /**
   * Lets go of every array (the result keeps its own), with values of the same types, so that
   * the instance keeps its map (see `lastDecoding`) and holds little more than the last text.
   */
  release(): void {
    this.p = NO_PARTS;
    this.meta = NO_READER;
    this.general = NO_READER;
    this.lastClientSeq = NO_F64;
    this.lastAuthor = new Int32Array(0);
    this.cursors = NO_F64;
    this.client = NO_U32;
    this.author = NO_U32;
    this.kind = NO_U8;
    this.shape = NO_U8;
    this.pos = NO_U32;
    this.insAt = NO_U32;
    this.delAt = NO_U32;
    this.metas = new Map();
    this.generalOps = new Map();
    Decoding.last = this;
  }

  /** The result, once every slice is read and the caller checked the columns are used up. */
  columns(): EventColumns {
    const n = this.shape.length;
    this.insAt[n] = this.insOff;
    this.delAt[n] = this.delOff;
    return new EventColumns({
      firstSeq: this.firstSeq,
      table: this.table,
      text: this.text,
      client: this.client,
      clientSeq: this.p.clientSeq,
      base: this.p.base,
      author: this.author,
      time: this.p.time,
      kind: this.kind,
      shape: this.shape,
      pos: this.pos,
      insAt: this.insAt,
      delAt: this.delAt,
      meta: this.metas,
      generalOps: this.generalOps,
    });
  }
}

/** One event's meta: `count` entries of the meta column; or what is wrong with them. */
function readMeta(meta: ByteReader, count: number, table: string[], c: number, clientSeq: number): EventMeta | string {
  const tableSize = table.length;
  const m: Record<string, string | number | boolean | null> = {};
  for (let j = 0; j < count; j++) {
    const key = meta.uint();
    if (key >= tableSize) return `meta key index ${key} is not in the table`;
    const tag = meta.uint();
    let v: string | number | boolean | null;
    if (tag === META_OWN_KEY) v = `${clientSeq - meta.int()}@${table[c]}`;
    else if (tag === META_STRING) {
      const s = meta.uint();
      if (s >= tableSize) return `meta string index ${s} is not in the table`;
      v = table[s];
    } else if (tag === META_NULL) v = null;
    else if (tag === META_FALSE) v = false;
    else if (tag === META_TRUE) v = true;
    else if (tag === META_INT) v = meta.int();
    else if (tag === META_FLOAT) v = meta.float64();
    else return `unknown meta tag ${tag}`;
    if (meta.failed) return 'the meta column is cut short';
    const name = table[key];
    if (Object.prototype.hasOwnProperty.call(m, name)) return `meta key ${JSON.stringify(name)} twice`;
    // An own property even for "__proto__", as JSON.parse makes it.
    if (name === '__proto__') Object.defineProperty(m, name, { value: v, enumerable: true, writable: true, configurable: true });
    else m[name] = v;
  }
  return m;
}
