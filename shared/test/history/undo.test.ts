/**
 * Undo and redo in the simulated network (docs/spec.md U1-U3, L4): clients fold their
 * stacks from their own view of the log (confirmed events, then the outbox) and append
 * undo/redo events computed with revertEvents, exactly as the browser does. Random
 * sessions of several users check convergence and that no undo or redo ever deletes a
 * character someone else wrote; lone-author sessions check exactness.
 */
import { describe, it, expect } from 'vitest';
import { SimNetwork, type SimClient } from '../sim/network.js';
import { runFuzz, randomEdit } from '../sim/fuzz.js';
import { Random } from '../sim/random.js';
import type { DocEvent, LocalEvent, EventKind, EventMeta } from '../../src/log/event.js';
import { idKey } from '../../src/log/event.js';
import type { Op } from '../../src/op/op.js';
import { OpBuilder } from '../../src/op/op.js';
import { UndoHistory, stepOf } from '../../src/history/undo.js';
import { revertEvents as revertPlain, type RevertableEvent, type RevertContext } from '../../src/history/revert.js';
import { OpSummaries } from '../../src/history/op-summary.js';
import { Rope } from '../../src/text/rope.js';
import { applyToString } from '../../src/op/apply.js';
import { unwrap } from '../../src/result.js';

/**
 * revertEvents, every time also run with op summaries of all but the last three events
 * (as the client has them: its memory summarized, the outbox not), and as the client's
 * undo asks (the log from the group's first event, searched forward): the op must be the same.
 */
function revertEvents(log: readonly RevertableEvent[], targets: Parameters<typeof revertPlain>[1], ctx?: RevertContext) {
  const op = revertPlain(log, targets, ctx);
  const fast = revertPlain(log, targets, ctx, { summaries: OpSummaries.of(log).view(0, Math.max(0, log.length - 3)) });
  // As the client asks: the log cut at the group's first event, searched forward from there.
  const first = log.findIndex((e) => targets.some((t) => t.client === e.id.client && t.clientSeq === e.id.clientSeq));
  const cut = first < 0 ? log : log.slice(first);
  const cutPlain = revertPlain(cut, targets, ctx);
  const fromStep = revertPlain(cut, targets, ctx, { summaries: OpSummaries.of(cut).view(0, Math.max(0, cut.length - 3)), groupFrom: 0 });
  if (JSON.stringify(fromStep) !== JSON.stringify(cutPlain)) {
    throw new Error(`revertEvents from the step with hints gave ${JSON.stringify(fromStep)}, without ${JSON.stringify(cutPlain)}`);
  }
  if (JSON.stringify(fast) !== JSON.stringify(op)) {
    throw new Error(`revertEvents with op summaries gave ${JSON.stringify(fast)}, without ${JSON.stringify(op)}`);
  }
  return op;
}

type ViewEvent = Pick<DocEvent, 'id' | 'op' | 'author' | 'kind' | 'meta'>;

/** The client's view of the log: the confirmed prefix, then its outbox. */
function view(net: SimNetwork, c: SimClient): ViewEvent[] {
  const out: ViewEvent[] = net.log.events.slice(0, c.state.confirmedSeq);
  for (const p of c.state.pending) out.push(p.event);
  return out;
}

function historyOf(events: readonly ViewEvent[], author: string): UndoHistory {
  const h = new UndoHistory(author);
  for (const e of events) h.add(e);
  return h;
}

function edit(c: SimClient, op: Op, kind: EventKind, meta: EventMeta): LocalEvent | string {
  const r = c.state.edit(op, kind, meta);
  return r.ok ? r.value : `${c.name}: ${kind} refused: ${r.error.message}`;
}

/** A typing edit: continues the open step or starts a new one. */
function type(c: SimClient, op: Op, cont: boolean, events: readonly ViewEvent[]): LocalEvent | string {
  const h = historyOf(events, c.state.author);
  const own = events.filter((e) => e.author === c.state.author);
  const last = own[own.length - 1];
  const open = h.openStep;
  const canContinue = cont && open !== null && last !== undefined && last.kind !== 'undo' && last.kind !== 'redo' && stepOf(last) === open;
  return edit(c, op, 'edit', { step: canContinue ? open : `${c.state.nextClientSeq}@${c.state.client}` });
}

