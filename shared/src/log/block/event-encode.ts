/**
 * Writes a run of events as a block (the layout: event-layout.ts).
 *
 * Encoding trusts its input as far as the caller owns it: events that are not a well-formed
 * contiguous run are a bug of the caller (the store and the server seal only what they
 * committed, and the store checked it on the way in), so `encodeBlock` throws on them rather
 * than writing something that would decode to different events.
 */
import { deflateSync } from 'fflate';
import type { Op } from '../../op/op.js';
import { decodeOp } from '../../op/codec.js';
import type { DocEvent, EventKind, EventMeta } from '../event.js';
import { eventKinds } from '../event.js';
import { ByteWriter, RleWriter } from './bytes.js';
import { writeChars, type DeflateLevel } from './chars.js';
import { EVENTS_BLOCK, seal } from './envelope.js';
import {
  COLUMN_COUNT,
  Col,
  FLAG_DEFLATED_COLUMNS,
  FLAG_FLOAT_TIMES,
  FLAG_WIDE_CLIENT_SEQS,
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
  isDeltaInt,
  ownKeyDistance,
} from './event-layout.js';

/**
 * A run of events as a block holds it: seqs contiguous (first, first + 1, …, all ≤ 2^49), each
 * event well-formed (a canonical op, a known kind, 0 ≤ base ≤ seq - 1 + 2^50, a non-negative safe integer
 * clientSeq, any number as time, meta of strings, numbers, booleans and null), at most
 * MAX_BLOCK_EVENTS events. May be empty. `encodeBlock` throws
 * on anything else; `decodeBlock` gives back exactly such a run.
 */
export type EventRun = readonly DocEvent[];

const kindIndex = new Map<EventKind, number>(eventKinds.map((k, i) => [k, i]));

/** Per client seen in the block: what its next event is expected to be. */
interface ClientState {
  clientSeq: number;
  author: number;
  cursor: number;
}

/**
 * How hard the encoder packs. The store's blocks are written once and kept for good, so
 * they are deflated at level 9 (the default). A live frame (spec P25) is encoded once a
 * commit turn, sent at once and read at once: deflating it (two streams) about doubled the
 * time to encode one of 1-100 events (0.04-0.35 ms more, bench/live-frames.ts), so it is
 * `0`, stored as it is. The reader does not depend on the level.
 */
export interface EncodeOptions {
  readonly level?: DeflateLevel;
}

/** Encodes a run of events (see EventRun); throws if it is not one. */
export function encodeBlock(events: EventRun, opts: EncodeOptions = {}): Uint8Array {
  const level = opts.level ?? 9;
  const n = events.length;
  if (n > MAX_BLOCK_EVENTS) throw new Error(`encodeBlock: ${n} events, a block holds at most ${MAX_BLOCK_EVENTS}`);
  const firstSeq = n > 0 ? events[0].seq : 0;
  if (n > 0 && (!Number.isSafeInteger(firstSeq) || firstSeq < 0 || Object.is(firstSeq, -0) || firstSeq + n > NARROW_LIMIT)) {
    throw new Error(`encodeBlock: seq ${firstSeq} is not an integer from 0 to 2^49`);
  }
  // -0 is a double like any fraction: only the float form keeps its sign.
  const narrow = (v: number) => Number.isSafeInteger(v) && v <= NARROW_LIMIT && v >= -NARROW_LIMIT && !Object.is(v, -0);
  const floatTimes = events.some((e) => !narrow(e.time));
  const wideClientSeqs = events.some((e) => !narrow(e.id?.clientSeq));

  const cols: ByteWriter[] = [];
  for (let i = 0; i < COLUMN_COUNT; i++) cols.push(new ByteWriter(64));
  const rle = (c: number) => new RleWriter(cols[c]);
  const clients = rle(Col.Clients);
  const clientSeqs = rle(Col.ClientSeqs);
  const bases = rle(Col.Bases);
  const authors = rle(Col.Authors);
  const times = rle(Col.Times);
  const kinds = rle(Col.Kinds);
  const metaCounts = rle(Col.MetaCounts);
  const ops: OpWriters = {
    shapes: rle(Col.Shapes),
    positions: rle(Col.Positions),
    insLens: rle(Col.InsertLengths),
    delLens: rle(Col.DeleteLengths),
    general: cols[Col.General],
    inserts: [],
    deletes: [],
  };
  const meta = cols[Col.Meta];
  const strLens = cols[Col.TableLengths];

  const table = new Map<string, number>();
  const tableText: string[] = [];
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
  const state = new Map<number, ClientState>();
  let prevClient = 0;
  let prevTime = 0;

  for (let i = 0; i < n; i++) {
    const e = events[i];
    const bad = (what: string) => new Error(`encodeBlock: event ${i} (seq ${String(e?.seq)}): ${what}`);
    if (e.seq !== firstSeq + i) throw bad(`expected seq ${firstSeq + i}: a block is a run of contiguous seqs`);
    if (typeof e.id?.client !== 'string') throw bad('id.client must be a string');
    if (typeof e.author !== 'string') throw bad('author must be a string');
    const c = str(e.id.client);
    clients.push(c - prevClient);
    prevClient = c;
    let st = state.get(c);
    const cs = e.id.clientSeq;
    if (!Number.isSafeInteger(cs) || cs < 0 || Object.is(cs, -0)) throw bad(`clientSeq ${cs} is not a non-negative integer`);
    if (wideClientSeqs) cols[Col.ClientSeqs].uint(cs);
    else clientSeqs.push(cs - (st === undefined ? 0 : st.clientSeq + 1));
    const behind = e.seq - 1 - e.base;
    if (!isDeltaInt(e.base) || !isDeltaInt(behind) || e.base < 0 || Object.is(e.base, -0)) throw bad(`base ${e.base} is not an integer from 0`);
    bases.push(behind);
    const a = str(e.author);
    authors.push(st !== undefined && st.author === a ? 0 : a + 1);
    if (floatTimes) {
      if (typeof e.time !== 'number') throw bad('time must be a number');
    } else {
      times.push(e.time - prevTime);
      prevTime = e.time;
    }
    const k = kindIndex.get(e.kind);
    if (k === undefined) throw bad(`unknown kind ${JSON.stringify(e.kind)}`);
    kinds.push(k);
    writeMeta(e, metaCounts, meta, str, bad);
    const checked = decodeOp(e.op);
    if (!checked.ok) throw bad(`op: ${checked.error.message}`);
    const cursor = writeOp(e.op, st === undefined ? 0 : st.cursor, ops);
    if (st === undefined) {
      st = { clientSeq: cs, author: a, cursor };
      state.set(c, st);
    } else {
      st.clientSeq = cs;
      st.author = a;
      st.cursor = cursor;
    }
  }
  for (const w of [clients, clientSeqs, bases, authors, times, kinds, metaCounts, ops.shapes, ops.positions, ops.insLens, ops.delLens]) w.flush();
  if (floatTimes) {
    const floats = new ByteWriter(n * 8);
    for (const e of events) floats.float64(e.time);
    cols[Col.Times] = floats;
  }

  const insertText = ops.inserts.join('');
  const text = tableText.join('') + insertText + ops.deletes.join('');
  const columns = new ByteWriter(64);
  for (const col of cols) {
    columns.uint(col.length);
    columns.bytes(col.view());
  }
  const raw = columns.view();
  const packed = level > 0 && raw.length > 64 ? deflateSync(raw, { level: level as Exclude<DeflateLevel, 0> }) : raw;
  const deflated = packed.length < raw.length;

  const out = new ByteWriter(64 + text.length + raw.length);
  out.uint(n);
  out.uint(firstSeq);
  out.uint((floatTimes ? FLAG_FLOAT_TIMES : 0) | (deflated ? FLAG_DEFLATED_COLUMNS : 0) | (wideClientSeqs ? FLAG_WIDE_CLIENT_SEQS : 0));
  out.uint(table.size);
  out.uint(text.length);
  out.uint(insertText.length);
  writeChars(out, text, level);
  out.uint(raw.length);
  out.uint(deflated ? packed.length : raw.length);
  out.bytes(deflated ? packed : raw);
  return seal(EVENTS_BLOCK, out.view());
}

