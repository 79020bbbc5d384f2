/**
 * Replay: the fold that defines the document (docs/spec.md, "The one idea"). The log and
 * checkpoints come from our own store, so ops are applied without re-checking them;
 * what is checked is that the events continue the checkpoint without a gap (L1), since
 * a gap would silently produce the wrong document.
 */
import type { DocEvent } from './event.js';
import type { Checkpoint } from './checkpoint.js';
import type { EventColumns } from './block/event-columns.js';
import { OpShape } from './block/event-columns.js';
import { ropeFromCheckpoint } from './checkpoint.js';
import { Rope } from '../text/rope.js';
import { opFromSplice } from '../op/op.js';

/** State at `checkpoint.seq + events.length`: the checkpoint (or empty) with `events` applied. */
export function replay(checkpoint: Checkpoint | null, events: readonly DocEvent[]): Rope {
  const rope = checkpoint === null ? Rope.empty() : ropeFromCheckpoint(checkpoint);
  replayInto(rope, checkpoint === null ? 0 : checkpoint.seq, events);
  return rope;
}

/** Applies `events` (seqs from + 1, from + 2, …) to `rope`, which is at version `from`. */
export function replayInto(rope: Rope, from: number, events: readonly DocEvent[]): void {
  let lastAuthor = '';
  let lastId = rope.authorId('');
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.seq !== from + i + 1) {
      throw new Error(`replay: expected seq ${from + i + 1}, got ${e.seq} (the log has a gap or is out of order)`);
    }
    if (e.author !== lastAuthor) {
      lastAuthor = e.author;
      lastId = rope.authorId(e.author);
    }
    rope.applyTrusted(e.op, lastId);
  }
}

/**
 * Applies events `start` … `end - 1` of a decoded run (block/event-columns.ts) to `rope`, which
 * is at version `from`: the same as `replayInto(rope, from, cols.slice(start, end))`, without
 * building the events. The first applied event must be seq `from + 1` (L1); the columns'
 * seqs are contiguous, so one check covers the run.
 */
export function replayColumnsInto(rope: Rope, from: number, cols: EventColumns, start = 0, end = cols.length): void {
  if (start < 0 || end > cols.length || start > end) throw new RangeError(`replay: events ${start}..${end} of a run of ${cols.length}`);
  if (start < end && cols.firstSeq + start !== from + 1) {
    throw new Error(`replay: expected seq ${from + 1}, got ${cols.firstSeq + start} (the log has a gap or is out of order)`);
  }
  const { shape, pos, insAt, delAt, author, text, generalOps } = cols;
  // Table index → the rope's author id, looked up once per author.
  const ids = new Int32Array(cols.table.length).fill(-1);
  for (let i = start; i < end; i++) {
    // Every event's author is registered, as replayInto does, so the two ropes are the same.
    const a = author[i];
    let id = ids[a];
    if (id < 0) id = ids[a] = rope.authorId(cols.table[a]);
    const s = shape[i];
    if (s === OpShape.Empty) continue;
    if (s === OpShape.Insert) rope.insert(pos[i], text.slice(insAt[i], insAt[i + 1]), id);
    else if (s === OpShape.Delete) rope.delete(pos[i], delAt[i + 1] - delAt[i]);
    else if (s === OpShape.Replace) {
      const ins = insAt[i + 1] - insAt[i];
      rope.insert(pos[i], text.slice(insAt[i], insAt[i + 1]), id);
      rope.delete(pos[i] + ins, delAt[i + 1] - delAt[i]);
    } else rope.applyTrusted(generalOps.get(i)!, id);
  }
}

/** A patch of the traces' format: `[position, deleteCount, insertedText]`. */
export type Patch = readonly [number, number, string];

/**
 * Turns a sequential trace into log events (one per patch, seqs 1…n), reading the
 * text each patch deletes so the events are invertible (L6). Throws on a patch that
 * does not fit, naming it: a trace is trusted input.
 */
export function traceToEvents(
  patches: readonly Patch[],
  opts: { author?: string; client?: string; times?: readonly number[] } = {},
): DocEvent[] {
  const author = opts.author ?? 'import';
  const client = opts.client ?? 'import';
  const rope = Rope.empty();
  const aid = rope.authorId(author);
  const events: DocEvent[] = new Array(patches.length);
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i];
    if (pos < 0 || pos + del > rope.length) {
      throw new Error(`patch ${i} [${pos}, ${del}] reaches outside the document (length ${rope.length})`);
    }
    const op = opFromSplice(pos, del > 0 ? rope.slice(pos, pos + del) : '', ins);
    rope.applyTrusted(op, aid);
    events[i] = {
      id: { client, clientSeq: i + 1 },
      seq: i + 1,
      base: i,
      author,
      time: opts.times?.[i] ?? 0,
      op,
      kind: 'edit',
    };
  }
  return events;
}
