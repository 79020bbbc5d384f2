/**
 * A checkpoint as a block: the text deflated, the authorship as runs of (author index, length)
 * varints over a table of authors. The JSON form (checkpoint.ts) spends a byte or more per
 * character of text and escapes; this one is about what deflate makes of the text plus two or
 * three bytes a run.
 *
 * Payload (inside the envelope, envelope.ts, type 2):
 *   seq · table size (docId, then the authors) · text units · text column (chars.ts) ·
 *   table lengths column · run count · runs column (author index, length)
 *
 * Decoding checks what the JSON decoder checks: every index in the table, every run at least
 * one unit long, the runs covering the text exactly.
 */
import type { Checkpoint } from '../checkpoint.js';
import type { AuthorRun } from '../../text/authorship.js';
import { type Result, ok } from '../../result.js';
import { ByteReader, ByteWriter } from './bytes.js';
import { readChars, writeChars } from './chars.js';
import { CHECKPOINT_BLOCK, blockError, open, seal } from './envelope.js';

/**
 * The text is deflated at fflate's level 1, not 9 as in event blocks. A checkpoint is written
 * on the server's thread once per 1,000 events of a document (and in the browser every 500),
 * and its text is the whole document, so the level is what it costs: on automerge-paper's
 * final text (105 KB), encoding checkpoints one after another as the server does took
 * 6.7 ms (median) at level 9 and 2.0 ms at level 1, level 4 no better than 9, for 32.3 KB
 * instead of 28.2 KB (+15%). The retention rule (checkpoint-retention.ts) keeps few of them,
 * so their bytes matter less than their time. Decoding does not depend on the level.
 */
const TEXT_LEVEL = 1;

/** Encodes a checkpoint compactly, for writing often (text at level 1); throws on one that breaks its own type's promises. */
export function encodeCheckpointBlock(cp: Checkpoint): Uint8Array {
  return encodeAt(cp, TEXT_LEVEL);
}

/**
 * The same checkpoint, its text deflated at level 9: about 13% fewer bytes for about 3x the
 * time. For a checkpoint kept long, once the document is idle (the SQLite store, docs/storage.md).
 * It decodes exactly as `encodeCheckpointBlock`'s does.
 */
export function encodeCheckpointBlockSmallest(cp: Checkpoint): Uint8Array {
  return encodeAt(cp, 9);
}

function encodeAt(cp: Checkpoint, level: 1 | 9): Uint8Array {
  if (!Number.isSafeInteger(cp.seq) || cp.seq < 0) throw new Error(`encodeCheckpointBlock: seq ${cp.seq} is not a non-negative integer`);
  const strings = [cp.docId];
  const index = new Map<string, number>();
  const runs = new ByteWriter(16 + cp.authorship.length * 3);
  let covered = 0;
  for (const r of cp.authorship) {
    let i = index.get(r.author);
    if (i === undefined) {
      i = strings.length;
      strings.push(r.author);
      index.set(r.author, i);
    }
    if (!Number.isSafeInteger(r.length) || r.length < 1) throw new Error(`encodeCheckpointBlock: a run of length ${r.length}`);
    runs.uint(i);
    runs.uint(r.length);
    covered += r.length;
  }
  if (covered !== cp.text.length) throw new Error(`encodeCheckpointBlock: runs cover ${covered} units, the text has ${cp.text.length}`);
  const lens = new ByteWriter(16);
  for (const s of strings) lens.uint(s.length);
  const text = strings.join('') + cp.text;
  const out = new ByteWriter(64 + text.length);
  out.uint(cp.seq);
  out.uint(strings.length);
  out.uint(text.length);
  writeChars(out, text, level);
  out.uint(lens.length);
  out.bytes(lens.view());
  out.uint(cp.authorship.length);
  out.uint(runs.length);
  out.bytes(runs.view());
  return seal(CHECKPOINT_BLOCK, out.view());
}

/** Decodes a checkpoint block, or says why it is not one. */
export function decodeCheckpointBlock(bytes: Uint8Array): Result<Checkpoint> {
  const opened = open(bytes, CHECKPOINT_BLOCK);
  if (!opened.ok) return opened;
  const r = opened.value;
  const malformed = (what: string) => blockError('block-malformed', `checkpoint: ${what}`);
  const seq = r.uint();
  const tableSize = r.uint();
  const units = r.uint();
  if (r.failed || tableSize < 1) return malformed('bad header');
  const all = readChars(r, units);
  if (all === null) return malformed('the text column is damaged');
  const lensLength = r.uint();
  const lens = new ByteReader(r.bytes, r.pos, r.pos + lensLength);
  r.take(lensLength);
  const runCount = r.uint();
  const runsLength = r.uint();
  const runs = new ByteReader(r.bytes, r.pos, r.pos + runsLength);
  r.take(runsLength);
  if (r.failed || !r.done) return malformed('the columns do not fit the block');
  if (tableSize > lensLength || runCount > runsLength) return malformed('counts larger than their columns');
  const table: string[] = new Array(tableSize);
  let off = 0;
  for (let i = 0; i < tableSize; i++) {
    const len = lens.uint();
    if (lens.failed || len > units - off) return malformed('the table does not fit the text');
    table[i] = all.slice(off, off + len);
    off += len;
  }
  if (!lens.done) return malformed('the table column has bytes left');
  const text = all.slice(off);
  const authorship: AuthorRun[] = [];
  let covered = 0;
  for (let i = 0; i < runCount; i++) {
    const a = runs.uint();
    const length = runs.uint();
    if (runs.failed) return malformed('the runs column is cut short');
    if (a < 1 || a >= tableSize) return malformed(`run ${i}: author index ${a} is not in the table`);
    if (length < 1) return malformed(`run ${i}: empty`);
    authorship.push({ author: table[a], length });
    covered += length;
  }
  if (!runs.done) return malformed('the runs column has bytes left');
  if (covered !== text.length) return malformed(`runs cover ${covered} units but the text has ${text.length}`);
  return ok({ docId: table[0], seq, text, authorship });
}
