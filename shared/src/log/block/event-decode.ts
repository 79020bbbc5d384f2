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
 * the loop builds each event with object and array literals of its final shape and keeps the
 * per-client predictions in typed arrays indexed by table index.
 */
import { inflateSync } from 'fflate';
import type { Component } from '../../op/op.js';
import { decodeOp, defaultOpLimits } from '../../op/codec.js';
import type { DocEvent, EventMeta } from '../event.js';
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
  let insOff = off;
  const insEnd = off + insertUnits;
  let delOff = insEnd;

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

  // Per table index (only clients' entries are used): -1 = not seen yet.
  const lastClientSeq = new Float64Array(tableSize).fill(-1);
  const lastAuthor = new Int32Array(tableSize);
  const cursors = new Float64Array(tableSize);
  const maxRetain = defaultOpLimits.maxRetain;
  // Pushed, not preallocated: a large `new Array(n)` starts as a dictionary in V8.
  const events: DocEvent[] = [];
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
    let op: Component[];
    if (shape === SHAPE_EMPTY) op = [];
    else if (shape === SHAPE_GENERAL) {
      const count = general.uint();
      if (count < 1 || count > general.end - general.pos) return malformed(`event ${i}: bad component count`);
      op = [];
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
      cursors[c] = end;
    } else {
      const pos = cursors[c] + positions.next();
      if (pos < 0 || pos > maxRetain) return malformed(`event ${i}: position ${pos} out of range`);
      let ins = '';
      let del = '';
      if (shape === SHAPE_INSERT || shape === SHAPE_REPLACE) {
        const len = insLens.next();
        if (len < 1 || len > insEnd - insOff) return malformed(`event ${i}: bad insert length ${len}`);
        ins = text.slice(insOff, (insOff += len));
        cursors[c] = pos + len;
      } else cursors[c] = pos;
      if (shape === SHAPE_DELETE || shape === SHAPE_REPLACE) {
        const len = delLens.next();
        if (len < 1 || len > units - delOff) return malformed(`event ${i}: bad delete length ${len}`);
        del = text.slice(delOff, (delOff += len));
      } else if (shape !== SHAPE_INSERT) return malformed(`event ${i}: unknown op shape ${shape}`);
      // Literals of the exact size: no growth, packed elements.
      if (shape === SHAPE_INSERT) op = pos > 0 ? [pos, ins] : [ins];
      else if (shape === SHAPE_DELETE) op = pos > 0 ? [pos, { d: del }] : [{ d: del }];
      else op = pos > 0 ? [pos, ins, { d: del }] : [ins, { d: del }];
    }

    const event: DocEvent =
      m === undefined
        ? { id: { client: table[c], clientSeq }, seq, base, author: table[a], time, op, kind: eventKinds[k] }
        : { id: { client: table[c], clientSeq }, seq, base, author: table[a], time, op, kind: eventKinds[k], meta: m as EventMeta };
    events.push(event);
  }
  const readers = [clients, bases, authors, kinds, metaCounts, shapes, positions, insLens, delLens];
  const plain = [meta, general, floatTimes ? timeCol : times, wideClientSeqs ? clientSeqCol : clientSeqs];
  if (!readers.every((x) => x.done) || !plain.every((x) => x.done)) {
    return malformed('the columns do not add up to the events');
  }
  if (insOff !== insEnd || delOff !== units) return malformed('text left over after the last event');
  return ok(events);
}
