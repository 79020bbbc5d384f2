/**
 * Reads a block of events (the layout: event-layout.ts) back into the exact run it was made
 * from, or refuses it with a coded error.
 *
 * Decoding trusts nothing: the envelope's checksum catches damage, and past it every column
 * must be read to its last byte and no further, every index must be in its table, every length
 * must be positive and fit its text stream, every op must be canonical. A block that breaks any
 * of this is `block-malformed`. Nothing is thrown and no event comes out of a block that fails.
 *
 * This is the hot path of opening a document (a whole log is a few hundred thousand events), so
 * the block decodes into columns (event-columns.ts): typed arrays filled in one loop, the
 * per-client predictions in typed arrays indexed by table index, and no object per event but
 * for meta and for ops of no common shape. `decodeBlock`, for callers that want DocEvents,
 * builds them from the columns.
 */
import { inflateSync } from 'fflate';
import type { Component, Op } from '../../op/op.js';
import { decodeOp, defaultOpLimits } from '../../op/codec.js';
import type { DocEvent, EventMeta } from '../event.js';
import { EventColumns } from './event-columns.js';
import { eventKinds } from '../event.js';
import { type Result, ok } from '../../result.js';
import { ByteReader, readRleColumn } from './bytes.js';
import { readChars } from './chars.js';
import { EVENTS_BLOCK, blockError, open } from './envelope.js';
import {
  COLUMN_COUNT,
  Col,
  FLAG_DEFLATED_COLUMNS,
  FLAG_FLOAT_TIMES,
  FLAG_WIDE_CLIENT_SEQS,
  KNOWN_FLAGS,
  MAX_BLOCK_EVENTS,
  NARROW_LIMIT,
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
  SHAPE_REPLACE,
} from './event-layout.js';

const malformed = (what: string) => blockError('block-malformed', what);

/** Decodes a block: its events, or a coded error (never a partial or different run). */
export function decodeBlock(bytes: Uint8Array): Result<DocEvent[]> {
  const cols = decodeColumns(bytes);
  return cols.ok ? ok(cols.value.toEvents()) : cols;
}

/**
 * Decodes a block into columns: the same run as `decodeBlock` without an object per event, or
 * the same coded error.
 */
export function decodeColumns(bytes: Uint8Array): Result<EventColumns> {
  const opened = open(bytes, EVENTS_BLOCK);
  if (!opened.ok) return opened;
  const r = opened.value;
  const n = r.uint();
  const firstSeq = r.uint();
  const flags = r.uint();
  const tableSize = r.uint();
  const units = r.uint();
  const insertUnits = r.uint();
  if (r.failed) return malformed('bad header');
  if (n > MAX_BLOCK_EVENTS) return malformed(`${n} events, a block holds at most ${MAX_BLOCK_EVENTS}`);
  if ((flags & ~KNOWN_FLAGS) !== 0) return malformed(`unknown flags ${flags}`);
  if (firstSeq + n > NARROW_LIMIT) return malformed('seqs beyond 2^49');
  if (insertUnits > units) return malformed('more inserted text than text');
  // Offsets into the text are Uint32 (no string is that long anyway).
  if (units > 0xffffffff) return malformed('more text than a block can hold');
  const text = readChars(r, units);
  if (text === null) return malformed('the text column is damaged');

  const rawLength = r.uint();
  const storedLength = r.uint();
  const stored = r.take(storedLength);
  if (r.failed || !r.done) return malformed('the columns do not fit the block');
  let raw = stored;
  if (flags & FLAG_DEFLATED_COLUMNS) {
    try {
      raw = inflateSync(stored, { out: new Uint8Array(rawLength + 1) });
    } catch {
      return malformed('the columns do not inflate');
    }
  }
  if (raw.length !== rawLength) return malformed('the columns are not as long as the header says');
  const section = new ByteReader(raw);
  const cols: ByteReader[] = [];
  for (let i = 0; i < COLUMN_COUNT; i++) {
    const len = section.uint();
    if (section.failed || len > section.end - section.pos) return malformed(`column ${i} runs past the end`);
    cols.push(new ByteReader(raw, section.pos, section.pos + len));
    section.pos += len;
  }
  if (!section.done) return malformed('bytes after the last column');

  // The table: the first slices of the text.
  const strLens = cols[Col.TableLengths];
  if (tableSize > strLens.end - strLens.pos) return malformed('the table is longer than its column');
  const table: string[] = [];
  let off = 0;
  for (let i = 0; i < tableSize; i++) {
    const len = strLens.uint();
    if (strLens.failed || len > units - insertUnits - off) return malformed('the table does not fit the text');
    table.push(text.slice(off, off + len));
    off += len;
  }
  if (!strLens.done) return malformed('the table column has bytes left');
  const insEnd = off + insertUnits;

  // Each numeric column is read whole, run by run, into an array of its values (the
  // prediction still to add), then passes over the events add the predictions and check
  // them. A column with more or fewer values than its events need is refused here.
  const shapes = new Float64Array(n);
  if (!rleColumn(cols[Col.Shapes], shapes, n)) return malformed('the op shapes column does not hold one shape an event');
  const counts = countShapes(shapes);
  if (typeof counts === 'string') return malformed(counts);
  const [sited, inserts, deletes] = counts;
  const wideClientSeqs = (flags & FLAG_WIDE_CLIENT_SEQS) !== 0;
  const floatTimes = (flags & FLAG_FLOAT_TIMES) !== 0;
  const clients = new Float64Array(n);
  const clientSeq = new Float64Array(n);
  const base = new Float64Array(n);
  const authors = new Float64Array(n);
  const time = new Float64Array(n);
  const kinds = new Float64Array(n);
  const metaCounts = new Float64Array(n);
  const positions = new Float64Array(sited);
  const insLens = new Float64Array(inserts);
  const delLens = new Float64Array(deletes);
  const read =
    rleColumn(cols[Col.Clients], clients, n) &&
    (wideClientSeqs ? plainColumn(cols[Col.ClientSeqs], clientSeq, false) : rleColumn(cols[Col.ClientSeqs], clientSeq, n)) &&
    rleColumn(cols[Col.Bases], base, n) &&
    rleColumn(cols[Col.Authors], authors, n) &&
    (floatTimes ? plainColumn(cols[Col.Times], time, true) : rleColumn(cols[Col.Times], time, n)) &&
    rleColumn(cols[Col.Kinds], kinds, n) &&
    rleColumn(cols[Col.MetaCounts], metaCounts, n) &&
    rleColumn(cols[Col.Positions], positions, sited) &&
    rleColumn(cols[Col.InsertLengths], insLens, inserts) &&
    rleColumn(cols[Col.DeleteLengths], delLens, deletes);
  if (!read) return malformed('a column does not hold a value for each of its events');
  const d = new Decoding(
    { clients, clientSeq, base, authors, time, kinds, metaCounts, shapes, positions, insLens, delLens },
    wideClientSeqs,
    floatTimes,
    cols[Col.Meta],
    cols[Col.General],
    firstSeq,
    table,
    text,
    off,
    insEnd,
  );
  // In slices, and every check after the pass here rather than after its loop: V8 compiles a
  // long loop by on-stack replacement while the code after it has never run, and that code
  // then deoptimized the loop at its end on every decode (seen with --trace-deopt).
  for (let from = 0; from < n; from += SLICE) {
    const wrong = d.read(from, Math.min(n, from + SLICE));
    if (wrong !== null) return malformed(wrong);
  }
  const { meta, general } = d;
  if (meta.pos !== meta.end || meta.failed || general.pos !== general.end || general.failed) return malformed('the columns do not add up to the events');
  if (d.insOff !== insEnd || d.delOff !== units) return malformed('text left over after the last event');
  const result = d.columns();
  d.release();
  lastDecoding = d;
  return ok(result);
}

