import { useCallback, useEffect, useState, type MouseEvent } from 'react';
import { pageStore } from '../local/open-store.js';
import type { DocSummary } from '../local/local-store.js';
import { DocumentPage } from './DocumentPage.js';

/** A new document id: a random UUID without dashes (URL-safe: [0-9a-f] only). */
export function newDocId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

type Route = { name: 'home' } | { name: 'doc'; docId: string } | { name: 'not-found' };

const DOC_PATH = /^\/d\/([A-Za-z0-9_-]{1,128})\/?$/;

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '' || pathname === '/index.html') return { name: 'home' };
  const m = DOC_PATH.exec(pathname);
  if (m) return { name: 'doc', docId: m[1] };
  return { name: 'not-found' };
}

/** The current pathname, kept in sync with pushState navigation and the back/forward buttons. */
function usePathname(): [string, (to: string) => void] {
  const [pathname, setPathname] = useState(() => window.location.pathname);
  useEffect(() => {
    const onPop = () => setPathname(window.location.pathname);
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string) => {
    window.history.pushState(null, '', to);
    setPathname(window.location.pathname);
  }, []);
  return [pathname, navigate];
}

export function App() {
  const [pathname, navigate] = usePathname();
  const route = parseRoute(pathname);

  const goHome = (e: MouseEvent<HTMLAnchorElement>) => {
    e.preventDefault();
    navigate('/');
  };

  return (
    <div className="app">
      <header className="app-header">
        <h1>
          <a href="/" onClick={goHome}>
            Eventide
          </a>
        </h1>
        <p className="tagline">A collaborative text editor whose documents are their own history.</p>
      </header>
      <main>
        {route.name === 'home' && <Home onOpen={navigate} />}
        {route.name === 'doc' && <DocumentPage key={route.docId} docId={route.docId} />}
        {route.name === 'not-found' && <p className="empty">Page not found.</p>}
      </main>
    </div>
  );
}

type ListState = { kind: 'loading' } | { kind: 'ready'; docs: DocSummary[] } | { kind: 'failed'; message: string };

function Home({ onOpen }: { onOpen: (to: string) => void }) {
  const [list, setList] = useState<ListState>({ kind: 'loading' });
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
      setList(r.ok ? { kind: 'ready', docs: r.value } : { kind: 'failed', message: r.error.message });
    });
    return () => {
      live = false;
    };
  }, []);

  const open = (e: MouseEvent<HTMLAnchorElement>, docId: string) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    onOpen(`/d/${docId}`);
  };

  return (
    <section className="documents" aria-labelledby="documents-title">
      <div className="documents-bar">
        <h2 id="documents-title">Documents</h2>
        <button type="button" data-testid="new-doc" onClick={() => onOpen(`/d/${newDocId()}`)}>
          New document
        </button>
      </div>
      <ul className="document-list" data-testid="document-list">
        {list.kind === 'loading' && <li className="empty">Loading…</li>}
        {list.kind === 'failed' && <li className="empty">Documents on this device cannot be listed: {list.message}</li>}
        {list.kind === 'ready' && list.docs.length === 0 && <li className="empty">No documents yet.</li>}
        {list.kind === 'ready' &&
          list.docs.map((d) => (
            <li key={d.docId} data-testid="document-item">
              <a href={`/d/${d.docId}`} onClick={(e) => open(e, d.docId)}>
                <span className={d.title ? 'doc-title' : 'doc-title untitled'}>{d.title || 'Untitled'}</span>
              </a>
              <time className="doc-time" dateTime={new Date(d.updatedAt).toISOString()}>
                {d.updatedAt > 0 ? formatTime(d.updatedAt) : ''}
              </time>
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
