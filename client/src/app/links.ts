/**
 * The document links this browser holds (docs/security.md). A link is the capability:
 * `/d/<docId>#edit=<token>` or `#view=<token>`. They are kept in localStorage, per
 * document, so that the list at `/` shows (and opens) exactly the documents this browser
 * has a link for, and so that a document created here (offline too) is trusted locally
 * before the server has ever heard of it.
 *
 * A link is remembered when this browser creates the document, or when the server has
 * accepted its token (a welcome). An edit link is never replaced by a view link of the
 * same document; a view link is upgraded when an edit link is accepted.
 */
import { TOKEN_BYTES, docLinkPath, parseCapability, tokenFromBytes, viewTokenOf, type Role } from '../../../shared/src/index.js';

export interface HeldLink {
  readonly role: Role;
  readonly token: string;
  /** This browser created the document: its hello may register the token (create). */
  readonly created?: boolean;
}

const KEY = 'eventide:links';

function readAll(): Record<string, HeldLink> {
  try {
    const raw = localStorage.getItem(KEY);
    const v: unknown = raw === null ? {} : JSON.parse(raw);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: Record<string, HeldLink> = {};
    for (const [docId, l] of Object.entries(v as Record<string, unknown>)) {
      const link = l as Partial<HeldLink> | null;
      if (link && (link.role === 'edit' || link.role === 'view') && typeof link.token === 'string') {
        out[docId] = { role: link.role, token: link.token, ...(link.created === true ? { created: true } : {}) };
      }
    }
    return out;
  } catch {
    return {};
  }
}

function writeAll(all: Record<string, HeldLink>): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(all));
  } catch {
    // No localStorage (private mode, quota): links then live only in the address bar.
  }
}

/** The link held for `docId`, if any. */
export function heldLink(docId: string): HeldLink | null {
  return readAll()[docId] ?? null;
}

/** Every held link, by document id. */
export function heldLinks(): Record<string, HeldLink> {
  return readAll();
}

/** Remembers a link; an edit link is never downgraded to a view link. */
export function rememberLink(docId: string, link: HeldLink): void {
  const all = readAll();
  const old = all[docId];
  if (old !== undefined && old.role === 'edit' && link.role === 'view') return;
  if (old !== undefined && old.role === link.role && old.token === link.token && old.created === link.created) return;
  all[docId] = { ...link, ...(old?.created === true && old.token === link.token ? { created: true } : {}) };
  writeAll(all);
}

/** Forgets the link held for `docId` (the document is removed from this browser's list). */
export function forgetLink(docId: string): void {
  const all = readAll();
  if (all[docId] === undefined) return;
  delete all[docId];
  writeAll(all);
}

/** A new document: a random id and a random edit token (192 bits), remembered as created here. */
export function createDocumentLink(): { docId: string; token: string; path: string } {
  const docId = crypto.randomUUID().replace(/-/g, '');
  const token = tokenFromBytes(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
  rememberLink(docId, { role: 'edit', token, created: true });
  return { docId, token, path: docLinkPath(docId, 'edit', token) };
}

/** The path that opens a held link. */
export function pathOf(docId: string, link: HeldLink): string {
  return docLinkPath(docId, link.role, link.token);
}

/**
 * Whether this browser already trusts `cap` for `docId` without asking the server: it is
 * the held link itself, or the view link of a held edit link. Anything else is shown only
 * after the server's welcome.
 */
export function trustedLocally(docId: string, cap: { role: Role; token: string }): boolean {
  const held = heldLink(docId);
  if (held === null) return false;
  if (held.role === cap.role && held.token === cap.token) return true;
  return held.role === 'edit' && cap.role === 'view' && viewTokenOf(held.token) === cap.token;
}

/** The capability in the current URL's fragment. */
export function capabilityOf(hash: string): { role: Role; token: string } | null {
  return parseCapability(hash);
}
