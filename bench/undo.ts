/**
 * Undo far back (issue 5): one person's undo step sits 100,000 events before the head of
 * automerge-paper, everything after it typed by someone else; one undo is `revertEvents`
 * over those 100,000 events (the client folds its undo stack incrementally as events
 * arrive, so that fold is reported apart, once, for the whole log).
 *
 * The step is a real typing run from the trace (20 consecutive keystrokes) given to
 * another author. The result is checked: it applies to the head text, deletes only the
 * step's author's characters, and with the step's own characters gone nothing of the
 * other author's text changes.
 */
import { performance } from 'node:perf_hooks';
import { replay, revertEvents, UndoHistory, applyToString, OpSummaries, type DocEvent } from '../shared/src/index.js';

export interface UndoBenchResult {
  /** Events between the step and the head. */
  back: number;
  stepEvents: number;
  /** One undo (revertEvents), median of the runs, ms. */
  undoMs: number;
  /** The slowest run, ms. */
  undoMaxMs: number;
  runs: number;
  /** Folding the whole log into the undo stack once, ms. */
  foldMs: number;
  /** Summarizing the whole log's ops once (op-summary.ts), ms. */
  summaryMs: number;
  /** The same undo over the whole log, reading every event (no hints), median, ms. */
  undoUnsummarizedMs: number;
  /** Units the undo deletes and inserts. */
  deleted: number;
  inserted: number;
}

export function undoBench(trace: readonly DocEvent[], back = 100_000, stepLen = 20, runs = 15): UndoBenchResult {
  // The latest typing run at least `back` events before the head whose text is still
  // (partly) there at the head: much of what the paper's author typed was rewritten.
  let log: DocEvent[] = [];
  for (let first = trace.length - back - stepLen; ; first -= stepLen) {
    if (first < 0) throw new Error(`no step of ${stepLen} events ${back} back survives to the head`);
    log = trace.map((e, i) =>
      i >= first && i < first + stepLen
        ? { ...e, id: { client: 'me', clientSeq: i - first + 1 }, author: 'me', meta: { step: '1@me' } }
        : e,
    );
    const ids = log.slice(first, first + stepLen).map((e) => e.id);
    const op = revertEvents(log, ids);
    if (op !== null && op.some((c) => typeof c !== 'number')) {
      back = trace.length - first - stepLen;
      break;
    }
  }
  const t0 = performance.now();
  const history = new UndoHistory('me');
  for (const e of log) history.add(e);
  const foldMs = performance.now() - t0;
  const target = history.nextUndo();
  if (target === null || target.events.length !== stepLen) throw new Error('undo bench: the step is not on the undo stack');

  // The client keeps its in-memory run of the log summarized as events arrive, like the
  // fold above; here both are done once for the whole log, and timed apart.
  const t1 = performance.now();
  const sums = OpSummaries.of(log);
  const summaryMs = performance.now() - t1;

  // As the client's undo does it: the log from the step's first event to the head (a
  // slice, taken inside the timing like the client's), searched forward, with the
  // summaries of that stretch; and, for comparison, the whole log read event by event.
  const first = log.findIndex((e) => e.id.client === 'me');
  const once = (withHints: boolean) =>
    withHints
      ? revertEvents(log.slice(first), target.events, history, { summaries: sums.view(first, log.length), groupFrom: 0 })
      : revertEvents(log, target.events, history);
  const timeIt = (withHints: boolean) => {
    const times: number[] = [];
    let op = once(withHints);
    for (let r = 0; r < runs; r++) {
      const s = performance.now();
      op = once(withHints);
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    return { op, times };
  };
  const plain = timeIt(false);
  const { op, times } = timeIt(true);
  if (op === null || plain.op === null) throw new Error('undo bench: the step is not in the log');
  if (JSON.stringify(op) !== JSON.stringify(plain.op)) throw new Error('undo bench: the hints changed the undo');

  // Check the result: it applies, and it deletes only the step author's characters.
  const head = replay(null, log);
  const headText = head.toString();
  const after = applyToString(headText, op);
  if (!after.ok) throw new Error(`undo bench: the undo does not apply: ${after.error.message}`);
  let pos = 0;
  let deleted = 0;
  let inserted = 0;
  for (const c of op) {
    if (typeof c === 'number') pos += c;
    else if (typeof c === 'string') inserted += c.length;
    else {
      for (const run of head.authorshipRange(pos, pos + c.d.length)) {
        if (run.author !== 'me') throw new Error(`undo bench: the undo deletes ${run.length} units by ${run.author}`);
      }
      pos += c.d.length;
      deleted += c.d.length;
    }
  }
  const mid = Math.floor(times.length / 2);
  return { back, stepEvents: stepLen, undoMs: times[mid], undoMaxMs: times[times.length - 1], runs, foldMs, summaryMs, undoUnsummarizedMs: plain.times[mid], deleted, inserted };
}
