/**
 * Draws a version's text into an element, each character coloured by who wrote it, fast
 * enough to redraw on every frame of a slider drag over a long document.
 *
 * The text is cut into lines (each keeps its '\n', so the element's textContent is exactly
 * the text) and each line is a block of its own; a redraw compares the new lines with the
 * ones on screen, keeps the common prefix and suffix, and replaces only the middle. One
 * event changes one or a few lines, so the browser re-lays out only those, not the whole
 * document. Text is always set with textContent, never as HTML.
 */
import type { AuthorRun } from '../../../shared/src/index.js';
import { authorColor } from './author-color.js';

interface Line {
  /** Text and authorship, as one comparable string. */
  readonly sig: string;
  readonly text: string;
  /** [author, length] pairs covering the line. */
  readonly runs: readonly (readonly [string, number])[];
}

interface Shown {
  readonly sig: string;
  readonly el: HTMLElement;
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
    let sig = '';
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
    for (const [a, n] of lineRuns) sig += `${n}\u0001${a}\u0002`;
    const t = text.slice(start, end);
    lines.push({ sig: sig + t, text: t, runs: lineRuns });
    start = end;
  }
  return lines;
}

export class TextView {
  private shown: Shown[] = [];
  private readonly root: HTMLElement;

  constructor(root: HTMLElement) {
    this.root = root;
    root.replaceChildren();
  }

  /** Shows `text` with `runs` (covering it exactly). */
  show(text: string, runs: readonly AuthorRun[]): void {
    const next = splitLines(text, runs);
    const old = this.shown;
    let p = 0;
    while (p < old.length && p < next.length && old[p].sig === next[p].sig) p++;
    let s = 0;
    while (s < old.length - p && s < next.length - p && old[old.length - 1 - s].sig === next[next.length - 1 - s].sig) s++;
    const before = s > 0 ? old[old.length - s].el : null;
    for (let i = p; i < old.length - s; i++) old[i].el.remove();
    const made: Shown[] = [];
    const frag = document.createDocumentFragment();
    for (let i = p; i < next.length - s; i++) {
      const el = lineElement(next[i]);
      frag.appendChild(el);
      made.push({ sig: next[i].sig, el });
    }
    this.root.insertBefore(frag, before);
    this.shown = old.slice(0, p).concat(made, old.slice(old.length - s));
  }
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
