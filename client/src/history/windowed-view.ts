/**
 * The history view's DOM (issue 16, spec C18): the text of the version shown, each
 * character coloured by who wrote it, its change marked and scrolled to, drawn so that
 * scrubbing a long document keeps the frame budget.
 *
 * Why a window. The first view held every line of the text as an element (1,173 lines,
 * 105k characters for automerge-paper). A step rebuilt only the lines it changed, but it
 * still paid for laying out a container of a thousand lines, for reaching the changed line
 * to scroll to it, and for painting: about 12 ms of a frame at the median and 20-25 ms at
 * p95 during a scrub, over the 16 ms budget (bench/results/history-scrub-2026-12-05.md). Now only
 * the lines around what is looked at are elements, at most WINDOW of them: around the
 * version's change, or, when the person scrolls, around where they scrolled to. Two spacers
 * stand for the lines above and below, at the height each line measured when it was last
 * shown, or an estimate from its length until then; so the scrollbar is about right and
 * scrolling reads on seamlessly. A text of at most WINDOW lines is drawn whole, so its
 * textContent is exactly the text; for any text the test hook `eventide.text()` on the
 * element gives the text the view shows.
 *
 * The lines are text-view.ts's plan: a step keeps the Line objects of the lines it did not
 * change, so an element is kept by its Line's identity, and a step that stays in one place
 * touches only its changed lines. Text is always set with textContent, never as HTML.
 */
import type { AuthorRun } from '../../../shared/src/index.js';
import { authorColor } from './author-color.js';
import { EMPTY_VIEW, planRedraw, type Line, type ViewState } from './text-view.js';

/**
 * The most lines drawn as elements: the view shows some 20 rows, and automerge-paper's
 * lines (paragraphs) average 1.5 rows, so 60 lines cover it with a view's height to spare
 * on either side; every line more is one more to lay out when the window moves.
 */
export const WINDOW = 60;
/** Lines drawn above the line the window is placed around. */
const ABOVE = 15;
/** The most lines one change marks (a paste of a whole book marks its start). */
const MAX_MARKED = 50;

/** What the view's element offers tests (`eventide`). */
export interface TextViewProbe {
  /** The whole text of the version shown (the DOM holds only a window of it when it is long). */
  text(): string;
  /** The lines drawn as elements: [first, end) of the text's lines. */
  window(): [number, number];
}

/** Draws into an element (see the file comment). */
export class TextView {
  private readonly root: HTMLElement;
  private readonly above: HTMLElement;
  private readonly below: HTMLElement;
  private state: ViewState = EMPTY_VIEW;
  /** The window: lines [w0, w0 + shown.length) are drawn, by shownEls. */
  private w0 = 0;
  private shown: Line[] = [];
  private shownEls: HTMLElement[] = [];
  /** What each line measured when last drawn (its height in px). */
  private readonly heights = new WeakMap<Line, number>();
  /**
   * The element each line had when last drawn: a line no version changed keeps its Line
   * object (text-view.ts), so a window that comes back to it (a drag back and forth) reuses
   * its element instead of building it again. Lines no longer in the text are collected.
   */
  private readonly built = new WeakMap<Line, HTMLElement>();
  private marked: HTMLElement[] = [];
  private rowPx = 0;
  private charsPerRow = 0;
  /** The scroll the view made itself (to show a change): not a person's. */
  private ownScroll = -1;

  constructor(root: HTMLElement) {
    this.root = root;
    this.above = spacer();
    this.below = spacer();
    root.replaceChildren(this.above, this.below);
    root.addEventListener('scroll', this.onScroll, { passive: true });
    const probe: TextViewProbe = { text: () => this.state.text, window: () => [this.w0, this.w0 + this.shown.length] };
    (root as unknown as { eventide?: TextViewProbe }).eventide = probe;
  }

  /** Stops listening and drops the test hook (the element is reused for a message, or goes). */
  dispose(): void {
    this.root.removeEventListener('scroll', this.onScroll);
    delete (this.root as unknown as { eventide?: TextViewProbe }).eventide;
  }

