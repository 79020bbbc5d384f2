/**
 * Tokens for tests: a fixed edit token per document id (so every test client of one
 * document presents the same link, as people sharing a link would), its view token, and
 * the hello fields that join, or create, a document with them. Derived, not random, so a
 * test needs no setup step to share them; a real client draws 192 random bits.
 */
import { sha256, viewTokenOf } from '../../../shared/src/index.js';

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** The edit token of `docId` in tests (43 base64url characters). */
export function testToken(docId: string): string {
  return b64url(sha256(new TextEncoder().encode(`eventide test edit token\u0000${docId}`)));
}

/** The view token of `docId` in tests. */
export function testViewToken(docId: string): string {
  return viewTokenOf(testToken(docId));
}

/** Hello fields that join `docId` with edit rights, creating it if it is new. */
export function editAccess(docId: string): { token: string; create: true } {
  return { token: testToken(docId), create: true };
}