/**
 * The last Decoding, emptied (`release`), kept alive on purpose. V8 keeps an object's hidden
 * class (map) only while an object uses it, and drops optimized code that depends on a map that
 * died: with no Decoding alive, every full GC threw away the decoder's compiled pass, and the
 * next decode ran in the slower tiers while V8 compiled it again (2-3x the CPU of a warm decode;
 * seen with %GetOptimizationStatus before and after a GC, bench/results/decode-columns-2026-12-05.txt).
 */
let lastDecoding: Decoding | null = null;

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

/** Events decoded per call of `Decoding.read`. */
const SLICE = 1024;


/** An RLE column of exactly `count` values (bytes.ts `readRleColumn`), read to its last byte. */
function rleColumn(r: ByteReader, out: Float64Array, count: number): boolean {
  return readRleColumn(r, out, count) && r.pos === r.end && !r.failed;
}

/** A column of plain varints (wide clientSeqs) or doubles (float times), one an event, read to its last byte. */
function plainColumn(r: ByteReader, out: Float64Array, doubles: boolean): boolean {
  const n = out.length;
  if (doubles) {
    if (r.end - r.pos !== n * 8) return false;
    const view = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.pos, n * 8);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
    r.pos = r.end;
    return true;
  }
  for (let i = 0; i < n; i++) out[i] = r.uint();
  return r.pos === r.end && !r.failed;
}

/** How many ops have a position, an insert and a delete; or what is wrong with a shape. */
function countShapes(shapes: Float64Array): [number, number, number] | string {
  let sited = 0;
  let inserts = 0;
  let deletes = 0;
  for (let i = 0; i < shapes.length; i++) {
    const s = shapes[i];
    if (s === SHAPE_EMPTY || s === SHAPE_GENERAL) continue;
    if (s !== SHAPE_INSERT && s !== SHAPE_DELETE && s !== SHAPE_REPLACE) return `event ${i}: unknown op shape ${s}`;
    sited++;
    if (s !== SHAPE_DELETE) inserts++;
    if (s !== SHAPE_INSERT) deletes++;
  }
  return [sited, inserts, deletes];
}

/**
 * A block's numeric columns, each read whole: one value an event, but positions (one an op of
 * shape insert, delete or replace), insert lengths (one an insert or replace) and delete
 * lengths (one a delete or replace). Values are as stored: deltas from the predictions
 * (event-layout.ts), except clientSeqs when wide and times when float.
 */
interface Parts {
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
class Decoding {
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