  /**
   * Shows `text` with `runs` (covering it exactly), marks the lines holding `change` (a
   * range of the new text, from change-range.ts; null: nothing marked) and scrolls the
   * first of them into view when it is not.
   */
  show(text: string, runs: readonly AuthorRun[], change: { from: number; to: number } | null): void {
    const old = this.state;
    const r = planRedraw(old, text, runs);
    if (r === null) {
      this.state = { ...old, text, runs };
    } else {
      const lines = r.lines.map((l, j) => (r.reuse[j] >= 0 ? old.lines[r.reuse[j]] : l));
      this.state = { text, runs, lines: old.lines.slice(0, r.i0).concat(lines, old.lines.slice(r.i1)), starts: r.starts };
    }
    const n = this.state.lines.length;
    const first = change === null || n === 0 ? -1 : this.lineAt(change.from);
    const last = first < 0 ? -1 : Math.min(this.lineAt(Math.max(change!.from, change!.to - 1)), first + MAX_MARKED - 1);
    // The window stays where it is while the change is well inside it (stepping through one
    // paragraph's edits touches only its lines); else it moves to the change.
    let w0 = this.w0;
    if (first >= 0 && (first < w0 + 4 || first >= w0 + WINDOW - 4)) w0 = first - ABOVE;
    this.draw(w0);

    for (const el of this.marked) el.classList.remove('history-changed');
    this.marked = [];
    if (first < 0) return;
    for (let i = Math.max(first, this.w0); i <= last && i < this.w0 + this.shown.length; i++) {
      const el = this.shownEls[i - this.w0];
      el.classList.add('history-changed');
      this.marked.push(el);
    }
    const el = this.shownEls[first - this.w0];
    if (el === undefined) return;
    // The view is positioned (history.css), so a line's offsetTop is from the view's top.
    // This is the frame's one layout; the lines drawn are measured while it is fresh.
    const top = el.offsetTop;
    this.measure();
    const view = this.root;
    if (top < view.scrollTop || top + el.offsetHeight > view.scrollTop + view.clientHeight) {
      view.scrollTop = Math.max(0, top - view.clientHeight / 3);
      this.ownScroll = view.scrollTop;
    }
  }

  /** Draws lines [w0, w0 + WINDOW) (clamped), keeping the elements of lines already drawn. */
  private draw(start: number): void {
    const lines = this.state.lines;
    const w0 = Math.max(0, Math.min(start, lines.length - WINDOW));
    const w1 = Math.min(lines.length, w0 + WINDOW);
    const want = lines.slice(w0, w1);
    const keep = new Set(want);
    for (let i = 0; i < this.shown.length; i++) if (!keep.has(this.shown[i])) this.shownEls[i].remove();
    const els: HTMLElement[] = new Array(want.length);
    // Back to front, each before the next: kept elements already in place are not moved.
    let next: HTMLElement = this.below;
    for (let j = want.length - 1; j >= 0; j--) {
      let el = this.built.get(want[j]);
      if (el === undefined) {
        el = lineElement(want[j]);
        this.built.set(want[j], el);
      }
      els[j] = el;
      if (el.nextSibling !== next) this.root.insertBefore(el, next);
      next = el;
    }
    this.w0 = w0;
    this.shown = want;
    this.shownEls = els;
    setHeight(this.above, this.heightOf(0, w0));
    setHeight(this.below, this.heightOf(w1, lines.length));
  }

  /** The height of lines [a, b): measured, or estimated from their length. */
  private heightOf(a: number, b: number): number {
    if (b <= a) return 0;
    if (this.rowPx === 0) {
      const fontPx = parseFloat(getComputedStyle(this.root).fontSize) || 14;
      this.rowPx = fontPx * 1.2;
      // Monospace: about 0.6 em a character.
      this.charsPerRow = Math.max(20, Math.floor((this.root.clientWidth - fontPx) / (fontPx * 0.6)));
    }
    const lines = this.state.lines;
    let h = 0;
    for (let i = a; i < b; i++) {
      const line = lines[i];
      h += this.heights.get(line) ?? this.rowPx * Math.max(1, Math.ceil((line.text.length - 1) / this.charsPerRow));
    }
    return h;
  }

  /** Remembers what the drawn lines measure (layout is fresh when this is called). */
  private measure(): void {
    for (let i = 0; i < this.shown.length; i++) this.heights.set(this.shown[i], this.shownEls[i].offsetHeight);
  }

  /** A person scrolled: when they near an edge of the window, it moves to where they are. */
  private readonly onScroll = (): void => {
    const view = this.root;
    if (view.scrollTop === this.ownScroll) return;
    this.ownScroll = -1;
    const n = this.state.lines.length;
    if (n <= WINDOW) return;
    const aboveH = this.above.offsetHeight;
    const belowTop = this.below.offsetTop;
    const slack = view.clientHeight;
    const nearTop = this.w0 > 0 && view.scrollTop < aboveH + slack;
    const nearBottom = this.w0 + this.shown.length < n && view.scrollTop + view.clientHeight > belowTop - slack;
    if (!nearTop && !nearBottom) return;
    this.measure();
    // The line at the top of the view, and how far into it the view is.
    const lines = this.state.lines;
    let y = 0;
    let i = 0;
    for (; i < n - 1; i++) {
      const h = this.heightOf(i, i + 1);
      if (y + h > view.scrollTop) break;
      y += h;
    }
    const into = view.scrollTop - y;
    this.draw(i - Math.floor(WINDOW / 2) + 10);
    const el = this.shownEls[i - this.w0];
    if (el !== undefined && lines[i] === this.shown[i - this.w0]) {
      view.scrollTop = el.offsetTop + into;
      this.ownScroll = view.scrollTop;
    }
  };

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
    return Math.max(0, Math.min(lo, this.state.lines.length - 1));
  }
}

function spacer(): HTMLElement {
  const el = document.createElement('div');
  el.className = 'history-spacer';
  el.setAttribute('aria-hidden', 'true');
  return el;
}

function setHeight(el: HTMLElement, px: number): void {
  const h = `${Math.round(px)}px`;
  if (el.style.height !== h) el.style.height = h;
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
