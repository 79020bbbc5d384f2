import { useEffect, useRef } from 'react';
import type { PeerInfo, SyncClient } from '../sync/sync-client.js';
import type { UndoApplier, UndoController } from '../undo/undo-controller.js';
import { UndoBar } from '../undo/UndoBar.js';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { bindEditor, type BoundEditor } from './binding.js';
import { markdownEditing } from '../markdown/markdown-editing.js';
import { FormatBar } from '../markdown/FormatBar.js';

/** Test hook on the editor element: what the editor shows and what the document holds. */
export interface EditorProbe {
  text(): string;
  live(): string;
  confirmedSeq(): number;
  /** The undo and redo stack depths (null until the stored history is folded). */
  undoDepth(): { undo: number; redo: number } | null;
  /** The caret (main selection head). */
  caret(): number;
  /** The server's log up to our confirmed head, fetched page by page (e2e: each event once). */
  serverLog(): Promise<{ id: string; kind: string; author: string }[]>;
}

export function Editor({
  client,
  peers,
  onResync,
  undo = null,
  readOnly = false,
  onApplier,
}: {
  client: SyncClient;
  peers: readonly PeerInfo[];
  onResync?: (why: string) => void;
  undo?: UndoController | null;
  /** View-only: no undo or redo buttons. */
  readOnly?: boolean;
  /** Receives the binding's op applier once bound, null when unbound (the history panel's restore). */
  onApplier?: (apply: UndoApplier | null) => void;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const overlay = useRef<HTMLDivElement>(null);
  const bound = useRef<BoundEditor | null>(null);
  const resync = useRef(onResync);
  resync.current = onResync;
  const undoRef = useRef(undo);
  undoRef.current = undo;
  const readOnlyRef = useRef(readOnly);
  readOnlyRef.current = readOnly;
  const onApplierRef = useRef(onApplier);
  onApplierRef.current = onApplier;

  useEffect(() => {
    const p = parent.current;
    const o = overlay.current;
    if (!p || !o) return;
    const b = bindEditor({
      parent: p,
      overlay: o,
      client,
      onResync: (why) => resync.current?.(why),
      // View-only: the text cannot be changed from this editor (typing, paste, drop).
      // Markdown styling, formatting keys and find (and replace, unless view-only: read-only state refuses it).
      // `window.eventidePlainEditor` (measuring only, e2e/large-doc.spec.ts): without them, the peer of the styled figures.
      extensions: [(window as { eventidePlainEditor?: boolean }).eventidePlainEditor === true ? [] : markdownEditing(), readOnlyRef.current ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []],
    });
    bound.current = b;
    onApplierRef.current?.(b.applyUndo);
    const probe: EditorProbe = {
      text: () => b.view.state.doc.toString(),
      live: () => client.text(),
      confirmedSeq: () => client.state.confirmedSeq,
      undoDepth: () => {
        const u = undoRef.current;
        return u !== null && u.getSnapshot().ready ? u.history().depth : null;
      },
      caret: () => b.view.state.selection.main.head,
      serverLog: async () => {
        const out: { id: string; kind: string; author: string }[] = [];
        const to = client.state.confirmedSeq;
        let from: number | null = 0;
        while (from !== null && from < to) {
          const r = await client.history(from, to);
          if (!r.ok) throw new Error(r.error.message);
          for (const e of r.value.events) out.push({ id: `${e.id.clientSeq}@${e.id.client}`, kind: e.kind, author: e.author });
          from = r.value.next;
        }
        return out;
      },
    };
    (p as unknown as { eventide?: EditorProbe }).eventide = probe;
    if (document.activeElement === document.body) b.view.focus();
    return () => {
      delete (p as unknown as { eventide?: EditorProbe }).eventide;
      onApplierRef.current?.(null);
      bound.current = null;
      b.destroy();
    };
  }, [client]);

  // Declared after the binding's effect, so it runs after it (and again when either changes).
  useEffect(() => {
    const b = bound.current;
    if (!b || !undo || readOnly) return; // view-only: the undo keys do nothing
    b.setUndo(undo);
    undo.attach(b.applyUndo);
    return () => {
      b.setUndo(null);
      undo.attach(null);
    };
  }, [undo, client, readOnly]);

  useEffect(() => {
    bound.current?.setCarets(
      peers
        .filter((p) => p.cursor !== null)
        .map((p) => ({ client: p.client, name: p.user.name, color: p.user.color, anchor: p.cursor!.anchor, head: p.cursor!.head })),
    );
  }, [peers, client]);

  return (
    <>
      {!readOnly && (
        <div className="editor-toolbar">
          <UndoBar undo={undo} focus={() => bound.current?.view.focus()} />
          <FormatBar view={() => bound.current?.view ?? null} />
        </div>
      )}
      <div className="editor-frame">
        <div className="editor" data-testid="editor" ref={parent} />
        <div className="caret-overlay" ref={overlay} />
      </div>
    </>
  );
}
