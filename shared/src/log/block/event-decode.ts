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
import type { DocEvent } from '../event.js';
import type { EventColumns } from './event-columns.js';
import { type Result, ok } from '../../result.js';
import { ByteReader, readRleColumn } from './bytes.js';
import { Decoding } from './event-pass.js';
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
  return ok(result);
}

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
