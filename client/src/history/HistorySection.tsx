/**
 * The document page's history corner: the `history-toggle` button and, when open, the
 * history panel. The panel (and its copy of the log) exists only while it is open.
 */
import { useState } from 'react';
import type { SyncClient } from '../sync/sync-client.js';
import type { UndoApplier } from '../undo/undo-controller.js';
import { HistoryPanel } from './HistoryPanel.js';
import './history.css';

export function HistorySection({ client, readOnly, apply }: { client: SyncClient; readOnly: boolean; apply: () => UndoApplier | null }) {
  const [open, setOpen] = useState(false);
  return (
    <div className="history-section">
      <button type="button" data-testid="history-toggle" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide history' : 'History'}
      </button>
      {open && <HistoryPanel client={client} readOnly={readOnly} apply={apply} onClose={() => setOpen(false)} />}
    </div>
  );
}
