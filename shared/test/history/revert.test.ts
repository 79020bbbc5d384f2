/**
 * planRevert against a model that knows characters, not positions: every character has
 * an identity and stays in the list as a tombstone once deleted. The revert of a group
 * must (exactly) delete the group's surviving insertions and put back, at its tombstone's
 * place, every foreign character the group deleted (U1), and with nothing else in
 * between, be the group's inverse (U3).
 */
import { describe, it, expect } from 'vitest';
import { Random } from '../sim/random.js';
import type { Op } from '../../src/op/op.js';
import { OpBuilder, invert } from '../../src/op/op.js';
import { applyToString } from '../../src/op/apply.js';
import { composeAll } from '../../src/op/compose.js';
import { planRevert } from '../../src/history/marks.js';
import { revertEvents, caretAfter } from '../../src/history/revert.js';
import { unwrap } from '../../src/result.js';

interface Ch {
  readonly ch: string;
  readonly byGroup: boolean;
  visible: boolean;
  deletedByGroup: boolean;
}

/** The tombstone model: an insert goes right after the last visible character passed. */
class Model {
  chars: Ch[];
  constructor(text: string) {
    this.chars = [...text].flatMap((c) => c.split('')).map((ch) => ({ ch, byGroup: false, visible: true, deletedByGroup: false }));
  }
  apply(op: Op, group: boolean): void {
    let i = 0; // index in chars: just after the last visible character passed
    for (const c of op) {
      if (typeof c === 'number') {
        let n = c;
        while (n > 0) {
          if (this.chars[i].visible) n--;
          i++;
        }
      } else if (typeof c === 'string') {
        const fresh = c.split('').map((ch) => ({ ch, byGroup: group, visible: true, deletedByGroup: false }));
        this.chars.splice(i, 0, ...fresh);
        i += fresh.length;
      } else {
        let n = c.d.length;
        while (n > 0) {
          const x = this.chars[i];
          if (x.visible) {
            x.visible = false;
            if (group) x.deletedByGroup = true;
            n--;
          }
          i++;
        }
      }
    }
  }
  text(): string {
    return this.chars.filter((c) => c.visible).map((c) => c.ch).join('');
  }
  /** What reverting the group must give. */
  reverted(): string {
    let s = '';
    for (const c of this.chars) {
      if (c.visible && !c.byGroup) s += c.ch;
      else if (!c.visible && c.deletedByGroup && !c.byGroup) s += c.ch;
    }
    return s;
  }
}

/** A random edit on `text`, kept to whole UTF-16 units (the model splits by unit). */
function randomEdit(rnd: Random, text: string, near: number): Op {
  const len = text.length;
  const b = new OpBuilder();
  // Mostly near a hot spot, so edits of the group and the others tangle.
  const spot = (): number => (rnd.chance(0.7) ? Math.max(0, Math.min(len, near + rnd.int(9) - 4)) : rnd.int(len + 1));
  const r = rnd.next();
  if (len === 0 || r < 0.5) {
    b.retain(spot()).insert(rnd.text(3));
  } else {
    const pos = Math.min(spot(), len - 1);
    const n = 1 + rnd.int(Math.min(len - pos, 5));
    b.retain(pos).delete(text.slice(pos, pos + n));
    if (r > 0.85) b.insert(rnd.text(2));
  }
  return b.done();
}

function session(seed: number, events: number, groupShare: number) {
  const rnd = new Random(seed);
  let text = rnd.chance(0.2) ? '' : 'the quick brown fox jumps'.slice(0, rnd.int(26));
  const model = new Model(text);
  const ops: Op[] = [];
  const members: boolean[] = [];
  const near = rnd.int(text.length + 1);
  for (let i = 0; i < events; i++) {
    const op = randomEdit(rnd, text, near);
    // The first event is always the group's (the stretch starts where the group does).
    const group = i === 0 || rnd.chance(groupShare);
    text = unwrap(applyToString(text, op));
    model.apply(op, group);
    ops.push(op);
    members.push(group);
  }
  return { text, model, ops, members };
}

