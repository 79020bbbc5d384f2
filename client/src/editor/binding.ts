/**
 * CodeMirror 6 over a `SyncClient`.
 *
 *   - Each user transaction that changes the document becomes one local event
 *     (`SyncClient.edit`), its op read from the transaction's changes.
 *   - What arrives from elsewhere is dispatched as transactions annotated `remote` (and
 *     kept out of any history), which the binding recognises and never sends back.
 *   - CodeMirror's own history is not enabled: undo and redo will be events in the
 *     log (DESIGN.md U1-U3, a later issue). Until then their keys do nothing, so the
 *     browser's native contenteditable undo cannot change the text behind our back.
 *   - '\n' is the only line separator, so the editor's text is the document's, unit for
 *     unit (convert.ts).
 *   - Our caret goes out as presence; others' come in as carets (carets.ts).
 */
import { Annotation, EditorState, Transaction, type Extension } from '@codemirror/state';
import { EditorView, ViewPlugin, keymap, type ViewUpdate } from '@codemirror/view';
import type { LiveChange } from '../../../shared/src/index.js';
import type { SyncClient } from '../sync/sync-client.js';
import { LINE_SEPARATOR, changesFromOps, opFromChanges } from './convert.js';
import { caretExtensions, setCarets, type RemoteCaret } from './carets.js';

/** Marks transactions that bring others' changes (never sent back). */
export const remote = Annotation.define<boolean>();

export interface BoundEditor {
  readonly view: EditorView;
  /** Shows these people's carets (positions in the live text). */
  setCarets(carets: readonly RemoteCaret[]): void;
  destroy(): void;
}

export interface BindOptions {
  readonly parent: HTMLElement;
  /** Where remote carets are drawn (an element over `parent`). */
  readonly overlay: HTMLElement;
  readonly client: SyncClient;
  /** The editor and the document disagreed and the editor was reset (a bug): say so. */
  readonly onResync?: (why: string) => void;
  readonly extensions?: Extension;
}

export function bindEditor(o: BindOptions): BoundEditor {
  const { client } = o;
  let view!: EditorView;

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
        if (!tr.docChanged || tr.annotation(remote)) continue;
        local = true;
        const op = opFromChanges(tr.changes, tr.startState.doc);
        const r = client.edit(op);
        if (!r.ok) {
          // Cannot happen while the editor mirrors the live text; if it does, the document wins.
          queueMicrotask(() => resync(`an edit did not fit the document: ${r.error.message}`));
          return;
        }
      }
      // Remote changes move our caret too, but the others map it themselves: no presence for that.
      if (u.selectionSet || local || u.focusChanged) {
        const sel = u.state.selection.main;
        client.setCursor(u.view.hasFocus || sel.head !== 0 ? { anchor: sel.anchor, head: sel.head } : null);
      }
    },
  }));

  const noNativeUndo = keymap.of([
    { key: 'Mod-z', run: () => true, preventDefault: true },
    { key: 'Mod-Shift-z', run: () => true, preventDefault: true },
    { key: 'Mod-y', run: () => true, preventDefault: true },
  ]);

  view = new EditorView({
    parent: o.parent,
    state: EditorState.create({
      doc: client.text(),
      extensions: [
        EditorState.lineSeparator.of(LINE_SEPARATOR),
        EditorView.lineWrapping,
        EditorView.contentAttributes.of({ 'aria-label': 'Document text', spellcheck: 'false' }),
        noNativeUndo,
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
    destroy() {
      unsubscribe();
      view.destroy();
    },
  };
}
