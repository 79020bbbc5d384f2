/**
 * Between CodeMirror's changes and the core's ops. Both count UTF-16 code units, so
 * positions carry over as they are; the only care needed is line breaks: the editor
 * must use '\n' as its one line separator (see binding.ts), or it would turn a '\r\n'
 * someone else typed into '\n' and its text would drift from the document's (L4).
 */
import { ChangeSet, Transaction, type ChangeSpec, type Text, type TransactionSpec } from '@codemirror/state';
import { OpBuilder, type Op } from '../../../shared/src/index.js';
import { classOfUserEvent, type EditShape } from '../undo/step-grouper.js';

export const LINE_SEPARATOR = '\n';

/** The op of one editor transaction's changes, made on `startDoc`. */
export function opFromChanges(changes: ChangeSet, startDoc: Text): Op {
  const b = new OpBuilder();
  let pos = 0;
  changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    b.retain(fromA - pos);
    if (toA > fromA) b.delete(startDoc.sliceString(fromA, toA, LINE_SEPARATOR));
    if (inserted.length > 0) b.insert(inserted.toString());
    pos = toA;
  });
  return b.done();
}

/** The editor changes of an op applied to a document of `length` units. */
export function changesFromOp(op: Op, length: number): ChangeSet {
  const specs: ChangeSpec[] = [];
  let pos = 0;
  let pending: { from: number; to: number; insert: string } | null = null;
  const flush = () => {
    if (pending) specs.push(pending);
    pending = null;
  };
  for (const c of op) {
    if (typeof c === 'number') {
      flush();
      pos += c;
    } else if (typeof c === 'string') {
      if (pending && pending.to === pos) pending.insert += c;
      else {
        flush();
        pending = { from: pos, to: pos, insert: c };
      }
    } else {
      if (pending && pending.to === pos) pending.to += c.d.length;
      else {
        flush();
        pending = { from: pos, to: pos + c.d.length, insert: '' };
      }
      pos += c.d.length;
    }
  }
  flush();
  return ChangeSet.of(specs, length, LINE_SEPARATOR);
}

/** Several ops in a row as one change set (one editor transaction for a catch-up). */
export function changesFromOps(ops: readonly Op[], length: number): ChangeSet {
  let cs = ChangeSet.empty(length);
  let len = length;
  for (const op of ops) {
    const next = changesFromOp(op, len);
    cs = cs.compose(next);
    len = next.newLength;
  }
  return cs;
}

/**
 * What an editor transaction is, for undo step grouping (undo/step-grouper.ts): its
 * class from the userEvent ('input.type', 'delete.backward', 'input.paste', ...),
 * whether it had several carets or changed several places, and whether it replaced a
 * selection.
 */
export function editShape(tr: Transaction, time: number): EditShape {
  let ranges = 0;
  tr.changes.iterChangedRanges(() => ranges++);
  const sel = tr.startState.selection;
  return {
    cls: classOfUserEvent(tr.annotation(Transaction.userEvent)),
    multi: sel.ranges.length > 1 || ranges > 1,
    replacedSelection: !sel.main.empty,
    time,
  };
}

/**
 * A typing transaction made minimal, for the log: every change is trimmed of the text it
 * deletes and inserts alike (same resulting text, smaller op). A browser's native
 * editing sometimes reports a keystroke as a replacement of the character before it
 * (e.g. Chrome fixing up a no-break space): read as it comes, the character would change
 * hands, and someone else's undo would then leave it behind (U1). Returns null when the
 * transaction is fine as it is. The resulting document is the same, so the selection
 * stays valid.
 */
export function minimalTyping(tr: Transaction): TransactionSpec | null {
  const ue = tr.annotation(Transaction.userEvent);
  // Compositions (IME) are left alone: the DOM holds the composed text as it is.
  if (ue === undefined || !tr.docChanged || ue.startsWith('input.type.compose')) return null;
  const typing = ue === 'input' || ue.startsWith('input.type');
  if (!typing && !ue.startsWith('delete.')) return null;
  const specs: { from: number; to: number; insert: string }[] = [];
  let changed = false;
  tr.changes.iterChanges((fromA, toA, _fromB, _toB, inserted) => {
    const del = tr.startState.doc.sliceString(fromA, toA, LINE_SEPARATOR);
    const ins = inserted.toString();
    let p = 0;
    const n = Math.min(del.length, ins.length);
    while (p < n && del.charCodeAt(p) === ins.charCodeAt(p)) p++;
    let q = 0;
    while (q < n - p && del.charCodeAt(del.length - 1 - q) === ins.charCodeAt(ins.length - 1 - q)) q++;
    if (p > 0 || q > 0) changed = true;
    if (del.length - p - q > 0 || ins.length - p - q > 0) specs.push({ from: fromA + p, to: toA - q, insert: ins.slice(p, ins.length - q) });
  });
  if (!changed) return null;
  return {
    changes: specs,
    ...(tr.selection !== undefined ? { selection: tr.selection } : {}),
    effects: tr.effects,
    scrollIntoView: tr.scrollIntoView,
    annotations: [Transaction.userEvent.of(ue)],
  };
}