function undoOrRedo(net: SimNetwork, c: SimClient, kind: 'undo' | 'redo'): LocalEvent | string | null {
  const events = view(net, c);
  const h = historyOf(events, c.state.author);
  const t = kind === 'undo' ? h.nextUndo() : h.nextRedo();
  if (t === null) return null;
  const op = revertEvents(events, t.events, h);
  if (op === null) return `${c.name}: ${kind} of ${t.step}: its events are not in the view`;
  return edit(c, op, kind, { target: t.step });
}

/** A random local action: typing (60%), undo (25%) or redo (15%). */
function act(rnd: Random, net: SimNetwork, c: SimClient): LocalEvent | string {
  const r = rnd.next();
  if (r >= 0.6) {
    const made = undoOrRedo(net, c, r < 0.85 ? 'undo' : 'redo');
    if (made !== null) return made;
  }
  return type(c, randomEdit(rnd, c.state.live), rnd.chance(0.6), view(net, c));
}

/** U1 on the settled log: an undo or redo deletes only characters its author wrote. */
function onlyOwnDeleted(events: readonly DocEvent[]): string | null {
  const rope = Rope.empty();
  for (const e of events) {
    if (e.kind === 'undo' || e.kind === 'redo') {
      let pos = 0;
      for (const c of e.op) {
        if (typeof c === 'number') pos += c;
        else if (typeof c === 'object') {
          for (const run of rope.authorshipRange(pos, pos + c.d.length)) {
            if (run.author !== e.author) {
              return `${e.kind} ${idKey(e.id)} at seq ${e.seq} by ${e.author} deletes ${run.length} unit(s) written by ${run.author}`;
            }
          }
          pos += c.d.length;
        }
      }
    }
    rope.applyTrusted(e.op, rope.authorId(e.author));
  }
  return null;
}

const SEEDS = Number(process.env.UNDO_SEEDS ?? 300);

describe('undo and redo in the simulated network', () => {
  it(`${SEEDS} random sessions of 3-5 users editing, undoing and redoing converge; no undo touches others' text (L4, U1)`, () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      let r: string | null;
      try {
        r = runFuzz(seed, { clients: 3 + (seed % 3), steps: 200, restarts: true, act, check: onlyOwnDeleted });
      } catch (e) {
        r = `seed ${seed}: threw ${(e as Error).stack}`;
      }
      if (r !== null) failures.push(r);
    }
    // Each failure names its seed; UNDO_SEEDS widens the run.
    expect(failures).toEqual([]);
  });

  it('a lone author, 3,000 random sessions of typing, undo and redo: each undo and redo gives back exactly the text before it (U3)', () => {
    const n = Number(process.env.UNDO_LONE_SEEDS ?? 3000);
    for (let seed = 1; seed <= n; seed++) {
      const r = lone(seed, 4 + (seed % 60));
      if (r !== null) throw new Error(r);
    }
  });

  it('regression (lone seed 13): an undo that brings back the step\'s own deleted characters lets undoing the step remove them', () => {
    expect(lone(13, 4 + 13)).toBeNull();
  });

  it('a lone author: k undos then k redos give the same text, and undoing every step gives the text from before (U3)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rnd = new Random(seed);
      const net = new SimNetwork();
      const [a, b] = [net.addClient('a'), net.addClient('b')];
      net.connect(a);
      net.connect(b);
      // Someone else wrote a starting text.
      for (let i = 0; i < 3; i++) expectMade(type(b, randomEdit(rnd, b.state.live), false, view(net, b)));
      net.settle();
      const before = a.state.live.toString();
      const steps = 1 + rnd.int(12);
      let made = 0;
      while (historyOf(view(net, a), 'a').depth.undo < steps) {
        expectMade(type(a, randomEdit(rnd, a.state.live), rnd.chance(0.7), view(net, a)));
        if (rnd.chance(0.3)) net.settle();
        made++;
      }
      net.settle();
      const after = a.state.live.toString();
      const k = 1 + rnd.int(steps);
      for (let i = 0; i < k; i++) expectMade(undoOrRedo(net, a, 'undo'));
      net.settle();
      for (let i = 0; i < k; i++) expectMade(undoOrRedo(net, a, 'redo'));
      net.settle();
      expect(a.state.live.toString(), `seed ${seed}: ${k} undos then redos after ${made} edits`).toBe(after);
      for (let i = 0; i < steps; i++) expectMade(undoOrRedo(net, a, 'undo'));
      net.settle();
      expect(a.state.live.toString(), `seed ${seed}: all ${steps} steps undone`).toBe(before);
      expect(b.state.live.toString()).toBe(before);
      expect(historyOf(view(net, a), 'a').canUndo).toBe(false);
    }
  });
});

