/**
 * Who this browser is to others: a display name and a colour, picked at random the
 * first time and kept in localStorage; the user may change both, and a change applies at
 * once (presence carries it; other tabs follow through the `storage` event).
 */
import { useCallback, useEffect, useState } from 'react';
import type { User } from '../../../shared/src/index.js';

const KEY = 'eventide.user';

export const COLORS = ['#d1242f', '#bf3989', '#8250df', '#1f6feb', '#0969da', '#1a7f37', '#9a6700', '#bc4c00', '#57606a', '#0a7c86'];
const ADJECTIVES = ['Amber', 'Brisk', 'Calm', 'Dapper', 'Eager', 'Fuzzy', 'Gentle', 'Hazy', 'Jolly', 'Keen', 'Lucky', 'Merry', 'Nimble', 'Quiet', 'Rapid', 'Sunny', 'Tidy', 'Witty'];
const ANIMALS = ['Otter', 'Heron', 'Lynx', 'Panda', 'Koala', 'Falcon', 'Badger', 'Marten', 'Ibis', 'Yak', 'Gecko', 'Puffin', 'Walrus', 'Wombat', 'Finch', 'Mole'];

const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)];

export const MAX_NAME = 64;

export function randomUser(): User {
  return { name: `${pick(ADJECTIVES)} ${pick(ANIMALS)}`, color: pick(COLORS) };
}

function valid(u: unknown): u is User {
  const o = u as { name?: unknown; color?: unknown } | null;
  return (
    o !== null &&
    typeof o === 'object' &&
    typeof o.name === 'string' &&
    o.name.trim().length > 0 &&
    o.name.length <= MAX_NAME &&
    typeof o.color === 'string' &&
    /^#[0-9a-fA-F]{6}$/.test(o.color)
  );
}

export function loadUser(): User {
  try {
    const raw = localStorage.getItem(KEY);
    if (raw !== null) {
      const u = JSON.parse(raw) as unknown;
      if (valid(u)) return u;
    }
  } catch {
    /* no storage, or junk in it: pick anew */
  }
  const u = randomUser();
  saveUser(u);
  return u;
}

const UID_KEY = 'eventide.uid';
let pageUid: string | null = null;

/**
 * A random id for this browser, kept in localStorage: two people may pick the same name,
 * and undo must never take one for the other (U1).
 */
export function browserUid(): string {
  if (pageUid !== null) return pageUid;
  try {
    const stored = localStorage.getItem(UID_KEY);
    if (stored !== null && /^[0-9a-z]{6}$/.test(stored)) return (pageUid = stored);
  } catch {
    /* no storage: an id for this page */
  }
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  pageUid = Array.from(bytes, (b) => (b % 36).toString(36)).join('');
  try {
    localStorage.setItem(UID_KEY, pageUid);
  } catch {
    /* kept for this page only */
  }
  return pageUid;
}

/**
 * The author a page's events carry: the display name and this browser's id, e.g.
 * "Calm Otter #k3f9x2". Events keep the author the page opened with; a rename shows in
 * presence at once and in events from the next open (undo walks one author's steps).
 */
export function authorOf(name: string): string {
  return `${name} #${browserUid()}`;
}

export function saveUser(u: User): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(u));
  } catch {
    /* kept for this page only */
  }
}

/**
 * The user, and a setter that keeps it (ignoring invalid values). A change made in another
 * tab of this browser arrives through the `storage` event and applies here too, so every tab
 * shows (and sends with presence) the same name and colour.
 */
export function useIdentity(): [User, (u: User) => void] {
  const [user, setUser] = useState<User>(loadUser);
  useEffect(() => {
    const onStorage = (e: StorageEvent) => {
      if (e.key !== KEY || e.newValue === null) return;
      try {
        const u = JSON.parse(e.newValue) as unknown;
        if (valid(u)) setUser((old) => (old.name === u.name && old.color === u.color ? old : u));
      } catch {
        /* junk from elsewhere: keep ours */
      }
    };
    window.addEventListener('storage', onStorage);
    return () => window.removeEventListener('storage', onStorage);
  }, []);
  const update = useCallback((u: User) => {
    const next = { name: u.name.trim().slice(0, MAX_NAME), color: u.color };
    if (!valid(next)) return;
    saveUser(next);
    setUser(next);
  }, []);
  return [user, update];
}
