import { describe, expect, it } from 'vitest';
import { ChangeSet, EditorState, Text } from '@codemirror/state';
import { applyToString, opFromSplice, type Op } from '../../shared/src/index.js';
import { changesFromOp, changesFromOps, opFromChanges, LINE_SEPARATOR } from '../src/editor/convert.js';
import { Random } from '../../shared/test/sim/random.js';

const doc = (s: string) => Text.of(s.split(LINE_SEPARATOR));
const apply = (s: string, op: Op) => {
  const r = applyToString(s, op);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

function randomText(rnd: Random, n: number): string {
  const alphabet = ['a', 'b', 'c', ' ', '\n', '\r', '😀', 'é'];
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rnd.int(alphabet.length)];
  return s;
}

describe('editor changes <-> ops', () => {
  it('a change set becomes an op that applies to the same text, and back (random) (C6)', () => {
    const rnd = new Random(11);
    for (let round = 0; round < 500; round++) {
      const start = randomText(rnd, rnd.int(30));
      // Several non-overlapping changes in one transaction.
      const specs: { from: number; to: number; insert: string }[] = [];
      let pos = 0;
      while (pos <= start.length && specs.length < 4) {
        const from = pos + rnd.int(Math.max(1, start.length - pos + 1));
        if (from > start.length) break;
        const to = Math.min(start.length, from + rnd.int(4));
        specs.push({ from, to, insert: rnd.int(3) === 0 ? '' : randomText(rnd, 1 + rnd.int(3)) });
        pos = to + 1;
      }
      const cs = ChangeSet.of(specs, start.length, LINE_SEPARATOR);
      const after = cs.apply(doc(start)).sliceString(0, undefined, LINE_SEPARATOR);
      const op = opFromChanges(cs, doc(start));
      expect(apply(start, op)).toBe(after);
      const back = changesFromOp(op, start.length);
      expect(back.apply(doc(start)).sliceString(0, undefined, LINE_SEPARATOR)).toBe(after);
    }
  });

  it("keeps '\\r' and '\\r\\n' as they are with '\\n' as the only separator (C6)", () => {
    const state = EditorState.create({ doc: 'a\r\nb', extensions: [EditorState.lineSeparator.of(LINE_SEPARATOR)] });
    expect(state.doc.length).toBe(4);
    const tr = state.update({ changes: changesFromOp(opFromSplice(1, '', 'x\r\ny'), 4) });
    expect(tr.state.sliceDoc()).toBe('ax\r\ny\r\nb');
    expect(opFromChanges(tr.changes, state.doc)).toEqual([1, 'x\r\ny']);
  });

  it('composes a run of ops into one change set', () => {
    const ops: Op[] = [['abc'], [1, { d: 'b' }], [2, 'xyz'], ['>', { d: 'a' }]];
    let s = '';
    for (const op of ops) s = apply(s, op);
    expect(changesFromOps(ops, 0).apply(doc('')).toString()).toBe(s);
  });
});
