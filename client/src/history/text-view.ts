/**
 * The history view's lines, as plain data (its DOM is windowed-view.ts): a version's text
 * with its author runs, cut into lines, and the plan of a redraw from one version to the
 * next, fast enough for every frame of a slider drag over a long document.
 *
 * The text is cut into lines (each keeps its '\n', so lines joined are exactly the text); a
 * redraw finds the characters that changed (planRedraw) and rebuilds only the lines holding
 * them. One event changes one or a few lines, so a step costs a scan and those lines.
 */
import type { AuthorRun } from '../../../shared/src/index.js';

/** One line of the view: its text (with its '\n', except maybe the last) and [author, length] pairs covering it. */
export interface Line {
  readonly text: string;
  readonly runs: readonly (readonly [string, number])[];
}

/** What the view shows, as plain data: the text, its runs, its lines and where each starts. */
export interface ViewState {
  readonly text: string;
  readonly runs: readonly AuthorRun[];
  readonly lines: readonly Line[];
  readonly starts: readonly number[];
}

/**
 * A redraw: lines [i0, i1) of the old view become `lines`; `reuse[j]` is the old line (an
 * index in [i0, i1), increasing) that new line j is identical to and keeps, or -1 for a
 * line to build. `starts` are the new view's line starts.
 */
export interface Redraw {
  readonly i0: number;
  readonly i1: number;
  readonly lines: readonly Line[];
  readonly reuse: readonly number[];
  readonly starts: number[];
}

export const EMPTY_VIEW: ViewState = { text: '', runs: [], lines: [], starts: [] };

/** How far ahead the line matcher looks for a line that was inserted or removed. */
const LOOKAHEAD = 8;

function sameLine(a: Line, b: Line): boolean {
  if (a.text !== b.text || a.runs.length !== b.runs.length) return false;
  for (let i = 0; i < a.runs.length; i++) if (a.runs[i][0] !== b.runs[i][0] || a.runs[i][1] !== b.runs[i][1]) return false;
  return true;
}

/**
 * Matches the new lines against old lines [i0, i1), in order: several events between two
 * frames can touch lines far apart, and the lines between them stay as they are.
 */
function matchLines(old: readonly Line[], i0: number, i1: number, lines: readonly Line[]): number[] {
  const reuse: number[] = new Array(lines.length).fill(-1);
  let i = i0;
  let j = 0;
  while (j < lines.length && i < i1) {
    if (sameLine(old[i], lines[j])) {
      reuse[j++] = i++;
      continue;
    }
    let moved = false;
    for (let d = 1; d <= LOOKAHEAD && !moved; d++) {
      if (i + d < i1 && sameLine(old[i + d], lines[j])) {
        i += d; // old lines removed
        moved = true;
      } else if (j + d < lines.length && sameLine(old[i], lines[j + d])) {
        j += d; // new lines inserted (built)
        moved = true;
      }
    }
    if (!moved) {
      i++; // a changed line: the old one goes, the new one is built
      j++;
    }
  }
  return reuse;
}

/** Cuts text and its author runs into lines that end with their '\n' (the last may not). */
export function splitLines(text: string, runs: readonly AuthorRun[]): Line[] {
  const lines: Line[] = [];
  let ri = 0;
  let rLeft = runs.length > 0 ? runs[0].length : 0;
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf('\n', start);
    const end = nl === -1 ? text.length : nl + 1;
    const lineRuns: [string, number][] = [];
    let need = end - start;
    while (need > 0 && ri < runs.length) {
      const take = Math.min(need, rLeft);
      const author = runs[ri].author;
      const last = lineRuns[lineRuns.length - 1];
      if (last !== undefined && last[0] === author) last[1] += take;
      else lineRuns.push([author, take]);
      need -= take;
      rLeft -= take;
      if (rLeft === 0) {
        ri++;
        rLeft = ri < runs.length ? runs[ri].length : 0;
      }
    }
    lines.push({ text: text.slice(start, end), runs: lineRuns });
    start = end;
  }
  return lines;
}

/**
 * The lines to rebuild to go from `old` to `text` with `runs`: those holding a changed
 * character (text or author). The common prefix and suffix are found by scanning the two
 * texts and their runs, so a frame costs a scan and the changed lines, not building every
 * line of the document again. Null when nothing changed.
 */
