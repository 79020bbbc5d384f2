/**
 * CodeMirror 6 over a `SyncClient`.
 *
 *   - Each user transaction that changes the document becomes one local event
 *     (`SyncClient.edit`), its op read from the transaction's changes.
 *   - What arrives from elsewhere is dispatched as transactions annotated `remote` (and
 *     kept out of any history), which the binding recognises and never sends back.
 *   - CodeMirror's own history is not enabled: undo and redo are events in the log
 *     (docs/spec.md U1-U3, undo/undo-controller.ts). Their keys (Mod-z, Mod-Shift-z, Mod-y,
 *     Ctrl-y) go to the undo controller and never to the browser, whose native
 *     contenteditable undo would change the text behind our back.
 *   - Each local edit says which undo step it belongs to (`meta.step`): the step grouper
 *     (undo/step-grouper.ts) decides from the transaction's userEvent, its shape, the
 *     time, and whether the caret jumped since the last edit.
 *   - An undo or redo is applied by the binding (`applyUndo`): the op goes into the
 *     document as its own event, then into the editor annotated `applied` (not sent
 *     again), with the caret where the change happened, scrolled into view.
 *   - Typing is made minimal before it becomes an event (convert.ts `minimalTyping`).
 *   - Wrapped lines use `white-space: pre-wrap`, not CodeMirror's `break-spaces`: with
 *     the latter Chrome types a space at a line's end as U+00A0 and swaps it back at the
 *     next keystroke, so the document filled with no-break spaces and each keystroke
 *     after a space replaced it (the space changed hands, U1).
 *   - '\n' is the only line separator, so the editor's text is the document's, unit for
 *     unit (convert.ts).
 *   - Our caret goes out as presence; others' come in as carets (carets.ts).
 */
import { Annotation, EditorState, Prec, Transaction, type Extension } from '@codemirror/state';
import { EditorView, ViewPlugin, keymap, type ViewUpdate } from '@codemirror/view';
import { caretAfter, type LiveChange } from '../../../shared/src/index.js';
import type { SyncClient } from '../sync/sync-client.js';
import type { UndoApplier, UndoController } from '../undo/undo-controller.js';
import { StepGrouper } from '../undo/step-grouper.js';
import { LINE_SEPARATOR, changesFromOp, changesFromOps, editShape, minimalTyping, opFromChanges } from './convert.js';
import { caretExtensions, setCarets, type RemoteCaret } from './carets.js';

/** Marks transactions that bring others' changes (never sent back). */
export const remote = Annotation.define<boolean>();

/** Marks transactions of changes already made to the document here (undo, redo). */
export const applied = Annotation.define<boolean>();

export interface BoundEditor {
  readonly view: EditorView;
  /** Shows these people's carets (positions in the live text). */
  setCarets(carets: readonly RemoteCaret[]): void;
  /** Applies an undo or redo op (for `UndoController.attach`). */
  readonly applyUndo: UndoApplier;
  /** Where the undo keys go (null: nowhere; they are still kept from the browser). */
  setUndo(undo: UndoController | null): void;
  destroy(): void;
}

/**
 * How the editor holds and lays out text, without anything of the document's binding: '\n' as
 * the only line separator, wrapped lines in `pre-wrap` (see above), no spell check. The bare
 * CodeMirror peer of the keypress measure (bare-peer.ts) uses exactly this, so the two differ
 * only by what the binding adds.
 */
export const editorLook: Extension = [
  EditorState.lineSeparator.of(LINE_SEPARATOR),
  EditorView.lineWrapping,
  EditorView.theme({ '& .cm-content.cm-lineWrapping': { whiteSpace: 'pre-wrap' } }),
  EditorView.contentAttributes.of({ 'aria-label': 'Document text', spellcheck: 'false' }),
];

export interface BindOptions {
  readonly parent: HTMLElement;
  /** Where remote carets are drawn (an element over `parent`). */
  readonly overlay: HTMLElement;
  readonly client: SyncClient;
  /** The editor and the document disagreed and the editor was reset (a bug): say so. */
  readonly onResync?: (why: string) => void;
  readonly extensions?: Extension;
  /** The clock for undo step grouping (ms). */
  readonly now?: () => number;
}

