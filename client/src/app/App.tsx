import { useCallback, useEffect, useState, type MouseEvent } from 'react';

/** A new document id: a random UUID without dashes (URL-safe: [0-9a-f] only). */
export function newDocId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

type Route = { name: 'home' } | { name: 'doc'; docId: string } | { name: 'not-found' };

const DOC_PATH = /^\/d\/([A-Za-z0-9_-]+)\/?$/;

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { name: 'home' };
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
        {route.name === 'home' && <Home onNewDoc={() => navigate(`/d/${newDocId()}`)} />}
        {route.name === 'doc' && <DocumentPage docId={route.docId} />}
        {route.name === 'not-found' && <p className="empty">Page not found.</p>}
      </main>
    </div>
  );
}

function Home({ onNewDoc }: { onNewDoc: () => void }) {
  return (
    <section className="documents" aria-labelledby="documents-title">
      <div className="documents-bar">
        <h2 id="documents-title">Documents</h2>
        <button type="button" data-testid="new-doc" onClick={onNewDoc}>
          New document
        </button>
      </div>
      <ul className="document-list" data-testid="document-list">
        <li className="empty">No documents yet.</li>
      </ul>
    </section>
  );
}

function DocumentPage({ docId }: { docId: string }) {
  return (
    <section className="document" aria-label="Document">
      <h2>Document</h2>
      <p>
        <code data-testid="doc-id">{docId}</code>
      </p>
    </section>
  );
}
