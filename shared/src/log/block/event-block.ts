/**
 * A block: a run of events with contiguous seqs, in a few kilobytes instead of 130 bytes an
 * event. The store seals its log into blocks, the wire carries them, IndexedDB caches them;
 * all three read and write them through this file.
 *
 * The layout is column-wise, after Yjs's update v2 and diamond-types: instead of one record an
 * event, each field of every event goes into a column of its own, and each column is written
 * as what changes from what one would expect. A log is overwhelmingly runs: one person types
 * a sentence (same client, same author, same kind, clientSeq + 1, base = seq - 1, the caret
 * where the last insert ended, one character each, a few milliseconds apart), then someone
 * else does. Written as "the same again, n times", such a run costs a few bytes whatever its
 * length, and what remains per event is the text itself, which deflate packs.
 *
 * Expected values, so that a typist's events write zeros and zeros collapse into runs:
 *   - seq: not stored, the first seq and then + 1 (a block is contiguous by definition);
 *   - clientSeq: the same client's previous clientSeq in the block + 1 (absolute the first time);
 *   - base: seq - 1 (the delta is how far behind the author was);
 *   - time: the previous event's time;
 *   - position: where the previous op ended (the caret after an insert, the place of a delete),
 *     so typing forward and backspacing write 0 and -1 over and over.
 * Every column is an RLE column of zigzag deltas (rle.ts) except the two of rare shapes (meta
 * and multi-component ops), which are plain varints. Client, author, meta keys and string values
 * go into a table of strings, by index; the table's text and the text of every insert and
 * delete go into the text column (chars.ts), deflated once.
 *
 * Payload (inside the envelope, envelope.ts):
 *   n · first seq · flags · table size · text units · text column · 14 columns, each its byte
 *   length then its bytes: table lengths, clients, clientSeqs, bases, authors, times, kinds,
 *   meta counts, meta, op shapes, positions, insert lengths, delete lengths, general ops.
 *
 * Op shapes: 0 empty, 1 insert, 2 delete, 3 insert then delete (a replacement), each at the
 * position of the op's leading retain; 4 anything else, its components in the general column.
 * Times are integers nearly always (the server's clock); a block with any other time keeps
 * all its times as doubles (flag bit 0), so every time survives bit for bit either way.
 *
 * Decoding trusts nothing: every column must be read to its last byte and no further, every
 * index must be in its table, every length must be positive and fit the text, every op must be
 * canonical; a block that passes the checksum but breaks any of this is `block-malformed`.
 * Nothing is thrown and no event comes out of a block that fails.
 *
 * Encoding trusts its input as far as the caller owns it: events that are not a well-formed
 * contiguous run are a bug of the caller (the store and the server only seal what they
 * committed), so `encodeBlock` throws on them rather than writing something that would decode
 * to different events.
 */
import type { Component, Op } from '../../op/op.js';
import { decodeOp, defaultOpLimits } from '../../op/codec.js';
import type { DocEvent, EventKind, EventMeta } from '../event.js';
import { eventKinds } from '../event.js';
import { type Result, ok } from '../../result.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { RleReader, RleWriter } from './rle.js';
import { readChars, writeChars } from './chars.js';
import { EVENTS_BLOCK, blockError, open, seal } from './envelope.js';

/**
 * A run of events as a block holds it: seqs contiguous (first, first + 1, …), each event
 * well-formed (a canonical op, a known kind, integer seq, base and clientSeq, meta of strings,
 * numbers, booleans and null). May be empty. `encodeBlock` throws on anything else.
 */
export type EventRun = readonly DocEvent[];

/** Most events a block may hold, so a tiny hostile block cannot claim billions of events. */
export const MAX_BLOCK_EVENTS = 1 << 22;

const SHAPE_EMPTY = 0;
const SHAPE_INSERT = 1;
const SHAPE_DELETE = 2;
const SHAPE_REPLACE = 3;
const SHAPE_GENERAL = 4;

const META_NULL = 0;
const META_FALSE = 1;
const META_TRUE = 2;
const META_INT = 3;
const META_FLOAT = 4;
const META_STRING = 5;

const FLAG_FLOAT_TIMES = 1;

const kindIndex = new Map<EventKind, number>(eventKinds.map((k, i) => [k, i]));
const MAX_DELTA = 2 ** 52;

const isDeltaInt = (v: number) => Number.isSafeInteger(v) && v <= MAX_DELTA && v >= -MAX_DELTA;

/** The number of columns after the text column; their order is the payload's. */
const COLUMNS = 14;

