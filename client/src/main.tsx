// First: configures zod before any schema is built (CSP: no eval).
import './zod-config';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App';
import './app/app.css';
import './markdown/markdown.css';

const root = document.getElementById('root');
if (!root) throw new Error('missing #root element');

// Measuring only (e2e/large-doc.spec.ts): bare CodeMirror with the same text instead of the app.
const barePeer = (window as { eventideBarePeer?: unknown }).eventideBarePeer;
if (typeof barePeer === 'string') {
  void import('./editor/bare-peer').then((m) => m.mountBarePeer(root, barePeer));
} else {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
