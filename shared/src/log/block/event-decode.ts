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
import { ByteReader, RleReader } from './bytes.js';
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

  const clients = new RleReader(cols[Col.Clients]);
  const wideClientSeqs = (flags & FLAG_WIDE_CLIENT_SEQS) !== 0;
  const clientSeqCol = cols[Col.ClientSeqs];
  const clientSeqs = new RleReader(clientSeqCol);
  const bases = new RleReader(cols[Col.Bases]);
  const authors = new RleReader(cols[Col.Authors]);
  const floatTimes = (flags & FLAG_FLOAT_TIMES) !== 0;
  const timeCol = cols[Col.Times];
  const times = new RleReader(timeCol);
  const kinds = new RleReader(cols[Col.Kinds]);
  const metaCounts = new RleReader(cols[Col.MetaCounts]);
  const meta = cols[Col.Meta];
  const shapes = new RleReader(cols[Col.Shapes]);
  const positions = new RleReader(cols[Col.Positions]);
  const insLens = new RleReader(cols[Col.InsertLengths]);
  const delLens = new RleReader(cols[Col.DeleteLengths]);
  const general = cols[Col.General];

  const events = readColumns(
    { clients, clientSeqs, clientSeqCol, wideClientSeqs, bases, authors, times, timeCol, floatTimes, kinds, metaCounts, meta, shapes, positions, insLens, delLens, general },
    n,
    firstSeq,
    table,
    text,
    off,
    insEnd,
  );
  if (!events.ok) return events;
  // Spelled out, not `[…].every((x) => x.done)`: that closure over readers of two classes
  // deoptimized the function on nearly every call, which then compiled its loop again.
  const rleDone =
    clients.done && bases.done && authors.done && kinds.done && metaCounts.done && shapes.done && positions.done && insLens.done && delLens.done;
  const plainDone = meta.done && general.done && (floatTimes ? timeCol.done : times.done) && (wideClientSeqs ? clientSeqCol.done : clientSeqs.done);
  if (!rleDone || !plainDone) return malformed('the columns do not add up to the events');
  return events;
}

/** The readers of a block's columns (event-layout.ts), each at its start. */
interface Columns {
  clients: RleReader;
  clientSeqs: RleReader;
  /** The clientSeqs as plain varints, when `wideClientSeqs`. */
  clientSeqCol: ByteReader;
  wideClientSeqs: boolean;
  bases: RleReader;
  authors: RleReader;
  times: RleReader;
  /** The times as doubles, when `floatTimes`. */
  timeCol: ByteReader;
  floatTimes: boolean;
  kinds: RleReader;
  metaCounts: RleReader;
  meta: ByteReader;
  shapes: RleReader;
  positions: RleReader;
  insLens: RleReader;
  delLens: RleReader;
  general: ByteReader;
}

/**
 * The events, read from the columns and the text (inserted text from `insStart` to `insEnd`,
 * deleted text from there to the end), checked one by one; the caller checks that the columns
 * are then used up. The loop is a function of its own so that V8 optimizes it as one and the
 * checks after it cannot deoptimize it.
 */