/** Encodes a run of events (see EventRun); throws if it is not one. */
export function encodeBlock(events: EventRun): Uint8Array {
  const n = events.length;
  if (n > MAX_BLOCK_EVENTS) throw new Error(`encodeBlock: ${n} events, a block holds at most ${MAX_BLOCK_EVENTS}`);
  const firstSeq = n > 0 ? events[0].seq : 0;
  if (n > 0 && (!Number.isSafeInteger(firstSeq) || firstSeq < 0)) throw new Error(`encodeBlock: seq ${firstSeq} is not a non-negative integer`);
  const floatTimes = events.some((e) => !isDeltaInt(e.time));

  const cols: ByteWriter[] = [];
  for (let i = 0; i < COLUMNS; i++) cols.push(new ByteWriter(i === 4 || i === 9 || i === 10 || i === 11 ? 64 : 16));
  const [strLens, , , , , , , , meta, , , , , general] = cols;
  const clients = new RleWriter(cols[1]);
  const clientSeqs = new RleWriter(cols[2]);
  const bases = new RleWriter(cols[3]);
  const authors = new RleWriter(cols[4]);
  const times = new RleWriter(cols[5]);
  const kinds = new RleWriter(cols[6]);
  const metaCounts = new RleWriter(cols[7]);
  const shapes = new RleWriter(cols[9]);
  const positions = new RleWriter(cols[10]);
  const insLens = new RleWriter(cols[11]);
  const delLens = new RleWriter(cols[12]);
  const floats = new ByteWriter(floatTimes ? n * 8 : 0);

  const table = new Map<string, number>();
  const tableText: string[] = [];
  const opText: string[] = [];
  const str = (s: string): number => {
    let i = table.get(s);
    if (i === undefined) {
      i = table.size;
      table.set(s, i);
      tableText.push(s);
      strLens.uint(s.length);
    }
    return i;
  };
  const lastClientSeq = new Map<number, number>();
  let prevTime = 0;
  let cursor = 0;

  for (let i = 0; i < n; i++) {
    const e = events[i];
    const bad = (what: string) => new Error(`encodeBlock: event ${i} (seq ${String(e?.seq)}): ${what}`);
    if (e.seq !== firstSeq + i) throw bad(`expected seq ${firstSeq + i}: a block is a run of contiguous seqs`);
    if (typeof e.id?.client !== 'string') throw bad('id.client must be a string');
    if (typeof e.author !== 'string') throw bad('author must be a string');
    const c = str(e.id.client);
    clients.push(c);
    const cs = e.id.clientSeq;
    const prevCs = lastClientSeq.get(c);
    const csDelta = cs - (prevCs === undefined ? 0 : prevCs + 1);
    if (!isDeltaInt(cs) || !isDeltaInt(csDelta)) throw bad(`clientSeq ${cs} is not an integer`);
    clientSeqs.push(csDelta);
    lastClientSeq.set(c, cs);
    const behind = e.seq - 1 - e.base;
    if (!isDeltaInt(e.base) || !isDeltaInt(behind)) throw bad(`base ${e.base} is not an integer`);
    bases.push(behind);
    authors.push(str(e.author));
    if (floatTimes) {
      if (typeof e.time !== 'number') throw bad('time must be a number');
      floats.float64(e.time);
    } else {
      times.push(e.time - prevTime);
      prevTime = e.time;
    }
    const k = kindIndex.get(e.kind);
    if (k === undefined) throw bad(`unknown kind ${JSON.stringify(e.kind)}`);
    kinds.push(k);
    writeMeta(e.meta, metaCounts, meta, str, bad);
    const checked = decodeOp(e.op);
    if (!checked.ok) throw bad(`op: ${checked.error.message}`);
    cursor = writeOp(e.op, cursor, shapes, positions, insLens, delLens, general, opText);
  }
  for (const w of [clients, clientSeqs, bases, authors, times, kinds, metaCounts, shapes, positions, insLens, delLens]) w.flush();
  if (floatTimes) cols[5] = floats;

  const text = tableText.join('') + opText.join('');
  const out = new ByteWriter(64 + text.length);
  out.uint(n);
  out.uint(firstSeq);
  out.uint(floatTimes ? FLAG_FLOAT_TIMES : 0);
  out.uint(table.size);
  out.uint(text.length);
  writeChars(out, text);
  for (const col of cols) {
    out.uint(col.length);
    out.bytes(col.view());
  }
  return seal(EVENTS_BLOCK, out.view());
}

function writeMeta(
  m: EventMeta | undefined,
  counts: RleWriter,
  out: ByteWriter,
  str: (s: string) => number,
  bad: (what: string) => Error,
): void {
  if (m === undefined) {
    counts.push(0);
    return;
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m)) throw bad('meta must be an object');
  const keys = Object.keys(m);
  counts.push(keys.length + 1);
  for (const key of keys) {
    out.uint(str(key));
    const v = m[key];
    if (v === null) out.uint(META_NULL);
    else if (v === false) out.uint(META_FALSE);
    else if (v === true) out.uint(META_TRUE);
    else if (typeof v === 'string') {
      out.uint(META_STRING);
      out.uint(str(v));
    } else if (typeof v === 'number') {
      if (isDeltaInt(v) && !Object.is(v, -0)) {
        out.uint(META_INT);
        out.int(v);
      } else {
        out.uint(META_FLOAT);
        out.float64(v);
      }
    } else throw bad(`meta.${key} must be a string, a number, a boolean or null`);
  }
}

