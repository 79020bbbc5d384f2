/**
 * Draws a version's text into an element, each character coloured by who wrote it, fast
 * enough to redraw on every frame of a slider drag over a long document.
 *
 * The text is cut into lines (each keeps its '\n', so the element's textContent is exactly
 * the text) and each line is a block of its own; a redraw finds the characters that changed
 * (planRedraw) and replaces only the lines holding them. One event changes one or a few
 * lines, so the browser re-lays out only those, not the whole document. Text is always set
 * with textContent, never as HTML.
 */
import type { AuthorRun } from '../../../shared/src/index.js';
import { authorColor } from './author-color.js';

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

/** Draws into an element (see the file comment). */
export class TextView {
  private readonly root: HTMLElement;
  private state: ViewState = EMPTY_VIEW;
  private els: HTMLElement[] = [];
  /** The lines marked as the viewed version's change. */
  private marked: HTMLElement[] = [];

  constructor(root: HTMLElement) {
    this.root = root;
    root.replaceChildren();
  }

  /** Shows `text` with `runs` (covering it exactly). */
  show(text: string, runs: readonly AuthorRun[]): void {
    const old = this.state;
    const r = planRedraw(old, text, runs);
    if (r === null) {
      this.state = { ...old, text, runs };
      return;
    }
    this.state = { text, runs, lines: old.lines.slice(0, r.i0).concat(r.lines, old.lines.slice(r.i1)), starts: r.starts };
    // Remove the old lines that are not kept, then build the new ones in place, each before
    // the next kept line (or before the first line after the change).
    const kept = new Set<number>();
    for (const k of r.reuse) if (k >= 0) kept.add(k);
    for (let i = r.i0; i < r.i1; i++) if (!kept.has(i)) this.els[i].remove();
    const middle: HTMLElement[] = new Array(r.lines.length);
    let frag: DocumentFragment | null = null;
    for (let j = 0; j < r.lines.length; j++) {
      const k = r.reuse[j];
      if (k >= 0) {
        if (frag !== null) this.root.insertBefore(frag, this.els[k]);
        frag = null;
        middle[j] = this.els[k];
      } else {
        frag ??= document.createDocumentFragment();
        middle[j] = lineElement(r.lines[j]);
        frag.appendChild(middle[j]);
      }
    }
    if (frag !== null) this.root.insertBefore(frag, r.i1 < this.els.length ? this.els[r.i1] : null);
    this.els = this.els.slice(0, r.i0).concat(middle, this.els.slice(r.i1));
  }

  /**
   * Marks the lines holding [from, to) of the shown text (at most `MAX_MARKED` of them:
   * a paste of a whole book marks its start) and scrolls the first into the middle of the
   * view when it is not visible; null clears the mark. One binary search and a few class
   * changes: cheap enough for every frame of a drag.
   */
  mark(range: { from: number; to: number } | null): void {
    for (const el of this.marked) el.classList.remove('history-changed');
    this.marked = [];
    if (range === null || this.els.length === 0) return;
    const first = this.lineAt(range.from);
    const last = Math.min(this.lineAt(Math.max(range.from, range.to - 1)), first + MAX_MARKED - 1);
    for (let i = first; i <= last; i++) {
      this.els[i].classList.add('history-changed');
      this.marked.push(this.els[i]);
    }
    const el = this.els[first];
    // The view is positioned (history.css), so a line's offsetTop is from the view's top.
    const top = el.offsetTop;
    const view = this.root;
    if (top < view.scrollTop || top + el.offsetHeight > view.scrollTop + view.clientHeight) {
      view.scrollTop = Math.max(0, top - view.clientHeight / 3);
    }
  }

  /** The line holding position `pos` (the last line for the end). */
  private lineAt(pos: number): number {
    const starts = this.state.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return Math.min(lo, this.els.length - 1);
  }
}

/** The most lines one change marks. */
const MAX_MARKED = 50;

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

function lineElement(line: Line): HTMLElement {
  const div = document.createElement('div');
  div.className = 'history-line';
  let off = 0;
  for (const [author, n] of line.runs) {
    const span = document.createElement('span');
    span.className = 'history-run';
    span.dataset.author = author;
    span.title = author;
    span.style.setProperty('--author', authorColor(author));
    span.textContent = line.text.slice(off, off + n);
    div.appendChild(span);
    off += n;
  }
  if (off < line.text.length) div.appendChild(document.createTextNode(line.text.slice(off)));
  return div;
}
