/**
 * The undo and redo buttons (data-testid `undo`, `redo`), disabled when there is
 * nothing to undo or redo (or the stored history is still being read), and the short
 * message when an undo could not be done (e.g. offline and the history it needs is not
 * on this device). The message is text, never HTML.
 */
import { useEffect, useState, useSyncExternalStore } from 'react';
import {
  UndoController,
  type UndoClient,
  type UndoLocalEvents,
  type UndoSnapshot,
} from './undo-controller.js';
import { eventSourceFor, type EventSourceClient, type LocalEvents } from '../history/event-source.js';

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

const NOT_YET: UndoSnapshot = { ready: false, canUndo: false, canRedo: false, busy: false, message: null };
const noSubscribe = () => () => {};
const notYet = () => NOT_YET;

/** `undo` null: not started yet (both buttons disabled). */
export function UndoBar({ undo, focus }: { undo: UndoController | null; focus: () => void }) {
  const s: UndoSnapshot = useSyncExternalStore(undo?.subscribe ?? noSubscribe, undo?.getSnapshot ?? notYet);
  const mod = isMac ? '⌘' : 'Ctrl+';
  const run = (f: () => Promise<unknown>) => {
    focus();
    void f();
  };
  return (
    <div className="undo-bar" role="toolbar" aria-label="Undo and redo" data-ready={s.ready}>
      <button
        type="button"
        data-testid="undo"
        disabled={!s.canUndo || s.busy}
        title={`Undo your last change (${mod}Z)`}
        onMouseDown={(e) => e.preventDefault()}
        onClick={() => undo && run(() => undo.undo())}
      >
        Undo
      </button>
      <button
        type="button"
        data-testid="redo"
        disabled={!s.canRedo || s.busy}
        title={`Redo (${isMac ? '⌘⇧Z' : 'Ctrl+Shift+Z or Ctrl+Y'})`}
        onMouseDown={(e) => e.preventDefault()}
        onClick={() => undo && run(() => undo.redo())}
      >
        Redo
      </button>
      {s.message !== null && (
        <span className="undo-message" data-testid="undo-message" role="status">
          {s.message}
        </span>
      )}
    </div>
  );
}

/**
 * The undo controller of an open document (with its event source), started after the
 * first render so folding the stored history never holds the text back; null until then.
 */
export function useUndoController(client: (UndoClient & EventSourceClient & { readonly localStore: (LocalEvents & UndoLocalEvents) | null }) | null): UndoController | null {
  const [undo, setUndo] = useState<UndoController | null>(null);
  useEffect(() => {
    if (client === null) return;
    const source = eventSourceFor(client, client.localStore);
    const u = new UndoController({ client, source, local: client.localStore });
    u.start();
    setUndo(u);
    return () => {
      u.close();
      source.close();
      setUndo(null);
    };
  }, [client]);
  return undo;
}
