/**
 * The document's links (spec A9, A12): the edit link (edit role only) and the view link,
 * each selectable and with a copy button, and for editors `rotate-links`: after a confirming
 * second click (`rotate-links-confirm`), new links are drawn here and sent to the server;
 * once it confirms, this browser holds the new edit link and the page moves to it. The old
 * links stop at once and the sessions open with them are closed with a message.
 */
import { useId, useState } from 'react';
import { TOKEN_BYTES, docLinkPath, tokenFromBytes } from '../../../shared/src/index.js';
import type { SyncClient } from '../sync/sync-client.js';
import { rememberLink } from './links.js';

function LinkField({ label, value, testId }: { label: string; value: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  const id = useId();
  return (
    <span className="share">
      <label htmlFor={id}>{label}</label>
      <input id={id} data-testid={testId} readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
      <button
        type="button"
        className="secondary"
        aria-label={`Copy the ${label.toLowerCase()}`}
        onClick={() => {
          void navigator.clipboard?.writeText(value).then(
            () => setCopied(true),
            () => setCopied(false),
          );
        }}
      >
        {copied ? 'Copied' : 'Copy'}
      </button>
    </span>
  );
}

export function ShareLinks({ docId, editLink, viewLink, client }: { docId: string; editLink: string | null; viewLink: string; client: SyncClient | null }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const rotate = async () => {
    if (client === null) return;
    setBusy(true);
    setProblem(null);
    const token = tokenFromBytes(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
    const r = await client.rotateLinks(token);
    setBusy(false);
    setConfirming(false);
    if (!r.ok) {
      setProblem(`The links were not replaced (${r.error.message}). Try again when connected.`);
      return;
    }
    rememberLink(docId, { role: 'edit', token });
    // Same path, new fragment: no reload; the page reopens the document with the new link.
    location.replace(docLinkPath(docId, 'edit', token));
  };

  return (
    <>
      {editLink !== null && <LinkField label="Edit link" value={editLink} testId="share-edit-link" />}
      <LinkField label="View link" value={viewLink} testId="share-view-link" />
      {editLink !== null &&
        (confirming ? (
          <span className="rotate-confirm" role="group" aria-label="Replace the links">
            <span>Old links stop working for everyone.</span>
            <button type="button" data-testid="rotate-links-confirm" disabled={busy || client === null} onClick={() => void rotate()}>
              {busy ? 'Replacing…' : 'Replace both links'}
            </button>
            <button type="button" className="secondary" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </span>
        ) : (
          <button type="button" className="secondary" data-testid="rotate-links" onClick={() => setConfirming(true)} title="Issue new edit and view links; the old ones stop working">
            Replace links
          </button>
        ))}
      {problem !== null && (
        <span className="problem" role="alert" data-testid="rotate-links-problem">
          {problem}
        </span>
      )}
    </>
  );
}
