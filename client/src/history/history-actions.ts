/**
 * The ops behind the history panel's actions. Both are appended as one new event of the
 * person acting (kind `restore`, `meta.step` = its own id key), so undo takes them back
 * like any step and the history before them stays (T1, U2).
 *
 *   - restore version v: one op turning the live text into the text at v (the changed
 *     middle between their common prefix and suffix: one delete and one insert);
 *   - revert one past step by anyone: the selective undo of that step, its characters
 *     tracked over everything after it (shared/src/history/revert.ts), `meta.reverts` =
 *     the step's key.
 */
import type { DocEvent, EventId, LocalEvent, Op } from '../../../shared/src/index.js';
import { idKey, diffOp, revertEvents, stepOf } from '../../../shared/src/index.js';

/** What the revert needs of the loaded history. */
export interface LoadedLog {
  events(from: number, to: number): readonly DocEvent[];
}

/** The op turning `current` into `target`, or null when they are equal. */
export function restoreOp(current: string, target: string): Op | null {
  return current === target ? null : diffOp(current, target);
}

/** The key of the undo step `e` belongs to. */
export function stepKeyOf(e: DocEvent): string {
  return stepOf(e);
}

/**
 * The op reverting the whole step that `e` belongs to, at the live text: the loaded log
 * must reach the confirmed head `head`, and `pending` is the outbox (applied after it).
 * Null when the step's first event is not loaded.
 */
export function revertStepOp(log: LoadedLog, e: DocEvent, pending: readonly LocalEvent[], head: number): Op | null {
  const key = stepOf(e);
  // The step starts at the event whose id key is the step's key, at or before e.
  let first = e.seq;
  const before = log.events(0, e.seq);
  for (let i = before.length - 1; i >= 0; i--) {
    if (idKey(before[i].id) === key) {
      first = before[i].seq;
      break;
    }
  }
  const stretch = log.events(first - 1, head);
  if (stretch.length !== head - first + 1) return null;
  const view: { id: EventId; op: Op; author: string }[] = [];
  const targets: EventId[] = [];
  for (const x of stretch) {
    view.push(x);
    if (x.author === e.author && stepOf(x) === key) targets.push(x.id);
  }
  for (const p of pending) {
    view.push(p);
    if (p.author === e.author && stepOf(p) === key) targets.push(p.id);
  }
  return revertEvents(view, targets);
}
