/**
 * Capability links: who holds a document's link may use it, with the rights the link
 * names. Every document has two secrets:
 *
 *   - the **edit token**: random, at least 128 bits (the creator draws 192), base64url;
 *   - the **view token**: derived from the edit token, `viewTokenOf(edit)`, one-way. So
 *     whoever may edit can always hand out the view link, and a view link says nothing
 *     about the edit token.
 *
 * A link is `<origin>/d/<docId>#edit=<token>` or `#view=<token>`. The token is in the
 * fragment, which browsers never send in a request, so it never reaches server or proxy
 * logs; the client sends it in the WebSocket hello. The server keeps only `tokenHash` of
 * both tokens and compares hashes (docs/security.md).
 *
 * Pure: the random bytes of a new token come in as an argument.
 */
import { sha256, toBase64Url, toHex, utf8 } from './sha256.js';

/** What a link lets its holder do. */
export type Role = 'edit' | 'view';

/** Random bytes in a new edit token (192 bits). */
export const TOKEN_BYTES = 24;

/** A well-formed token: 22 (at least 128 bits) to 128 base64url characters. */
export const TOKEN_PATTERN = /^[A-Za-z0-9_-]{22,128}$/;

/** A new edit token from `bytes` random bytes (at least 16). */
export function tokenFromBytes(bytes: Uint8Array): string {
  if (bytes.length < 16) throw new Error(`a token needs at least 16 random bytes, got ${bytes.length}`);
  return toBase64Url(bytes);
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

/** The view token that belongs to an edit token (one-way). */
export function viewTokenOf(editToken: string): string {
  return toBase64Url(sha256(utf8('eventide view token v1\u0000' + editToken))).slice(0, 32);
}

/** What the server stores for a token: its SHA-256, hex. */
export function tokenHash(token: string): string {
  return toHex(sha256(utf8(token)));
}

/** The path and fragment of a document link. */
export function docLinkPath(docId: string, role: Role, token: string): string {
  return `/d/${docId}#${role}=${token}`;
}

/** The full link, e.g. `https://example.org/d/3f2a#edit=…`. */
export function docLink(origin: string, docId: string, role: Role, token: string): string {
  return origin.replace(/\/+$/, '') + docLinkPath(docId, role, token);
}

/** Reads `#edit=<token>` or `#view=<token>` (with or without the `#`); null otherwise. */
export function parseCapability(fragment: string): { role: Role; token: string } | null {
  const m = /^#?(edit|view)=([A-Za-z0-9_-]+)$/.exec(fragment);
  if (m === null || !isWellFormedToken(m[2])) return null;
  return { role: m[1] as Role, token: m[2] };
}