/** Writes one canonical op; returns where it ended (the next op's expected position). */
function writeOp(
  op: Op,
  cursor: number,
  shapes: RleWriter,
  positions: RleWriter,
  insLens: RleWriter,
  delLens: RleWriter,
  general: ByteWriter,
  text: string[],
): number {
  if (op.length === 0) {
    shapes.push(SHAPE_EMPTY);
    return cursor;
  }
  const pos = typeof op[0] === 'number' ? op[0] : 0;
  const rest = op.length - (typeof op[0] === 'number' ? 1 : 0);
  const a = op[op.length - rest];
  const b = rest === 2 ? op[op.length - 1] : undefined;
  if (rest === 1 && typeof a === 'string') {
    shapes.push(SHAPE_INSERT);
    positions.push(pos - cursor);
    insLens.push(a.length);
    text.push(a);
    return pos + a.length;
  }
  if (rest === 1 && typeof a === 'object') {
    shapes.push(SHAPE_DELETE);
    positions.push(pos - cursor);
    delLens.push(a.d.length);
    text.push(a.d);
    return pos;
  }
  if (rest === 2 && typeof a === 'string' && typeof b === 'object') {
    shapes.push(SHAPE_REPLACE);
    positions.push(pos - cursor);
    insLens.push(a.length);
    delLens.push(b.d.length);
    text.push(a, b.d);
    return pos + a.length;
  }
  shapes.push(SHAPE_GENERAL);
  general.uint(op.length);
  let end = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      general.uint(c * 3);
      end += c;
    } else if (typeof c === 'string') {
      general.uint(c.length * 3 + 1);
      text.push(c);
      end += c.length;
    } else {
      general.uint(c.d.length * 3 + 2);
      text.push(c.d);
    }
  }
  return end;
}

