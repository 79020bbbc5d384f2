/**
 * What the page offers when the server refused this browser's copy with `base-ahead`: the
 * server's log ends before this copy's confirmed version (it was restored from an older
 * backup, or reset). The local copy is kept untouched until the person chooses:
 *
 *   - copy the text to the clipboard, or download it as a .txt file (always safe);
 *   - "Put my version on the server": discard the local history, load the server's
 *     document, and make it equal to this copy's text with one edit (a wiped server gets
 *     the whole text back; a server restored from a backup gets what it lost);
 *   - "Use the server's version": discard the local copy and load the server's, after a
 *     second, explicit confirmation.
 *
 * Either way the local text is first kept as a backup in this browser's storage
 * (local/start-over.ts) and nothing is discarded if that fails.
 *
 * `useStartOver` is the page's side: it closes the refused client, discards, and bumps a
 * generation that makes the page open a fresh client; `prepare` then applies "mine".
 */
import { useCallback, useRef, useState, useSyncExternalStore } from 'react';
import type { SyncClient } from '../sync/sync-client.js';
import { discardLocalCopy, replaceWith } from '../local/start-over.js';

export type StartOverMode = 'mine' | 'server';

export interface StartOver {
  /** Changes each time the page must open a fresh client. */
  readonly generation: number;
  /** Closes `client`, keeps its text, forgets the stored copy, and reopens. */
  start(client: SyncClient, mode: StartOverMode): Promise<string | null>;
  /** Run on each freshly opened client before it is shown: applies a pending "mine". */
  prepare(client: SyncClient): Promise<void>;
  /** A problem with the last start-over, if any (shown on the page). */
  readonly problem: string | null;
}

export function useStartOver(): StartOver {
  const [generation, setGeneration] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const pending = useRef<string | null>(null);

  const start = useCallback(async (client: SyncClient, mode: StartOverMode): Promise<string | null> => {
    const text = client.text();
    const store = client.localStore;
    await client.close(); // writes what is queued before the copy is forgotten
    const r = await discardLocalCopy(store, client.docId, text);
    if (!r.ok) {
      const why = `The local copy could not be kept as a backup, so it was not discarded (${r.error.message}). Download your text, then reload.`;
      setProblem(why);
      // The client is closed: reopen it on the same (untouched) copy.
      setGeneration((g) => g + 1);
      return why;
    }
    pending.current = mode === 'mine' ? text : null;
    setProblem(null);
    setGeneration((g) => g + 1);
    return null;
  }, []);

  const prepare = useCallback(async (client: SyncClient): Promise<void> => {
    const text = pending.current;
    if (text === null) return;
    const r = await replaceWith(client, text);
    pending.current = null;
    if (!r.ok) setProblem(`Your version could not be put on the server (${r.error.message}); it is kept in this browser's backups.`);
  }, []);

  return { generation, start, prepare, problem };
}

function downloadText(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A file name from the first line of the text (letters, digits, spaces, - and _ only). */
export function fileNameFor(docId: string, text: string): string {
  const first = text.split('\n', 1)[0].replace(/[^\p{L}\p{N} _-]+/gu, '').trim().slice(0, 60);
  return `${first === '' ? docId : first}.txt`;
}

/** `canWrite`: false for a view link, which cannot put anything on the server. */
export function BaseAheadRecovery({ client, startOver, canWrite = true }: { client: SyncClient; startOver: StartOver; canWrite?: boolean }) {
  const s = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [copied, setCopied] = useState<string | null>(null);
  const text = client.text();
  const run = (mode: StartOverMode) => {
    setBusy(true);
    void startOver.start(client, mode).finally(() => setBusy(false));
  };
  return (
    <div className="problem base-ahead" role="alert" data-testid="base-ahead">
      <p>
        <strong>The server's copy of this document is older than the one in this browser.</strong> It may have been restored from a
        backup or reset. Your copy ({text.length} characters{s.pending > 0 ? `, ${s.pending} unsent edits` : ''}) is kept here,
        unchanged, until you choose what to do; nothing is sent meanwhile.
      </p>
      <p className="actions">
        <button
          type="button"
          data-testid="base-ahead-copy"
          onClick={() => {
            navigator.clipboard?.writeText(text).then(
              () => setCopied('Copied.'),
              () => setCopied('The browser did not allow copying; use Download.'),
            );
          }}
        >
          Copy my text
        </button>
        <button type="button" data-testid="base-ahead-download" onClick={() => downloadText(fileNameFor(client.docId, text), text)}>
          Download my text
        </button>
        {canWrite && (
          <button type="button" data-testid="base-ahead-mine" disabled={busy} onClick={() => run('mine')}>
            Put my version on the server
          </button>
        )}
        {!confirming ? (
          <button type="button" data-testid="base-ahead-server" disabled={busy} onClick={() => setConfirming(true)}>
            Use the server's version…
          </button>
        ) : (
          <span className="confirm">
            Your text here will be replaced by the server's (a backup stays in this browser).{' '}
            <button type="button" data-testid="base-ahead-server-confirm" disabled={busy} onClick={() => run('server')}>
              Discard my copy
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </span>
        )}
        {copied && <span className="note">{copied}</span>}
      </p>
      <p className="detail">
        Close other tabs of this document before choosing. Details: {s.fatal}
      </p>
    </div>
  );
}