function writeMeta(e: DocEvent, counts: RleWriter, out: ByteWriter, str: (s: string) => number, bad: (what: string) => Error): void {
  const m: EventMeta | undefined = e.meta;
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
      const d = ownKeyDistance(v, e.id.client, e.id.clientSeq);
      if (d !== null) {
        out.uint(META_OWN_KEY);
        out.int(d);
      } else {
        out.uint(META_STRING);
        out.uint(str(v));
      }
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

interface OpWriters {
  shapes: RleWriter;
  positions: RleWriter;
  insLens: RleWriter;
  delLens: RleWriter;
  general: ByteWriter;
  inserts: string[];
  deletes: string[];
}

/** Writes one canonical op; returns where it ended (the client's next expected position). */
function writeOp(op: Op, cursor: number, w: OpWriters): number {
  if (op.length === 0) {
    w.shapes.push(SHAPE_EMPTY);
    return cursor;
  }
  const lead = typeof op[0] === 'number' ? 1 : 0;
  const pos = lead === 1 ? (op[0] as number) : 0;
  const rest = op.length - lead;
  const a = op[lead];
  const b = rest === 2 ? op[lead + 1] : undefined;
  if (rest === 1 && typeof a === 'string') {
    w.shapes.push(SHAPE_INSERT);
    w.positions.push(pos - cursor);
    w.insLens.push(a.length);
    w.inserts.push(a);
    return pos + a.length;
  }
  if (rest === 1 && typeof a === 'object') {
    w.shapes.push(SHAPE_DELETE);
    w.positions.push(pos - cursor);
    w.delLens.push(a.d.length);
    w.deletes.push(a.d);
    return pos;
  }
  if (rest === 2 && typeof a === 'string' && typeof b === 'object') {
    w.shapes.push(SHAPE_REPLACE);
    w.positions.push(pos - cursor);
    w.insLens.push(a.length);
    w.delLens.push(b.d.length);
    w.inserts.push(a);
    w.deletes.push(b.d);
    return pos + a.length;
  }
  w.shapes.push(SHAPE_GENERAL);
  w.general.uint(op.length);
  let end = 0;
  for (const c of op) {
    if (typeof c === 'number') {
      w.general.uint(c * 3);
      end += c;
    } else if (typeof c === 'string') {
      w.general.uint(c.length * 3 + 1);
      w.inserts.push(c);
      end += c.length;
    } else {
      w.general.uint(c.d.length * 3 + 2);
      w.deletes.push(c.d);
    }
  }
  return end;
}
