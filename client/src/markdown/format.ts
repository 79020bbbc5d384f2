/**
 * Markdown formatting commands (issue 16): bold, italic, link, heading and list, as the
 * toolbar and the keys (Mod-B, Mod-I, Mod-K, Mod-Alt-1..3, Mod-Shift-8) issue them.
 *
 * Each command is one transaction over every selection range, annotated with the
 * userEvent `input.format`: the binding makes it one event, and the step grouper
 * (undo/step-grouper.ts) makes anything that is not typing or deleting a step of its
 * own, so one press is one undo step through the app's own undo (spec C12). The text
 * stays plain text: a command only inserts or removes Markdown markers.
 *
 * Pure over an `EditorState` (no view), so the tests run without a DOM.
 */
import { EditorSelection, Transaction, type EditorState, type TransactionSpec } from '@codemirror/state';

/** The userEvent of every formatting transaction. */
export const FORMAT_EVENT = 'input.format';

export type FormatKind = 'bold' | 'italic' | 'link' | 'heading1' | 'heading2' | 'heading3' | 'list';

const MARKERS: Record<'bold' | 'italic', string> = { bold: '**', italic: '_' };

/**
 * Wraps each range in `marker` (or unwraps it when the markers are already there, inside
 * or just outside the selection). An empty range gets a pair with the caret between.
 */
export function toggleWrap(state: EditorState, marker: string): TransactionSpec {
  const m = marker.length;
  const spec = state.changeByRange((r) => {
    const doc = state.doc;
    const inner = doc.sliceString(r.from, r.to);
    // Markers inside the selection: "**word**" selected.
    if (r.to - r.from >= 2 * m && inner.startsWith(marker) && inner.endsWith(marker)) {
      return {
        changes: [
          { from: r.from, to: r.from + m },
          { from: r.to - m, to: r.to },
        ],
        range: EditorSelection.range(r.from, r.to - 2 * m),
      };
    }
    // Markers just outside it: "word" selected in "**word**".
    if (r.from >= m && r.to + m <= doc.length && doc.sliceString(r.from - m, r.from) === marker && doc.sliceString(r.to, r.to + m) === marker) {
      return {
        changes: [
          { from: r.from - m, to: r.from },
          { from: r.to, to: r.to + m },
        ],
        range: EditorSelection.range(r.from - m, r.to - m),
      };
    }
    return {
      changes: [
        { from: r.from, insert: marker },
        { from: r.to, insert: marker },
      ],
      range: EditorSelection.range(r.from + m, r.to + m),
    };
  });
  return { ...spec, scrollIntoView: true, annotations: Transaction.userEvent.of(FORMAT_EVENT) };
}

/**
 * Makes each selected text a link, `[text](url)`, with the URL placeholder selected so
 * typing replaces it. An empty range inserts `[](url)` with the caret in the brackets.
 */
export function makeLink(state: EditorState, url = 'https://'): TransactionSpec {
  const spec = state.changeByRange((r) => {
    const text = state.doc.sliceString(r.from, r.to);
    const insert = `[${text}](${url})`;
    const urlFrom = r.from + text.length + 3;
    return {
      changes: { from: r.from, to: r.to, insert },
      range: r.empty ? EditorSelection.cursor(r.from + 1) : EditorSelection.range(urlFrom, urlFrom + url.length),
    };
  });
  return { ...spec, scrollIntoView: true, annotations: Transaction.userEvent.of(FORMAT_EVENT) };
}

const HEADING = /^(#{1,6}) /;
const LIST = /^(\s*)([-*+]) /;

/** The line starts of every selected line, each once, ascending. */
function selectedLines(state: EditorState): number[] {
  const starts = new Set<number>();
  for (const r of state.selection.ranges) {
    const last = state.doc.lineAt(r.to).number;
    for (let n = state.doc.lineAt(r.from).number; n <= last; n++) starts.add(state.doc.line(n).from);
  }
  return [...starts].sort((a, b) => a - b);
}

/**
 * Makes every selected line a heading of `level`; lines that already are one of that level
 * become plain (a toggle); another level is replaced.
 */
export function toggleHeading(state: EditorState, level: number): TransactionSpec {
  const want = '#'.repeat(level) + ' ';
  const lines = selectedLines(state);
  const all = lines.every((from) => state.doc.lineAt(from).text.startsWith(want));
  const changes = lines.map((from) => {
    const old = HEADING.exec(state.doc.lineAt(from).text);
    const oldLen = old ? old[0].length : 0;
    return all ? { from, to: from + want.length } : { from, to: from + oldLen, insert: want };
  });
  return { changes, scrollIntoView: true, annotations: Transaction.userEvent.of(FORMAT_EVENT) };
}

/** Makes every selected line a bullet list item (`- `), or plain again when all already are. */
export function toggleList(state: EditorState): TransactionSpec {
  const lines = selectedLines(state);
  const all = lines.every((from) => LIST.test(state.doc.lineAt(from).text));
  const changes = lines.map((from) => {
    const m = LIST.exec(state.doc.lineAt(from).text);
    if (all && m) return { from: from + m[1].length, to: from + m[0].length };
    return { from, insert: '- ' };
  });
  return { changes, scrollIntoView: true, annotations: Transaction.userEvent.of(FORMAT_EVENT) };
}

/** The transaction for one formatting command. */
export function formatSpec(state: EditorState, kind: FormatKind): TransactionSpec {
  switch (kind) {
    case 'bold':
    case 'italic':
      return toggleWrap(state, MARKERS[kind]);
    case 'link':
      return makeLink(state);
    case 'heading1':
      return toggleHeading(state, 1);
    case 'heading2':
      return toggleHeading(state, 2);
    case 'heading3':
      return toggleHeading(state, 3);
    case 'list':
      return toggleList(state);
  }
}