/**
 * A lone author typing, undoing and redoing at random, against a model stack of texts:
 * every undo must give exactly the text from before its step, every redo the text from
 * before its undo (U3). Returns a failure with the session's trace, or null.
 */
function lone(seed: number, n: number): string | null {
  const rnd = new Random(seed);
  const log: ViewEvent[] = [];
  let text = '';
  let next = 1;
  const done: { before: string }[] = [];
  const redo: { before: string }[] = [];
  let lastWasEditOf: string | null = null;
  const trace: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd.next();
    const h = new UndoHistory('a');
    for (const e of log) h.add(e);
    if (r < 0.25 && done.length > 0) {
      const t = h.nextUndo()!;
      const op = revertEvents(log, t.events, h)!;
      const before = text;
      text = unwrap(applyToString(text, op));
      log.push({ id: { client: 'a', clientSeq: next++ }, op, author: 'a', kind: 'undo', meta: { target: t.step } });
      trace.push(`undo ${t.step}: ${JSON.stringify(op)} -> ${JSON.stringify(text)}`);
      const want = done.pop()!.before;
      if (text !== want) return `seed ${seed} step ${i}: undo gave ${JSON.stringify(text)}, want ${JSON.stringify(want)}\n${trace.join('\n')}`;
      redo.push({ before });
      lastWasEditOf = null;
    } else if (r < 0.4 && redo.length > 0) {
      const t = h.nextRedo()!;
      const op = revertEvents(log, t.events, h)!;
      const before = text;
      text = unwrap(applyToString(text, op));
      log.push({ id: { client: 'a', clientSeq: next++ }, op, author: 'a', kind: 'redo', meta: { target: t.step } });
      trace.push(`redo ${t.step}: ${JSON.stringify(op)} -> ${JSON.stringify(text)}`);
      const want = redo.pop()!.before;
      if (text !== want) return `seed ${seed} step ${i}: redo gave ${JSON.stringify(text)}, want ${JSON.stringify(want)}\n${trace.join('\n')}`;
      done.push({ before });
      lastWasEditOf = null;
    } else {
      const op = randomEdit(rnd, Rope.from(text));
      const cont: boolean = lastWasEditOf !== null && rnd.chance(0.5);
      const step: string = cont && lastWasEditOf !== null ? lastWasEditOf : `${next}@a`;
      if (!cont) { done.push({ before: text }); redo.length = 0; }
      text = unwrap(applyToString(text, op));
      log.push({ id: { client: 'a', clientSeq: next++ }, op, author: 'a', kind: 'edit', meta: { step } });
      trace.push(`edit ${step}: ${JSON.stringify(op)} -> ${JSON.stringify(text)}`);
      lastWasEditOf = step;
    }
  }
  return null;
}


function expectMade(e: LocalEvent | string | null): LocalEvent {
  if (e === null || typeof e === 'string') throw new Error(`expected an event, got ${e}`);
  return e;
}

/** Two or three clients on one network with helpers for scripted sessions. */
function scene(names: string[]) {
  const net = new SimNetwork();
  const cs = names.map((n) => net.addClient(n));
  for (const c of cs) net.connect(c);
  const at = (c: SimClient, pos: number, text: string, cont = false) => expectMade(type(c, new OpBuilder().retain(pos).insert(text).done(), cont, view(net, c)));
  const del = (c: SimClient, pos: number, n: number) => {
    const t = c.state.live.slice(pos, pos + n);
    return expectMade(type(c, new OpBuilder().retain(pos).delete(t).done(), false, view(net, c)));
  };
  const texts = () => cs.map((c) => c.state.live.toString());
  return { net, cs, at, del, texts, undo: (c: SimClient) => expectMade(undoOrRedo(net, c, 'undo')), redo: (c: SimClient) => expectMade(undoOrRedo(net, c, 'redo')) };
}