export function bindEditor(o: BindOptions): BoundEditor {
  const { client } = o;
  const now = o.now ?? (() => Date.now());
  let view!: EditorView;
  let undo: UndoController | null = null;
  const grouper = new StepGrouper();

  const resync = (why: string) => {
    const text = client.text();
    view.dispatch({
      changes: { from: 0, to: view.state.doc.length, insert: text },
      annotations: [remote.of(true), Transaction.addToHistory.of(false)],
    });
    o.onResync?.(why);
  };

  const toDocument = ViewPlugin.define(() => ({
    update(u: ViewUpdate) {
      let local = false;
      for (const tr of u.transactions) {
        if (tr.annotation(remote) || tr.annotation(applied)) continue;
        if (!tr.docChanged) {
          // The caret moved without an edit (a click, an arrow key): typing after it is a new step.
          if (tr.selection !== undefined) grouper.breakRun();
          continue;
        }
        local = true;
        const op = opFromChanges(tr.changes, tr.startState.doc);
        const step = grouper.stepFor(editShape(tr, now()), client.nextEventKey());
        const r = client.edit(op, 'edit', { step });
        if (!r.ok) {
          // Cannot happen while the editor mirrors the live text; if it does, the document wins.
          queueMicrotask(() => resync(`an edit did not fit the document: ${r.error.message}`));
          return;
        }
      }
      if (local) undo?.clearMessage();
      // Remote changes move our caret too, but the others map it themselves: no presence for that.
      if (u.selectionSet || local || u.focusChanged) {
        const sel = u.state.selection.main;
        client.setCursor(u.view.hasFocus || sel.head !== 0 ? { anchor: sel.anchor, head: sel.head } : null);
      }
    },
  }));

  const runUndo = () => {
    void undo?.undo();
    return true;
  };
  const runRedo = () => {
    void undo?.redo();
    return true;
  };
  // Always handled (even with no controller), so the browser's own undo never runs. Read
  // from the key event itself rather than a keymap: with Shift held, 'z' arrives as 'Z'
  // from a keyboard but as 'z' with shiftKey from synthetic input, and a keymap's
  // "Mod-z" would then take a redo for an undo.
  const undoKeys = Prec.highest(
    EditorView.domEventHandlers({
      keydown(e) {
        if (e.altKey || !(e.ctrlKey || e.metaKey)) return false;
        const k = e.key.toLowerCase();
        let run: (() => boolean) | null = null;
        if (k === 'z') run = e.shiftKey ? runRedo : runUndo;
        else if (k === 'y' && !e.shiftKey) run = runRedo;
        if (run === null) return false;
        e.preventDefault();
        return run();
      },
    }),
  );

  const applyUndo: UndoApplier = (op, kind, meta) => {
    const r = client.edit(op, kind, meta);
    if (!r.ok) return r;
    grouper.breakRun();
    try {
      const changes = changesFromOp(op, view.state.doc.length);
      const caret = Math.min(caretAfter(op), changes.newLength);
      view.dispatch({
        changes,
        selection: { anchor: caret },
        scrollIntoView: true,
        annotations: [applied.of(true), Transaction.addToHistory.of(false), Transaction.userEvent.of(kind)],
      });
    } catch (e) {
      // The document took it; the editor did not mirror it (a bug): the document wins.
      resync(`the ${kind} did not fit the editor: ${(e as Error).message}`);
      return r;
    }
    if (view.state.doc.length !== client.state.live.length) resync(`the editor and the document differ in length after ${kind}`);
    return r;
  };

  view = new EditorView({
    parent: o.parent,
    state: EditorState.create({
      doc: client.text(),
      extensions: [
        editorLook,
        undoKeys,
        // Enter is ours, not the browser's. Left to contenteditable, Chromium now and then put two
        // line breaks at the end of a line with the caret between them (e2e/markdown.spec.ts saw
        // "…\n" appended once in a few runs), which CodeMirror then read back as typed.
        keymap.of([{ key: 'Enter', run: insertLineBreak }]),
        EditorState.transactionFilter.of((tr) => {
          if (tr.annotation(remote) || tr.annotation(applied)) return tr;
          return minimalTyping(tr) ?? tr;
        }),
        toDocument,
        caretExtensions(o.overlay),
        o.extensions ?? [],
      ],
    }),
  });

  const unsubscribe = client.onRemote((changes: readonly LiveChange[]) => {
    const len = view.state.doc.length;
    let cs;
    try {
      cs = changesFromOps(
        changes.map((c) => c.op),
        len,
      );
    } catch (e) {
      resync(`remote changes did not fit the editor: ${(e as Error).message}`);
      return;
    }
    view.dispatch({ changes: cs, annotations: [remote.of(true), Transaction.addToHistory.of(false)] });
    if (view.state.doc.length !== client.state.live.length) resync('the editor and the document differ in length');
  });

  return {
    view,
    setCarets(carets) {
      view.dispatch({ effects: setCarets.of(carets) });
    },
    applyUndo,
    setUndo(u) {
      undo = u;
    },
    destroy() {
      unsubscribe();
      view.destroy();
    },
  };
}

/** One line break in place of the selection, as typed (userEvent 'input': the step grouper's typing). */
function insertLineBreak(view: EditorView): boolean {
  if (view.state.readOnly) return false;
  view.dispatch(view.state.update(view.state.replaceSelection(view.state.lineBreak), { scrollIntoView: true, userEvent: 'input' }));
  return true;
}
