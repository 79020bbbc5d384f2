/**
 * What nodes tell each other over NOTIFY, and how it is written. Small on purpose: a
 * NOTIFY payload is at most 8000 bytes, and what crosses is only a pointer or a caret.
 *
 *   - commit:   document `d` has committed events up to seq `s` (the events are read from the log);
 *   - presence: client `c` of document `d`, on node `n`, has caret `k` and user `u`;
 *   - leave:    client `c` of document `d` left node `n`;
 *   - links:    document `d`'s links were replaced on node `n` (rotate-links, R28): the
 *               other nodes close their connections to it whose tokens no longer work.
 *
 * Every notice carries its node id `n`, so a node skips its own. Payloads come from the
 * database, written by any node of any version: decoding checks every field and answers
 * null for anything else (dropped: notices are hints).
 */
import type { Cursor, User } from '../../../shared/src/index.js';

export const COMMIT_CHANNEL = 'eventide_commit';
export const PRESENCE_CHANNEL = 'eventide_presence';
export const ACCESS_CHANNEL = 'eventide_access';

export type Notice =
  | { readonly t: 'commit'; readonly n: string; readonly d: string; readonly s: number }
  | { readonly t: 'presence'; readonly n: string; readonly d: string; readonly c: string; readonly u: User; readonly k: Cursor }
  | { readonly t: 'leave'; readonly n: string; readonly d: string; readonly c: string }
  | { readonly t: 'links'; readonly n: string; readonly d: string };

/** NOTIFY's payload limit is 8000 bytes; presence is dropped rather than sent cut. */
export const MAX_PAYLOAD = 7900;

export function encodeNotice(n: Notice): string | null {
  const s = JSON.stringify(n);
  return s.length <= MAX_PAYLOAD ? s : null;
}

const isStr = (v: unknown, max = 256): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isSeq = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function isCursor(v: unknown): v is Cursor {
  if (v === null) return true;
  if (typeof v !== 'object') return false;
  const c = v as Record<string, unknown>;
  return isSeq(c.anchor) && isSeq(c.head);
}

function isUser(v: unknown): v is User {
  if (typeof v !== 'object' || v === null) return false;
  const u = v as Record<string, unknown>;
  return typeof u.name === 'string' && u.name.length <= 256 && typeof u.color === 'string' && u.color.length <= 32;
}

export function decodeNotice(payload: string): Notice | null {
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  if (!isStr(o.n) || !isStr(o.d)) return null;
  switch (o.t) {
    case 'commit':
      return isSeq(o.s) ? { t: 'commit', n: o.n, d: o.d, s: o.s } : null;
    case 'presence':
      return isStr(o.c) && isUser(o.u) && isCursor(o.k) ? { t: 'presence', n: o.n, d: o.d, c: o.c, u: { name: o.u.name, color: o.u.color }, k: o.k } : null;
    case 'leave':
      return isStr(o.c) ? { t: 'leave', n: o.n, d: o.d, c: o.c } : null;
    case 'links':
      return { t: 'links', n: o.n, d: o.d };
    default:
      return null;
  }
}
