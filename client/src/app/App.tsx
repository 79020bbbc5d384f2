import { useCallback, useEffect, useState, type MouseEvent } from 'react';
import { pageStore } from '../local/open-store.js';
import type { DocSummary } from '../local/local-store.js';
import { DocumentPage } from './DocumentPage.js';
import { capabilityOf, createDocumentLink, heldLinks, pathOf } from './links.js';

type Route = { name: 'home' } | { name: 'doc'; docId: string } | { name: 'not-found' };

const DOC_PATH = /^\/d\/([A-Za-z0-9_-]{1,128})\/?$/;

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '' || pathname === '/index.html') return { name: 'home' };
  const m = DOC_PATH.exec(pathname);
  if (m) return { name: 'doc', docId: m[1] };
  return { name: 'not-found' };
}

/**
 * The current pathname and fragment (the link's token lives there), kept in sync with
 * pushState navigation, the back/forward buttons and a link pasted into the address bar.
 */
function usePathname(): [string, string, (to: string) => void] {
  const [loc, setLoc] = useState(() => ({ pathname: window.location.pathname, hash: window.location.hash }));
  useEffect(() => {
    const onPop = () => setLoc({ pathname: window.location.pathname, hash: window.location.hash });
    window.addEventListener('popstate', onPop);
    window.addEventListener('hashchange', onPop);
    return () => {
      window.removeEventListener('popstate', onPop);
      window.removeEventListener('hashchange', onPop);
    };
  }, []);
  const navigate = useCallback((to: string) => {
    window.history.pushState(null, '', to);
    setLoc({ pathname: window.location.pathname, hash: window.location.hash });
  }, []);
  return [loc.pathname, loc.hash, navigate];
}

export function App() {
  const [pathname, hash, navigate] = usePathname();
  const route = parseRoute(pathname);
  const cap = capabilityOf(hash);

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
        {route.name === 'doc' && (
          <DocumentPage key={`${route.docId}#${cap?.role ?? ''}=${cap?.token ?? ''}`} docId={route.docId} capability={cap} />
        )}
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
      // Only documents this browser holds a link for (a local copy alone is not a right to it).
      const links = heldLinks();
      setList(r.ok ? { kind: 'ready', docs: r.value.filter((d) => links[d.docId] !== undefined) } : { kind: 'failed', message: r.error.message });
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

  return (
    <section className="documents" aria-labelledby="documents-title">
      <div className="documents-bar">
        <h2 id="documents-title">Documents</h2>
        <button type="button" data-testid="new-doc" onClick={() => onOpen(createDocumentLink().path)}>
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
              <a href={hrefOf(d.docId)} onClick={(e) => open(e, d.docId)}>
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