function readColumns(
  cols: Columns,
  n: number,
  firstSeq: number,
  table: string[],
  text: string,
  insStart: number,
  insEnd: number,
): Result<EventColumns> {
  const { clients, clientSeqs, clientSeqCol, wideClientSeqs, bases, authors, times, timeCol, floatTimes, kinds, metaCounts, meta } = cols;
  const { shapes, positions, insLens, delLens, general } = cols;
  const tableSize = table.length;
  const units = text.length;
  let insOff = insStart;
  let delOff = insEnd;
  // Per table index (only clients' entries are used): -1 = not seen yet.
  const lastClientSeq = new Float64Array(tableSize).fill(-1);
  const lastAuthor = new Int32Array(tableSize);
  const cursors = new Float64Array(tableSize);
  const maxRetain = defaultOpLimits.maxRetain;
  const clientCol = new Uint32Array(n);
  const clientSeqCol_ = new Float64Array(n);
  const baseCol = new Float64Array(n);
  const authorCol = new Uint32Array(n);
  const timeCol_ = new Float64Array(n);
  const kindCol = new Uint8Array(n);
  const shapeCol = new Uint8Array(n);
  const posCol = new Uint32Array(n);
  const insAt = new Uint32Array(n + 1);
  const delAt = new Uint32Array(n + 1);
  const metas = new Map<number, EventMeta>();
  const generalOps = new Map<number, Op>();
  let client = 0;
  let time = 0;
  for (let i = 0; i < n; i++) {
    const seq = firstSeq + i;
    client += clients.next();
    const c = client;
    if (c < 0 || c >= tableSize) return malformed(`event ${i}: client index ${c} is not in the table`);
    const seen = lastClientSeq[c] >= 0;
    const clientSeq = wideClientSeqs ? clientSeqCol.uint() : clientSeqs.next() + (seen ? lastClientSeq[c] + 1 : 0);
    lastClientSeq[c] = clientSeq;
    const base = seq - 1 - bases.next();
    if (!Number.isSafeInteger(clientSeq) || clientSeq < 0 || base < 0) {
      return malformed(`event ${i}: clientSeq or base out of range`);
    }
    const av = authors.next();
    const a = av === 0 && seen ? lastAuthor[c] : av - 1;
    if (a < 0 || a >= tableSize) return malformed(`event ${i}: author index ${a} is not in the table`);
    lastAuthor[c] = a;
    time = floatTimes ? timeCol.float64() : time + times.next();
    const k = kinds.next();
    if (k < 0 || k >= eventKinds.length) return malformed(`event ${i}: unknown kind ${k}`);

    let m: Record<string, string | number | boolean | null> | undefined;
    const mc = metaCounts.next();
    if (mc !== 0) {
      if (mc < 0 || mc - 1 > meta.end - meta.pos) return malformed(`event ${i}: bad meta count`);
      m = {};
      for (let j = 1; j < mc; j++) {
        const key = meta.uint();
        if (key >= tableSize) return malformed(`event ${i}: meta key index ${key} is not in the table`);
        const tag = meta.uint();
        let v: string | number | boolean | null;
        if (tag === META_OWN_KEY) v = `${clientSeq - meta.int()}@${table[c]}`;
        else if (tag === META_STRING) {
          const s = meta.uint();
          if (s >= tableSize) return malformed(`event ${i}: meta string index ${s} is not in the table`);
          v = table[s];
        } else if (tag === META_NULL) v = null;
        else if (tag === META_FALSE) v = false;
        else if (tag === META_TRUE) v = true;
        else if (tag === META_INT) v = meta.int();
        else if (tag === META_FLOAT) v = meta.float64();
        else return malformed(`event ${i}: unknown meta tag ${tag}`);
        if (meta.failed) return malformed(`event ${i}: the meta column is cut short`);
        const name = table[key];
        if (Object.prototype.hasOwnProperty.call(m, name)) return malformed(`event ${i}: meta key ${JSON.stringify(name)} twice`);
        // An own property even for "__proto__", as JSON.parse makes it.
        if (name === '__proto__') Object.defineProperty(m, name, { value: v, enumerable: true, writable: true, configurable: true });
        else m[name] = v;
      }
    }

    const shape = shapes.next();
    insAt[i] = insOff;
    delAt[i] = delOff;
    if (shape === SHAPE_GENERAL) {
      const count = general.uint();
      if (count < 1 || count > general.end - general.pos) return malformed(`event ${i}: bad component count`);
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
          if (len > insEnd - insOff) return malformed(`event ${i}: an insert runs past the inserted text`);
          op.push(text.slice(insOff, (insOff += len)));
          end += len;
        } else {
          if (len > units - delOff) return malformed(`event ${i}: a delete runs past the deleted text`);
          op.push({ d: text.slice(delOff, (delOff += len)) });
        }
      }
      if (general.failed) return malformed(`event ${i}: the ops column is cut short`);
      const valid = decodeOp(op);
      if (!valid.ok) return malformed(`event ${i}: ${valid.error.message}`);
      generalOps.set(i, op);
      cursors[c] = end;
    } else if (shape !== SHAPE_EMPTY) {
      const pos = cursors[c] + positions.next();
      if (pos < 0 || pos > maxRetain) return malformed(`event ${i}: position ${pos} out of range`);
      posCol[i] = pos;
      if (shape === SHAPE_INSERT || shape === SHAPE_REPLACE) {
        const len = insLens.next();
        if (len < 1 || len > insEnd - insOff) return malformed(`event ${i}: bad insert length ${len}`);
        insOff += len;
        cursors[c] = pos + len;
      } else cursors[c] = pos;
      if (shape === SHAPE_DELETE || shape === SHAPE_REPLACE) {
        const len = delLens.next();
        if (len < 1 || len > units - delOff) return malformed(`event ${i}: bad delete length ${len}`);
        delOff += len;
      } else if (shape !== SHAPE_INSERT) return malformed(`event ${i}: unknown op shape ${shape}`);
    }
    if (m !== undefined) metas.set(i, m as EventMeta);
    clientCol[i] = c;
    clientSeqCol_[i] = clientSeq;
    baseCol[i] = base;
    authorCol[i] = a;
    timeCol_[i] = time;
    kindCol[i] = k;
    shapeCol[i] = shape;
  }
  if (insOff !== insEnd || delOff !== units) return malformed('text left over after the last event');
  insAt[n] = insOff;
  delAt[n] = delOff;
  return ok(
    new EventColumns({
      firstSeq,
      table,
      text,
      client: clientCol,
      clientSeq: clientSeqCol_,
      base: baseCol,
      author: authorCol,
      time: timeCol_,
      kind: kindCol,
      shape: shapeCol,
      pos: posCol,
      insAt,
      delAt,
      meta: metas,
      generalOps,
    }),
  );
}