const SEEDS = Number(process.env.REVERT_SEEDS ?? 3000);

describe('planRevert', () => {
  it(`matches the character model on ${SEEDS} random interleavings`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { text, model, ops, members } = session(seed, 1 + (seed % 25), [0.2, 0.5, 0.8][seed % 3]);
      const rev = planRevert(ops, (i) => members[i]);
      const got = applyToString(text, rev);
      if (!got.ok || got.value !== model.reverted()) {
        throw new Error(`seed ${seed}: revert ${JSON.stringify(rev)} of ${JSON.stringify(ops)} (members ${members}) on ${JSON.stringify(text)} gave ${got.ok ? JSON.stringify(got.value) : got.error.message}, want ${JSON.stringify(model.reverted())}`);
      }
    }
  });

  it('is the exact inverse of the group when nothing else happened (U3)', () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const { ops } = session(seed, 1 + (seed % 30), 1);
      const rev = planRevert(ops, () => true);
      expect(rev, `seed ${seed}`).toEqual(invert(composeAll(ops)));
    }
  });

  it('never deletes a character someone else inserted (U1)', () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const { text, model, ops, members } = session(seed, 20, 0.5);
      const rev = planRevert(ops, (i) => members[i]);
      // Every foreign visible character survives, in order.
      const foreign = model.chars.filter((c) => c.visible && !c.byGroup).map((c) => c.ch).join('');
      const after = unwrap(applyToString(text, rev));
      let j = 0;
      for (let i = 0; i < after.length; i++) if (j < foreign.length && after[i] === foreign[j]) j++;
      expect(j, `seed ${seed}`).toBe(foreign.length);
    }
  });

  it('a group that typed "ab" then backspaced "b" is undone whole (transform alone leaves the "b")', () => {
    const ops: Op[] = [[3, 'ab'], [4, { d: 'b' }]];
    const rev = planRevert(ops, () => true);
    expect(unwrap(applyToString('xyza', rev))).toBe('xyz');
  });

  it('undo of an insert someone typed into removes only what is left of it', () => {
    // A types "hello" at 0; B types "XX" inside it; B deletes "e".
    const ops: Op[] = [['hello'], [2, 'XX'], [1, { d: 'e' }]];
    const rev = planRevert(ops, (i) => i === 0);
    expect(unwrap(applyToString('hXXllo', rev))).toBe('XX');
  });

  it('undo of a delete whose neighbours were deleted since puts it back between what is left', () => {
    // Text "abcde": A deletes "c"; B deletes "b" and "d" (its neighbours); B types "Z" at 1.
    const ops: Op[] = [[2, { d: 'c' }], [1, { d: 'bd' }], [1, 'Z']];
    const rev = planRevert(ops, (i) => i === 0);
    // The gap where "c" was is where "b" and "d" were; "Z" typed at that gap comes first.
    expect(unwrap(applyToString('aZe', rev))).toBe('aZce');
  });

  it('backspacing a word puts it back in order', () => {
    const ops: Op[] = [[3, { d: 'd' }], [2, { d: 'c' }], [1, { d: 'b' }]];
    expect(unwrap(applyToString('ae', planRevert(ops, () => true)))).toBe('abcde');
  });

  it('revertEvents finds the group by id and says when history is missing (U6)', () => {
    const log = [
      { id: { client: 'a', clientSeq: 1 }, op: ['hi'] as Op },
      { id: { client: 'b', clientSeq: 1 }, op: [2, '!'] as Op },
      { id: { client: 'a', clientSeq: 2 }, op: [0, { d: 'h' }] as Op },
    ];
    expect(revertEvents(log, [{ client: 'a', clientSeq: 1 }, { client: 'a', clientSeq: 2 }])).toEqual([{ d: 'i' }]);
    expect(revertEvents(log.slice(1), [{ client: 'a', clientSeq: 1 }])).toBeNull();
    expect(caretAfter([3, 'ab', { d: 'x' }])).toBe(5);
    expect(caretAfter([3, { d: 'x' }])).toBe(3);
  });
});
