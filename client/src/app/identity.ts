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