export function planRedraw(old: ViewState, text: string, runs: readonly AuthorRun[]): Redraw | null {
  const o = old.text;
  const oldLen = o.length;
  const newLen = text.length;
  const max = Math.min(oldLen, newLen);
  let p = 0;
  while (p < max && o.charCodeAt(p) === text.charCodeAt(p)) p++;
  let s = 0;
  while (s < max - p && o.charCodeAt(oldLen - 1 - s) === text.charCodeAt(newLen - 1 - s)) s++;
  // The same characters by another author are a change too.
  p = Math.min(p, firstAuthorDiff(old.runs, runs, p));
  s = Math.min(s, lastAuthorDiff(old.runs, oldLen, runs, newLen, s));
  if (p === oldLen && p === newLen) return null;
  const starts = old.starts;
  // i0: the first line holding a changed character (whole lines ending at or before p stay).
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const end = mid + 1 < starts.length ? starts[mid + 1] : oldLen;
    const whole = mid + 1 < starts.length || (oldLen > 0 && o.charCodeAt(oldLen - 1) === 10);
    if (whole && end <= p) lo = mid + 1;
    else hi = mid;
  }
  const i0 = lo;
  // i1: the first line after the change (it starts after the first unchanged suffix character).
  const cut = oldLen - s;
  lo = i0;
  hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid] > cut) hi = mid;
    else lo = mid + 1;
  }
  const i1 = s === 0 ? starts.length : lo;
  const delta = newLen - oldLen;
  const from = i0 < starts.length ? starts[i0] : oldLen;
  const to = i1 < starts.length ? starts[i1] + delta : newLen;
  const lines = splitLines(text.slice(from, to), runsIn(runs, from, to));
  const reuse = matchLines(old.lines, i0, i1, lines);
  const out = starts.slice(0, i0);
  let at = from;
  for (const line of lines) {
    out.push(at);
    at += line.text.length;
  }
  for (let i = i1; i < starts.length; i++) out.push(starts[i] + delta);
  return { i0, i1, lines, reuse, starts: out };
}

/** The runs covering [from, to) of the text `runs` cover. */
function runsIn(runs: readonly AuthorRun[], from: number, to: number): AuthorRun[] {
  const out: AuthorRun[] = [];
  let at = 0;
  for (const r of runs) {
    const a = Math.max(at, from);
    const b = Math.min(at + r.length, to);
    if (b > a) out.push({ author: r.author, length: b - a });
    at += r.length;
    if (at >= to) break;
  }
  return out;
}

/** The first position below `limit` where the two runs name different authors (limit if none). */
function firstAuthorDiff(a: readonly AuthorRun[], b: readonly AuthorRun[], limit: number): number {
  let i = 0;
  let j = 0;
  let aEnd = a.length > 0 ? a[0].length : 0;
  let bEnd = b.length > 0 ? b[0].length : 0;
  let pos = 0;
  while (pos < limit && i < a.length && j < b.length) {
    if (a[i].author !== b[j].author) return pos;
    pos = Math.min(aEnd, bEnd);
    if (pos === aEnd && ++i < a.length) aEnd += a[i].length;
    if (pos === bEnd && ++j < b.length) bEnd += b[j].length;
  }
  return limit;
}

/** How many characters from the end carry the same authors in both (at most `limit`). */
function lastAuthorDiff(a: readonly AuthorRun[], aLen: number, b: readonly AuthorRun[], bLen: number, limit: number): number {
  let i = a.length - 1;
  let j = b.length - 1;
  let aStart = i >= 0 ? aLen - a[i].length : 0;
  let bStart = j >= 0 ? bLen - b[j].length : 0;
  let back = 0; // characters from the end checked so far
  while (back < limit && i >= 0 && j >= 0) {
    if (a[i].author !== b[j].author) return back;
    back = Math.min(aLen - aStart, bLen - bStart);
    if (back === aLen - aStart && --i >= 0) aStart -= a[i].length;
    if (back === bLen - bStart && --j >= 0) bStart -= b[j].length;
  }
  return limit;
}
