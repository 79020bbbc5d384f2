import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EditorState, EditorSelection, Transaction } from '@codemirror/state';
import { StepGrouper, classOfUserEvent, type EditClass, type EditShape } from '../src/undo/step-grouper.js';
import { editShape, minimalTyping } from '../src/editor/convert.js';

const typed = (time: number, extra: Partial<EditShape> = {}): EditShape => ({ cls: 'type', multi: false, replacedSelection: false, time, ...extra });

describe('classOfUserEvent', () => {
  it('names typing, deleting by key, and everything else', () => {
    expect(classOfUserEvent('input.type')).toBe('type');
    expect(classOfUserEvent('input.type.compose')).toBe('type');
    expect(classOfUserEvent('input')).toBe('type'); // Enter
    expect(classOfUserEvent('delete.backward')).toBe('delete');
    expect(classOfUserEvent('delete.forward')).toBe('delete');
    for (const e of ['input.paste', 'input.drop', 'delete.cut', 'delete.selection', 'move.drop', 'input.complete', 'restore', undefined]) {
      expect(classOfUserEvent(e)).toBe('other');
    }
  });
});

describe('StepGrouper', () => {
  it('keeps typing within 500 ms in one step and starts a new one after a pause (U4)', () => {
    const g = new StepGrouper();
    expect(g.stepFor(typed(0), 'k1')).toBe('k1');
    expect(g.stepFor(typed(200), 'k2')).toBe('k1');
    expect(g.stepFor(typed(700), 'k3')).toBe('k1'); // 500 ms after the previous keystroke, not the first
    expect(g.stepFor(typed(1201), 'k4')).toBe('k4');
    expect(g.stepFor(typed(1300), 'k5')).toBe('k4');
  });

  it('starts a step at a caret jump, an undo, and at a switch between typing and deleting (U4)', () => {
    const g = new StepGrouper();
    g.stepFor(typed(0), 'a');
    g.breakRun(); // click, arrow, undo, redo
    expect(g.stepFor(typed(10), 'b')).toBe('b');
    expect(g.stepFor(typed(20, { cls: 'delete' }), 'c')).toBe('c');
    expect(g.stepFor(typed(30, { cls: 'delete' }), 'd')).toBe('c');
    expect(g.stepFor(typed(40), 'e')).toBe('e');
  });

  it('makes a paste, a cut, a drop and a multi-caret edit a step each, and the next edit a new step (U4)', () => {
    const g = new StepGrouper();
    g.stepFor(typed(0), 'a');
    expect(g.stepFor(typed(10, { cls: 'other' }), 'paste')).toBe('paste');
    expect(g.stepFor(typed(20), 'b')).toBe('b');
    expect(g.stepFor(typed(30, { multi: true }), 'multi')).toBe('multi');
    expect(g.stepFor(typed(40, { multi: true }), 'multi2')).toBe('multi2');
    expect(g.stepFor(typed(50), 'c')).toBe('c');
    // Typing over a selection starts a step that the following typing continues.
    expect(g.stepFor(typed(60, { replacedSelection: true }), 'over')).toBe('over');
    expect(g.stepFor(typed(70), 'd')).toBe('over');
  });

  it('property: a step key is always the key of an edit at or before it, and a new step begins exactly where the rules say (U4)', () => {
    const seed = Number(process.env.FC_SEED ?? 5005);
    const edit = fc.record({
      cls: fc.constantFrom<EditClass>('type', 'type', 'type', 'delete', 'other'),
      multi: fc.boolean(),
      replacedSelection: fc.boolean(),
      gap: fc.integer({ min: 0, max: 900 }),
      jump: fc.boolean(),
    });
    try {
      fc.assert(
        fc.property(fc.array(edit, { maxLength: 60 }), (edits) => {
          const g = new StepGrouper();
          let t = 0;
          let prev: { cls: EditClass; multi: boolean; key: string } | null = null;
          const keys: string[] = [];
          edits.forEach((e, i) => {
            t += e.gap;
            if (e.jump) g.breakRun();
            const key = g.stepFor({ cls: e.cls, multi: e.multi, replacedSelection: e.replacedSelection, time: t }, `k${i}`);
            const continues =
              prev !== null && !e.jump && e.cls !== 'other' && prev.cls === e.cls && !prev.multi && !e.multi && !e.replacedSelection && e.gap <= 500;
            expect(key).toBe(continues ? prev!.key : `k${i}`);
            expect(keys.concat(`k${i}`)).toContain(key);
            keys.push(`k${i}`);
            prev = { cls: e.cls, multi: e.multi, key };
          });
        }),
        { seed, numRuns: 300 },
      );
    } catch (e) {
      console.error(`step grouper property failed with FC_SEED=${seed}`);
      throw e;
    }
  });
});

describe('editShape (CodeMirror transactions)', () => {
  const state = EditorState.create({ doc: 'hello world', extensions: [EditorState.allowMultipleSelections.of(true)] });
  it('reads the userEvent, several carets, and a replaced selection', () => {
    const typing = state.update({ changes: { from: 5, insert: '!' }, userEvent: 'input.type' });
    expect(editShape(typing, 1)).toEqual({ cls: 'type', multi: false, replacedSelection: false, time: 1 });
    const paste = state.update({ changes: { from: 0, insert: 'pasted ' }, userEvent: 'input.paste' });
    expect(editShape(paste, 2).cls).toBe('other');
    const multi = EditorState.create({
      doc: 'hello world',
      selection: EditorSelection.create([EditorSelection.cursor(1), EditorSelection.cursor(7)]),
      extensions: [EditorState.allowMultipleSelections.of(true)],
    }).update({ changes: [{ from: 1, insert: 'x' }, { from: 7, insert: 'x' }], userEvent: 'input.type' });
    expect(editShape(multi, 3).multi).toBe(true);
    const sel = EditorState.create({ doc: 'hello world', selection: EditorSelection.range(0, 5) }).update({
      changes: { from: 0, to: 5, insert: 'H' },
      userEvent: 'input.type',
    });
    expect(editShape(sel, 4).replacedSelection).toBe(true);
    const noEvent = state.update({ changes: { from: 0, insert: 'x' } });
    expect(editShape(noEvent as Transaction, 5).cls).toBe('other');
  });
});

describe('minimalTyping', () => {
  const state = EditorState.create({ doc: 'one\u00a0two' });
  it('trims a keystroke reported as a replacement of the character before it', () => {
    // Chrome's fix-up: "\u00a0" replaced by " t" is really an insert of "t" after a space.
    const tr = EditorState.create({ doc: 'one ' }).update({ changes: { from: 3, to: 4, insert: ' t' }, userEvent: 'input.type' });
    const spec = minimalTyping(tr);
    expect(spec).not.toBe(null);
    const out = tr.startState.update(spec!);
    expect(out.newDoc.toString()).toBe(tr.newDoc.toString());
    const changes: [number, number, string][] = [];
    out.changes.iterChanges((a, b, _c, _d, ins) => changes.push([a, b, ins.toString()]));
    expect(changes).toEqual([[4, 4, 't']]);
  });
  it('leaves plain typing, compositions and non-typing transactions alone', () => {
    expect(minimalTyping(state.update({ changes: { from: 3, insert: 'x' }, userEvent: 'input.type' }))).toBe(null);
    expect(minimalTyping(state.update({ changes: { from: 3, to: 4, insert: '\u00a0x' }, userEvent: 'input.type.compose' }))).toBe(null);
    expect(minimalTyping(state.update({ changes: { from: 0, to: 3, insert: 'one' }, userEvent: 'input.paste' }))).toBe(null);
  });
});
