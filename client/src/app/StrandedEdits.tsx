/**
 * Edits stranded by a link that stopped working (issue 16, spec C21).
 *
 * When an editor replaces a document's links (rotate-links, A12), every session open with
 * the old ones is closed (`links-replaced`), and a browser that comes back with an old link
 * is refused (`access-denied`). Edits made here that the server had not confirmed cannot be
 * sent with that link. They are not lost: the local copy keeps them (O1) under this
 * browser's client id, and opening the document's new link in this browser sends them (the
 * server checks the link's token, not who holds it, and a reopened page takes the slot whose
 * stored outbox is not empty, local/slot.ts). What a person needs meanwhile is to be told,
 * in numbers, and to have their text in hand: so the page says how many edits were not sent
 * and offers the text with them, to copy or to download (as Markdown, the document's format).
 *
 * Test hooks: `stranded` (data-pending: the count), `stranded-copy`, `stranded-download`.
 */
import { useState, useSyncExternalStore } from 'react';
import type { SyncClient } from '../sync/sync-client.js';
import { downloadDocument } from '../markdown/export.js';
import { documentTitle } from '../markdown/title.js';

/** Shown while `client` holds edits the server has not confirmed and its link no longer works; nothing otherwise. */
export function StrandedEdits({ client }: { client: SyncClient }) {
  const s = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const [copied, setCopied] = useState<string | null>(null);
  if (s.pending === 0) return null;
  const n = s.pending;
  const text = () => client.text();
  return (
    <div className="problem stranded" role="alert" data-testid="stranded" data-pending={n}>
      <p>
        <strong>
          {n} edit{n === 1 ? '' : 's'} made in this browser {n === 1 ? 'was' : 'were'} not sent
        </strong>{' '}
        before this link stopped working. {n === 1 ? 'It is' : 'They are'} kept here: open the document's new link in this browser
        (ask an editor for it) and {n === 1 ? 'it is' : 'they are'} sent. Your text, with {n === 1 ? 'it' : 'them'}, is also yours to
        keep now:
      </p>
      <p className="actions">
        <button
          type="button"
          data-testid="stranded-copy"
          onClick={() => {
            navigator.clipboard?.writeText(text()).then(
              () => setCopied('Copied.'),
              () => setCopied('The browser did not allow copying; use Download.'),
            );
          }}
        >
          Copy my text
        </button>
        <button type="button" data-testid="stranded-download" onClick={() => downloadDocument('md', documentTitle(text()), text())}>
          Download my text (.md)
        </button>
        {copied && (
          <span className="note" role="status">
            {copied}
          </span>
        )}
      </p>
    </div>
  );
}
