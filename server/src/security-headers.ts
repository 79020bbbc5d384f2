/**
 * The HTTP security headers of every response, and the WebSocket origin rule.
 *
 * Content-Security-Policy. The built app is only files from this origin: one module
 * script, one stylesheet, the service worker and its registration script, the manifest
 * and an SVG icon; it talks to `/ws` on the same origin. So everything is `'self'`, no
 * inline script and no eval (zod runs jitless in the client, client/src/zod-config.ts),
 * with one exception found in Chromium (e2e/access.spec.ts): styles. CodeMirror's
 * style-mod mounts its themes as `<style>` elements in the document (constructable
 * stylesheets only inside a shadow root) and sets some `style` attributes, so style-src
 * needs `'unsafe-inline'`: without it the editor loses its layout. A nonce would not
 * survive the service worker's cached index.html. Injected CSS cannot run script, and all
 * document content is rendered as text. `connect-src 'self'` covers `ws:`/`wss:` to the
 * same host (CSP Level 3).
 */

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every HTTP response (the app, its files, /healthz, errors). */
export const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
};

/**
 * Whether a WebSocket upgrade with this `Origin` may proceed. No Origin at all is a
 * non-browser client (browsers always send one on a WebSocket), which could claim any
 * origin anyway: the token, not the origin, guards against those. `allowed` null: the
 * app's own origin only, i.e. the Origin's host:port is the request's Host.
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[] | null): boolean {
  if (origin === undefined) return true;
  if (allowed !== null) return allowed.includes('*') || allowed.includes(origin);
  if (host === undefined) return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.host === host.toLowerCase();
}
