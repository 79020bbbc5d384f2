import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EditorSelection, EditorState, Transaction } from '@codemirror/state';
import { FORMAT_EVENT, formatSpec, type FormatKind } from '../src/markdown/format.js';
import { documentTitle, MAX_TITLE } from '../src/markdown/title.js';
import { fileNameOf } from '../src/markdown/export.js';
import { StepGrouper } from '../src/undo/step-grouper.js';
import { editShape } from '../src/editor/convert.js';

/** A state with `doc` and a selection given as [anchor, head] pairs. */
function stateOf(doc: string, ...ranges: [number, number][]): EditorState {
  return EditorState.create({
    doc,
    selection: EditorSelection.create(ranges.map(([a, h]) => EditorSelection.range(a, h))),
    extensions: EditorState.allowMultipleSelections.of(true),
  });
}

function apply(state: EditorState, kind: FormatKind): { state: EditorState; tr: Transaction } {
  const tr = state.update(formatSpec(state, kind));
  return { state: tr.state, tr };
}

const sel = (s: EditorState) => s.doc.sliceString(s.selection.main.from, s.selection.main.to);

describe('formatting commands (C12)', () => {
  it('bold and italic wrap the selection and unwrap it again, keeping the words selected (C12)', () => {
    let s = stateOf('say hello there', [4, 9]);
    s = apply(s, 'bold').state;
    expect(s.doc.toString()).toBe('say **hello** there');
    expect(sel(s)).toBe('hello');
    s = apply(s, 'bold').state;
    expect(s.doc.toString()).toBe('say hello there');
    expect(sel(s)).toBe('hello');
    // Selected with its markers: unwrapped too.
    s = stateOf('say _hello_', [4, 11]);
    s = apply(s, 'italic').state;
    expect(s.doc.toString()).toBe('say hello');
    // An empty selection gets a pair with the caret inside.
    s = apply(stateOf('ab', [1, 1]), 'bold').state;
    expect(s.doc.toString()).toBe('a****b');
    expect(s.selection.main.head).toBe(3);
  });

  it('a link wraps the text and selects the URL to type over (C12)', () => {
    const s = apply(stateOf('see docs now', [4, 8]), 'link').state;
    expect(s.doc.toString()).toBe('see [docs](https://) now');
    expect(sel(s)).toBe('https://');
    const e = apply(stateOf('x', [1, 1]), 'link').state;
    expect(e.doc.toString()).toBe('x[](https://)');
    expect(e.selection.main.head).toBe(2);
  });

  it('heading and list prefix every selected line, toggle off, and replace another level (C12)', () => {
    let s = stateOf('one\ntwo\nthree', [1, 5]);
    s = apply(s, 'list').state;
    expect(s.doc.toString()).toBe('- one\n- two\nthree');
    s = apply(s, 'list').state;
    expect(s.doc.toString()).toBe('one\ntwo\nthree');
    s = apply(stateOf('## Title', [3, 3]), 'heading1').state;
    expect(s.doc.toString()).toBe('# Title');
    s = apply(s, 'heading1').state;
    expect(s.doc.toString()).toBe('Title');
  });

  it('every command is one transaction named input.format, which the step grouper makes a step of its own, multi-caret too (C12, U4)', () => {
    const kinds: FormatKind[] = ['bold', 'italic', 'link', 'heading1', 'heading2', 'heading3', 'list'];
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.nat(), fc.nat(), fc.nat(), fc.constantFrom(...kinds), (doc, a, b, c, kind) => {
        const n = doc.length;
        const s = stateOf(doc, [a % (n + 1), b % (n + 1)], [c % (n + 1), c % (n + 1)]);
        const { tr } = apply(s, kind);
        expect(tr.annotation(Transaction.userEvent)).toBe(FORMAT_EVENT);
        const g = new StepGrouper();
        // A run of typing was open: the format command does not join it, and typing after it starts anew.
        expect(g.stepFor({ cls: 'type', multi: false, replacedSelection: false, time: 0 }, 'typing')).toBe('typing');
        expect(g.stepFor(editShape(tr, 1), 'format')).toBe('format');
        expect(g.stepFor({ cls: 'type', multi: false, replacedSelection: false, time: 2 }, 'after')).toBe('after');
        // The text only gains or loses markers: what is left of the markers is the text.
        const strip = (t: string) => t.replace(/[*_#\-[\]()]|https:\/\/| /g, '');
        expect(strip(tr.state.doc.toString())).toBe(strip(doc));
      }),
      { seed: 16, numRuns: 300 },
    );
  });
});

describe('title (C13)', () => {
  it('is the first heading, else the first non-blank line, trimmed and capped (C13)', () => {
    expect(documentTitle('intro line\n\n## The Title ##\n# later')).toBe('The Title');
    expect(documentTitle('\n\n  first words  \nmore')).toBe('first words');
    expect(documentTitle('#hashtag is not a heading')).toBe('#hashtag is not a heading');
    expect(documentTitle('#   \nplain')).toBe('plain');
    expect(documentTitle('')).toBe('');
    expect(documentTitle('# ' + 'x'.repeat(500)).length).toBe(MAX_TITLE);
    expect(documentTitle('# <img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>');
  });

  it('export file names keep only safe characters (C15)', () => {
    expect(fileNameOf('My notes: 2026/12', 'md')).toBe('My-notes-2026-12.md');
    expect(fileNameOf('../../etc/passwd', 'txt')).toBe('etc-passwd.txt');
    expect(fileNameOf('<script>', 'html', '-v3')).toBe('script-v3.html');
    expect(fileNameOf('', 'html')).toBe('document.html');
  });
});

describe('the change a version made (C17)', () => {
  it('is the inserted text, or the point of a delete, in the text after the event (C17)', async () => {
    const { changeRange } = await import('../src/history/change-range.js');
    expect(changeRange([5, 'abc'])).toEqual({ from: 5, to: 8 });
    expect(changeRange([5, { d: 'xy' }])).toEqual({ from: 5, to: 5 });
    expect(changeRange(['new', { d: 'old' }])).toEqual({ from: 0, to: 3 });
    expect(changeRange([2, 'a', 10, { d: 'zz' }, 4, 'b'])).toEqual({ from: 2, to: 18 });
    expect(changeRange([])).toBeNull();
  });
});
