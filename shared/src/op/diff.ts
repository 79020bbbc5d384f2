/**
 * The smallest single-splice op turning one text into another: the common prefix and
 * suffix are kept, the middle replaced. Used where a whole text must become another in
 * one event (restoring a version, putting a local copy back on the server) and where a
 * view must catch up with a text it cannot follow change by change.
 *
 * It never cuts a surrogate pair in two: the op would still apply, but its insert or
 * delete text would not be valid UTF-16 on its own.
 */
import type { Op } from './op.js';
import { opFromSplice } from './op.js';

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** The op turning `a` into `b` (empty when they are equal). */
export function diffOp(a: string, b: string): Op {
  if (a === b) return [];
  let p = 0;
  const n = Math.min(a.length, b.length);
  while (p < n && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  let s = 0;
  while (s < n - p && a.charCodeAt(a.length - 1 - s) === b.charCodeAt(b.length - 1 - s)) s++;
  if (p > 0 && isHigh(a.charCodeAt(p - 1))) p--;
  if (s > 0 && isLow(a.charCodeAt(a.length - s))) s--;
  return opFromSplice(p, a.slice(p, a.length - s), b.slice(p, b.length - s));
}
