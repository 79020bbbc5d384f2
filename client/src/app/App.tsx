import { useCallback, useEffect, useState, type MouseEvent } from 'react';
import { DocumentPage } from './DocumentPage.js';
import { capabilityOf } from './links.js';
import { DocumentList } from './DocumentList.js';

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
        {route.name === 'home' && <DocumentList onOpen={navigate} />}
        {route.name === 'doc' && (
          <DocumentPage key={`${route.docId}#${cap?.role ?? ''}=${cap?.token ?? ''}`} docId={route.docId} capability={cap} />
        )}
        {route.name === 'not-found' && <p className="empty">Page not found.</p>}
      </main>
    </div>
  );
}