describe('undo: the hard cases', () => {
  it('undo of an insert someone typed into removes only what is left of it', () => {
    const { net, cs: [a, b], at, del, undo, texts } = scene(['a', 'b']);
    at(a, 0, 'hello ');
    at(a, 6, 'world', true);
    net.settle();
    at(b, 8, 'XX'); // "hello woXXrld"
    del(b, 1, 1); // "hllo woXXrld"
    net.settle();
    undo(a);
    net.settle();
    expect(texts()).toEqual(['XX', 'XX']);
    expect(net.log.events.at(-1)?.kind).toBe('undo');
  });

  it('undo of a delete whose neighbours were deleted since puts it back between what is left', () => {
    const { net, cs: [a, b], at, del, undo, texts } = scene(['a', 'b']);
    at(b, 0, 'abcde');
    net.settle();
    del(a, 2, 1); // "abde"
    net.settle();
    del(b, 1, 2); // "ae": b deletes "b" and "d"
    net.settle();
    undo(a);
    net.settle();
    expect(texts()).toEqual(['ace', 'ace']);
  });

  it('undo of a restore brings back the text from before it, and redo restores again (H4)', () => {
    const { net, cs: [a, b], at, undo, redo, texts } = scene(['a', 'b']);
    at(b, 0, 'first draft');
    net.settle();
    at(a, 11, ' and more');
    net.settle();
    // a restores version 1 ("first draft"): one event, one step, kind restore.
    const now = a.state.live.toString();
    const restoreOp = new OpBuilder().retain(11).delete(now.slice(11)).done();
    expectMade(edit(a, restoreOp, 'restore', { step: `${a.state.nextClientSeq}@a`, version: 1 }));
    net.settle();
    expect(texts()).toEqual(['first draft', 'first draft']);
    undo(a);
    net.settle();
    expect(texts()).toEqual([now, now]);
    redo(a);
    net.settle();
    expect(texts()).toEqual(['first draft', 'first draft']);
  });

  it('undo of a step the server rebased', () => {
    const { net, cs: [a, b], at, undo, texts } = scene(['a', 'b']);
    at(b, 0, 'shared text');
    net.settle();
    // a types while cut off; b's edits are sequenced first, so a's events are rebased.
    net.disconnect(a, false);
    at(a, 0, '[a]');
    at(a, 3, '!', true);
    at(b, 0, '<b>');
    at(b, 14, '.');
    net.settle();
    net.connect(a);
    net.settle();
    expect(texts()[0]).toBe(texts()[1]);
    expect(texts()[0]).toContain('[a]!');
    undo(a);
    net.settle();
    expect(texts()).toEqual(['<b>shared text.', '<b>shared text.']);
  });

  it('undo takes back only the undoer\'s steps, whoever typed last (U1)', () => {
    const { net, cs: [a, b, c], at, undo, redo, texts } = scene(['a', 'b', 'c']);
    at(a, 0, 'A1 ');
    net.settle();
    at(b, 3, 'B1 ');
    net.settle();
    at(c, 6, 'C1');
    net.settle();
    undo(a);
    net.settle();
    expect(texts()).toEqual(['B1 C1', 'B1 C1', 'B1 C1']);
    undo(c);
    net.settle();
    expect(texts()).toEqual(['B1 ', 'B1 ', 'B1 ']);
    redo(a);
    net.settle();
    expect(texts()[0]).toBe('A1 B1 ');
    expect(historyOf(view(net, a), 'a').canRedo).toBe(false);
    expect(historyOf(view(net, c), 'c').canRedo).toBe(true);
  });

  it('a named version (an empty event with meta.label) is no undo step (U5)', () => {
    const { net, cs: [a], at, undo } = scene(['a']);
    at(a, 0, 'draft');
    expectMade(edit(a, [], 'edit', { step: `${a.state.nextClientSeq}@a`, label: 'v1', version: 1 }));
    undo(a);
    net.settle();
    expect(a.state.live.toString()).toBe('');
    expect(historyOf(view(net, a), 'a').canUndo).toBe(false);
  });

  it('a new step after undos clears the redo stack (U5)', () => {
    const { net, cs: [a], at, undo } = scene(['a']);
    at(a, 0, 'one');
    at(a, 3, ' two');
    undo(a);
    expect(historyOf(view(net, a), 'a').canRedo).toBe(true);
    at(a, 3, ' three');
    expect(historyOf(view(net, a), 'a').canRedo).toBe(false);
    net.settle();
    expect(a.state.live.toString()).toBe('one three');
  });
});
