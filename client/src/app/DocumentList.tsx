/**
 * The home page's list of documents (spec A9, C13, issue 16): the documents this browser
 * holds a link for, by title (markdown/title.ts) and last edit, newest first; a filter by
 * title (`document-filter`); and removal from this browser (`document-remove`, confirmed by
 * `document-remove-confirm`): the local copy, the held link, its unload journals and its
 * history cache are forgotten (C20); the document itself stays on the server for everyone
 * with its link. A copy holding edits the server has not confirmed is not removed
 * (they may exist nowhere else): the list says so instead. It first applies the unload
 * journals of pages that are gone (C19), which may record acks the store missed, so it
 * does not refuse for edits the server already has.
 */
import { useEffect, useMemo, useState, type MouseEvent } from 'react';
import { pageStore } from '../local/open-store.js';
import { applyLeftoverJournals } from '../local/leftover-journals.js';
import { defaultJournalStorage, removeJournalsOf } from '../local/journal.js';
import { HistoryCache } from '../history/history-cache.js';
import type { DocSummary, LocalStore } from '../local/local-store.js';
import { createDocumentLink, forgetLink, heldLinks, pathOf } from './links.js';

type ListState = { kind: 'loading' } | { kind: 'ready'; docs: DocSummary[]; store: LocalStore } | { kind: 'failed'; message: string };

export function DocumentList({ onOpen }: { onOpen: (to: string) => void }) {
  const [list, setList] = useState<ListState>({ kind: 'loading' });
  const [filter, setFilter] = useState('');
  const [confirming, setConfirming] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    void pageStore().then(async ({ store, error }) => {
      if (!live) return;
      if (store === null) {
        setList({ kind: 'failed', message: error?.message ?? 'storage is unavailable' });
        return;
      }
      const r = await store.listDocuments();
      if (!live) return;
      // Only documents this browser holds a link for (a local copy alone is not a right to it).
      const links = heldLinks();
      setList(r.ok ? { kind: 'ready', store, docs: r.value.filter((d) => links[d.docId] !== undefined) } : { kind: 'failed', message: r.error.message });
    });
    return () => {
      live = false;
    };
  }, []);

  const links = heldLinks();
  const hrefOf = (docId: string) => {
    const l = links[docId];
    return l === undefined ? `/d/${docId}` : pathOf(docId, l);
  };
  const open = (e: MouseEvent<HTMLAnchorElement>, docId: string) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onOpen(hrefOf(docId));
  };

  const shown = useMemo(() => {
    if (list.kind !== 'ready') return [];
    const f = filter.trim().toLowerCase();
    return f === '' ? list.docs : list.docs.filter((d) => (d.title || 'Untitled').toLowerCase().includes(f));
  }, [list, filter]);

  const remove = async (docId: string) => {
    if (list.kind !== 'ready') return;
    setConfirming(null);
    setProblem(null);
    // A page that went right after an ack may have left the trim of the outbox in its journal only.
    await applyLeftoverJournals(list.store, docId);
    const slots = await list.store.slotsOf(docId);
    if (!slots.ok) return setProblem(`The document could not be removed: ${slots.error.message}`);
    const held = slots.value.reduce((n, s) => n + s.outboxSize, 0);
    if (held > 0) {
      return setProblem(
        `Not removed: this browser holds ${held} edit${held === 1 ? '' : 's'} of it that the server has not confirmed (some may have arrived). Open the document while online first: it sends them, or learns that the server has them.`,
      );
    }
    const r = await list.store.deleteDocument(docId);
    if (!r.ok) return setProblem(`The document could not be removed: ${r.error.message}`);
    removeJournalsOf(defaultJournalStorage(), docId);
    forgetLink(docId);
    // Its history cache too: nothing of a removed document stays behind in this browser.
    const cache = await HistoryCache.open();
    const cleared = cache === null ? null : await cache.forget(docId);
    cache?.close();
    if (cleared !== null && !cleared.ok) setProblem(`Removed, but its history cache could not be cleared: ${cleared.error.message}`);
    setList({ ...list, docs: list.docs.filter((d) => d.docId !== docId) });
  };

  return (
    <section className="documents" aria-labelledby="documents-title">
      <div className="documents-bar">
        <h2 id="documents-title">Documents</h2>
        <button type="button" data-testid="new-doc" onClick={() => onOpen(createDocumentLink().path)}>
          New document
        </button>
      </div>
      {list.kind === 'ready' && list.docs.length > 0 && (
        <input
          className="document-filter"
          type="search"
          data-testid="document-filter"
          aria-label="Filter documents by title"
          placeholder="Filter by title"
          value={filter}
          onChange={(e) => setFilter(e.currentTarget.value)}
        />
      )}
      {problem !== null && (
        <p className="problem" role="alert" data-testid="document-list-problem">
          {problem}
        </p>
      )}
      <ul className="document-list" data-testid="document-list">
        {list.kind === 'loading' && <li className="empty">Loading…</li>}
        {list.kind === 'failed' && <li className="empty">Documents on this device cannot be listed: {list.message}</li>}
        {list.kind === 'ready' && list.docs.length === 0 && <li className="empty">No documents yet.</li>}
        {list.kind === 'ready' && list.docs.length > 0 && shown.length === 0 && <li className="empty">No document matches the filter.</li>}
        {shown.map((d) => (
          <li key={d.docId} data-testid="document-item">
            <a href={hrefOf(d.docId)} onClick={(e) => open(e, d.docId)}>
              <span className={d.title ? 'doc-title' : 'doc-title untitled'}>{d.title || 'Untitled'}</span>
            </a>
            <span className="doc-item-end">
              <time className="doc-time" dateTime={new Date(d.updatedAt).toISOString()}>
                {d.updatedAt > 0 ? formatTime(d.updatedAt) : ''}
              </time>
              {confirming === d.docId ? (
                <>
                  <button type="button" className="secondary" data-testid="document-remove-confirm" onClick={() => void remove(d.docId)}>
                    Remove from this browser
                  </button>
                  <button type="button" className="secondary" onClick={() => setConfirming(null)}>
                    Cancel
                  </button>
                </>
              ) : (
                <button
                  type="button"
                  className="secondary"
                  data-testid="document-remove"
                  aria-label={`Remove ${d.title || 'Untitled'} from this browser`}
                  title="Remove from this browser (the document stays on the server for everyone with its link)"
                  onClick={() => setConfirming(d.docId)}
                >
                  Remove
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function formatTime(ms: number): string {
  const d = new Date(ms);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}
