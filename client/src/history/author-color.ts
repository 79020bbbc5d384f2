/**
 * A colour per author name for the history view, the same in every browser (the log keeps
 * names, not the colours people picked, which can change): a hash into a fixed palette.
 */
const PALETTE = ['#d1495b', '#2e86ab', '#3c9d4e', '#e07a1f', '#8e44ad', '#16a085', '#c0392b', '#2c3e90', '#b7950b', '#6d4c41'];

export function authorColor(author: string): string {
  let h = 2166136261;
  for (let i = 0; i < author.length; i++) {
    h ^= author.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return PALETTE[(h >>> 0) % PALETTE.length];
}