/** Decodes a block: its events, or a coded error (never a partial or different run). */
export function decodeBlock(bytes: Uint8Array): Result<DocEvent[]> {
  const opened = open(bytes, EVENTS_BLOCK);
  if (!opened.ok) return opened;
  const r = opened.value;
  const malformed = (what: string) => blockError('block-malformed', what);
  const n = r.uint();
  const firstSeq = r.uint();
  const flags = r.uint();
  const tableSize = r.uint();
  const units = r.uint();
  if (r.failed) return malformed('bad header');
  if (n > MAX_BLOCK_EVENTS) return malformed(`${n} events, a block holds at most ${MAX_BLOCK_EVENTS}`);
  if (flags > FLAG_FLOAT_TIMES) return malformed(`unknown flags ${flags}`);
  if (firstSeq + n > Number.MAX_SAFE_INTEGER) return malformed('seqs beyond 2^53');
  const text = readChars(r, units);
  if (text === null) return malformed('the text column is damaged');
  const cols: ByteReader[] = [];
  for (let i = 0; i < COLUMNS; i++) {
    const len = r.uint();
    if (r.failed || len > r.end - r.pos) return malformed(`column ${i} runs past the end`);
    cols.push(new ByteReader(r.bytes, r.pos, r.pos + len));
    r.pos += len;
  }
  if (!r.done) return malformed('bytes after the last column');

  // The table: slices of the text, by length.
  const strLens = cols[0];
  if (tableSize > strLens.end - strLens.pos) return malformed('the table is longer than its column');
  const table: string[] = new Array(tableSize);
  let off = 0;
  for (let i = 0; i < tableSize; i++) {
    const len = strLens.uint();
    if (strLens.failed || len > units - off) return malformed('the table does not fit the text');
    table[i] = text.slice(off, off + len);
    off += len;
  }
  if (!strLens.done) return malformed('the table column has bytes left');

  const clients = new RleReader(cols[1]);
  const clientSeqs = new RleReader(cols[2]);
  const bases = new RleReader(cols[3]);
  const authors = new RleReader(cols[4]);
  const floatTimes = flags === FLAG_FLOAT_TIMES;
  const times = new RleReader(cols[5]);
  const kinds = new RleReader(cols[6]);
  const metaCounts = new RleReader(cols[7]);
  const meta = cols[8];
  const shapes = new RleReader(cols[9]);
  const positions = new RleReader(cols[10]);
  const insLens = new RleReader(cols[11]);
  const delLens = new RleReader(cols[12]);
  const general = cols[13];

  const lastClientSeq = new Float64Array(tableSize).fill(-1);
  const events: DocEvent[] = new Array(n);
  let time = 0;
  let cursor = 0;
  const maxRetain = defaultOpLimits.maxRetain;
  for (let i = 0; i < n; i++) {
    const seq = firstSeq + i;
    const c = clients.next();
    if (c < 0 || c >= tableSize) return malformed(`event ${i}: client index ${c} is not in the table`);
    const prevCs = lastClientSeq[c];
    const clientSeq = clientSeqs.next() + (prevCs < 0 ? 0 : prevCs + 1);
    lastClientSeq[c] = clientSeq;
    const base = seq - 1 - bases.next();
    if (!Number.isSafeInteger(clientSeq) || !Number.isSafeInteger(base)) return malformed(`event ${i}: clientSeq or base beyond 2^53`);
    const a = authors.next();
    if (a < 0 || a >= tableSize) return malformed(`event ${i}: author index ${a} is not in the table`);
    if (floatTimes) time = cols[5].float64();
    else time += times.next();
    const k = kinds.next();
    if (k < 0 || k >= eventKinds.length) return malformed(`event ${i}: unknown kind ${k}`);

    const mc = metaCounts.next();
    let m: Record<string, string | number | boolean | null> | undefined;
    if (mc !== 0) {
      if (mc < 0 || mc - 1 > meta.end - meta.pos) return malformed(`event ${i}: bad meta count`);
      m = {};
      for (let j = 1; j < mc; j++) {
        const key = meta.uint();
        if (key >= tableSize) return malformed(`event ${i}: meta key index ${key} is not in the table`);
        const tag = meta.uint();
        let v: string | number | boolean | null;
        if (tag === META_NULL) v = null;
        else if (tag === META_FALSE) v = false;
        else if (tag === META_TRUE) v = true;
        else if (tag === META_INT) v = meta.int();
        else if (tag === META_FLOAT) v = meta.float64();
        else if (tag === META_STRING) {
          const s = meta.uint();
          if (s >= tableSize) return malformed(`event ${i}: meta string index ${s} is not in the table`);
          v = table[s];
        } else return malformed(`event ${i}: unknown meta tag ${tag}`);
        if (meta.failed) return malformed(`event ${i}: the meta column is cut short`);
        const name = table[key];
        if (Object.prototype.hasOwnProperty.call(m, name)) return malformed(`event ${i}: meta key repeated`);
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
      op = new Array(count);
      let end = 0;
      for (let j = 0; j < count; j++) {
        const v = general.uint();
        const len = Math.floor(v / 3);
        const tag = v % 3;
        if (tag === 0) {
          op[j] = len;
          end += len;
        } else {
          if (len > units - off) return malformed(`event ${i}: an op's text runs past the text column`);
          const s = text.slice(off, off + len);
          off += len;
          if (tag === 1) {
            op[j] = s;
            end += len;
          } else op[j] = { d: s };
        }
      }
      if (general.failed) return malformed(`event ${i}: the ops column is cut short`);
      const valid = decodeOp(op);
      if (!valid.ok) return malformed(`event ${i}: ${valid.error.message}`);
      cursor = end;
    } else {
      const pos = cursor + positions.next();
      if (pos < 0 || pos > maxRetain) return malformed(`event ${i}: position ${pos} out of range`);
      op = pos > 0 ? [pos] : [];
      if (shape === SHAPE_INSERT || shape === SHAPE_REPLACE) {
        const len = insLens.next();
        if (len < 1 || len > units - off) return malformed(`event ${i}: bad insert length ${len}`);
        op.push(text.slice(off, off + len));
        off += len;
        cursor = pos + len;
      } else cursor = pos;
      if (shape === SHAPE_DELETE || shape === SHAPE_REPLACE) {
        const len = delLens.next();
        if (len < 1 || len > units - off) return malformed(`event ${i}: bad delete length ${len}`);
        op.push({ d: text.slice(off, off + len) });
        off += len;
      } else if (shape !== SHAPE_INSERT) return malformed(`event ${i}: unknown op shape ${shape}`);
    }

    const event: DocEvent = {
      id: { client: table[c], clientSeq },
      seq,
      base,
      author: table[a],
      time,
      op,
      kind: eventKinds[k],
    };
    if (m !== undefined) (event as { meta?: EventMeta }).meta = m;
    events[i] = event;
  }
  const readers = [clients, clientSeqs, bases, authors, kinds, metaCounts, shapes, positions, insLens, delLens];
  if (!floatTimes) readers.push(times);
  if (!readers.every((x) => x.done) || !meta.done || !general.done || (floatTimes && !cols[5].done)) {
    return malformed('the columns do not add up to the events');
  }
  if (off !== units) return malformed(`${units - off} units of text left over`);
  return ok(events);
}
