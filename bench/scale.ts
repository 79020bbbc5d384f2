/**
 * Scale: the core must stay fast at 10 MB of text and a million events. Built from the
 * real automerge-paper keystrokes: the trace typed four times in a row (each copy after
 * the text of the ones before it: 1,039,112 events), once into an empty document and
 * once into a document that already holds 10 MB (a checkpoint). Replay time and the
 * per-event cost are reported; the final text is checked.
 */
import { performance } from 'node:perf_hooks';
import { replay, type Checkpoint, type DocEvent, type Op } from '../shared/src/index.js';

export interface ScaleResult {
  events: number;
  replayMs: number;
  replay10MBMs: number;
  nsPerEvent: number;
  finalLength: number;
}

function shifted(op: Op, by: number): Op {
  if (by === 0) return op;
  if (op.length > 0 && typeof op[0] === 'number') return [op[0] + by, ...op.slice(1)];
  return [by, ...op];
}

/** `copies` runs of the trace's events, each shifted past the text before it. */
export function repeated(events: readonly DocEvent[], endLength: number, copies: number, offset = 0): DocEvent[] {
  const out: DocEvent[] = [];
  for (let k = 0; k < copies; k++) {
    const by = offset + k * endLength;
    for (const e of events) {
      const seq = out.length + 1;
      out.push({ ...e, id: { client: 'scale', clientSeq: seq }, seq, base: seq - 1, op: shifted(e.op, by) });
    }
  }
  return out;
}

export function scale(events: readonly DocEvent[], endContent: string, copies = 4): ScaleResult {
  const big = repeated(events, endContent.length, copies);
  let t0 = performance.now();
  const text = replay(null, big).toString();
  const replayMs = performance.now() - t0;
  if (text !== endContent.repeat(copies)) throw new Error('scale: replay of the repeated trace is wrong');

  // The same keystrokes typed after a 10 MB document.
  const base = 'x'.repeat(10 * 1024 * 1024);
  const cp: Checkpoint = { docId: 'scale', seq: 0, text: base, authorship: [{ author: 'seed', length: base.length }] };
  const onBig = repeated(events, endContent.length, copies, base.length);
  t0 = performance.now();
  const rope = replay(cp, onBig);
  const replay10MBMs = performance.now() - t0;
  if (rope.length !== base.length + endContent.length * copies) throw new Error('scale: 10 MB replay has the wrong length');
  if (rope.slice(base.length, base.length + endContent.length) !== endContent) throw new Error('scale: 10 MB replay is wrong');
  return { events: big.length, replayMs, replay10MBMs, nsPerEvent: (replayMs * 1e6) / big.length, finalLength: text.length };
}
