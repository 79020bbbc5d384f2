/**
 * The history index (time travel, the history slider): the state it shows at version v
 * is exactly the fold of the first v events (T1, L5), whatever order the versions are
 * asked for in and while live events keep arriving.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HistoryIndex } from '../../src/history/timeline.js';
import { replay, traceToEvents } from '../../src/log/replay.js';
import type { DocEvent } from '../../src/log/event.js';
import type { AuthorRun } from '../../src/text/authorship.js';
import { Rope } from '../../src/text/rope.js';
import { seed } from '../op/arbitraries.js';
import { logArb } from '../log/log-arbitraries.js';

type Query =
  | { k: 'forward'; n: number }
  | { k: 'back'; n: number }
  | { k: 'jump'; at: number }
  | { k: 'head' }
  | { k: 'zero' }
  | { k: 'append'; n: number };

const queryArb: fc.Arbitrary<Query> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('forward' as const), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('back' as const), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('jump' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ k: 'head' as const }) },
  { weight: 1, arbitrary: fc.constant({ k: 'zero' as const }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('append' as const), n: fc.integer({ min: 1, max: 40 }) }) },
);

/** The truth: a full replay of the first v events, memoized per log. */
function reference(events: readonly DocEvent[]): (v: number) => { text: string; authorship: AuthorRun[] } {
  const memo = new Map<number, { text: string; authorship: AuthorRun[] }>();
  return (v) => {
    let s = memo.get(v);
    if (s === undefined) {
      const rope = replay(null, events.slice(0, v));
      s = { text: rope.toString(), authorship: rope.authorship() };
      memo.set(v, s);
    }
    return s;
  };
}

describe('HistoryIndex', () => {
  it('textAt(v) and ropeAt(v).authorship() equal a full replay of the first v events, for any walk over versions and with live appends (T1, L5)', () => {
    const SEED = 0x71e1;
    fc.assert(
      fc.property(
        logArb(300, 100).chain((events) =>
          fc.tuple(
            fc.constant(events),
            fc.nat({ max: events.length }),
            fc.array(queryArb, { minLength: 10, maxLength: 40, size: 'max' }),
            fc.constantFrom(7, 7, 7, 1, 3, 50),
          ),
        ),
        ([events, initial, queries, every]) => {
          const truth = reference(events);
          const index = new HistoryIndex(events.slice(0, initial), { every });
          let have = initial;
          let v = have;
          const check = (what: string) => {
            const want = truth(v);
            expect(index.head, what).toBe(have);
            expect(index.textAt(v), `${what}: textAt(${v}), every ${every}`).toBe(want.text);
            expect(index.ropeAt(v).authorship(), `${what}: ropeAt(${v}).authorship(), every ${every}`).toEqual(want.authorship);
            expect(index.eventAt(v), `${what}: eventAt(${v})`).toBe(v === 0 ? undefined : events[v - 1]);
            // A jump to another checkpoint rope costs at most two spacings of events, whatever the log's length.
            const m = index.lastMove;
            if (m.how === 'switch') expect(m.steps, `${what}: steps after switching ropes`).toBeLessThanOrEqual(2 * every);
          };
          check('start');
          for (const q of queries) {
            switch (q.k) {
              case 'forward':
                v = Math.min(have, v + q.n);
                break;
              case 'back':
                v = Math.max(0, v - q.n);
                break;
              case 'jump':
                v = q.at % (have + 1);
                break;
              case 'head':
                v = have;
                break;
              case 'zero':
                v = 0;
                break;
              case 'append': {
                const more = events.slice(have, have + q.n);
                index.append(more);
                have += more.length;
                // The view stays where it was; the head must be right at once as well.
                check(`after appending ${more.length} (viewing ${v})`);
                const keep = v;
                v = have;
                check(`head after appending ${more.length}`);
                v = keep;
                break;
              }
            }
            check(q.k);
          }
        },
      ),
      { seed: seed(SEED), numRuns: 150 },
    );
  });

  it('loaded newest first (a base near the head, older segments prepended backwards, appends between), every version in base..head equals a full replay; a prepend from a wrong base is refused (T1, H1)', () => {
    const SEED = 0x5e9d;
    type Step = { k: 'walk'; q: Query } | { k: 'prepend'; bad: 'none' | 'char' | 'extra' };
    const stepArb: fc.Arbitrary<Step> = fc.oneof(
      { weight: 5, arbitrary: queryArb.map((q) => ({ k: 'walk' as const, q })) },
      { weight: 2, arbitrary: fc.constantFrom('none', 'none', 'none', 'char', 'extra').map((bad) => ({ k: 'prepend' as const, bad })) },
    );
    fc.assert(
      fc.property(
        logArb(300, 100).chain((events) =>
          fc.tuple(
            fc.constant(events),
            // Where the log is cut into segments (their bases) and how much is there at first.
            fc.uniqueArray(fc.integer({ min: 1, max: events.length }), { maxLength: 8 }),
            fc.nat({ max: events.length }),
            fc.array(stepArb, { minLength: 10, maxLength: 60, size: 'max' }),
            fc.constantFrom(7, 7, 7, 1, 3, 50),
          ),
        ),
        ([events, cuts, initialRaw, steps, every]) => {
          const truth = reference(events);
          const ropeOf = (v: number) => Rope.fromRuns(truth(v).text, truth(v).authorship);
          // Bases, newest first; the index starts at the newest and the last segment starts at 0.
          const bases = [...cuts].sort((a, b) => b - a);
          const first = bases.length > 0 ? bases[0] : 0;
          const initial = Math.max(first, initialRaw);
          const index = new HistoryIndex(events.slice(first, initial), { every, base: { seq: first, rope: ropeOf(first) } });
          const below = first > 0 ? [...bases.slice(1), 0] : [];
          let base = first;
          let have = initial;
          let v = have;
          const check = (what: string) => {
            const want = truth(v);
            expect(index.base, what).toBe(base);
            expect(index.head, what).toBe(have);
            expect(index.textAt(v), `${what}: textAt(${v}), base ${base}, every ${every}`).toBe(want.text);
            expect(index.ropeAt(v).authorship(), `${what}: ropeAt(${v}).authorship(), base ${base}, every ${every}`).toEqual(want.authorship);
            expect(index.eventAt(v), `${what}: eventAt(${v})`).toBe(v === base ? undefined : events[v - 1]);
            const m = index.lastMove;
            if (m.how === 'switch') expect(m.steps, `${what}: steps after switching ropes`).toBeLessThanOrEqual(2 * every);
            if (base > 0) expect(() => index.ropeAt(base - 1), `${what}: below the base`).toThrow(RangeError);
          };
          check('start');
          for (const st of steps) {
            if (st.k === 'prepend') {
              if (below.length === 0) continue;
              const to = below[0];
              const segment = events.slice(to, base);
              if (st.bad !== 'none') {
                const good = truth(to);
                const text =
                  st.bad === 'extra' ? good.text + 'Q' : good.text.length === 0 ? 'Q' : good.text.slice(0, good.text.length - 1) + (good.text.endsWith('Q') ? 'R' : 'Q');
                const runs = text.length === good.text.length ? good.authorship : [...good.authorship, { author: 'mallory', length: text.length - good.text.length }];
                expect(() => index.prepend(segment, { seq: to, rope: Rope.fromRuns(text, runs) }), `a wrong base (${st.bad}) at ${to}`).toThrow(/did not fit/);
                check(`after a refused prepend at ${to}`);
              }
              index.prepend(segment, { seq: to, rope: ropeOf(to) });
              below.shift();
              base = to;
              check(`after prepending ${to + 1}..${to + segment.length}`);
              v = base;
              check(`the new base ${base}`);
              continue;
            }
            const q = st.q;
            switch (q.k) {
              case 'forward':
                v = Math.min(have, v + q.n);
                break;
              case 'back':
                v = Math.max(base, v - q.n);
                break;
              case 'jump':
                v = base + (q.at % (have - base + 1));
                break;
              case 'head':
                v = have;
                break;
              case 'zero':
                v = base;
                break;
              case 'append': {
                const more = events.slice(have, have + q.n);
                index.append(more);
                have += more.length;
                check(`after appending ${more.length} (viewing ${v})`);
                break;
              }
            }
            check(q.k);
          }
          // Whatever is left comes in; then every version is there.
          while (below.length > 0) {
            const to = below.shift()!;
            index.prepend(events.slice(to, base), { seq: to, rope: ropeOf(to) });
            base = to;
          }
          index.append(events.slice(have));
          have = events.length;
          for (v = have; v >= 0; v -= Math.max(1, Math.floor(have / 37))) check(`final walk down`);
          v = 0;
          check('final 0');
        },
      ),
      { seed: seed(SEED), numRuns: 150 },
    );
  });

  it('prepend refuses a segment that does not end at the base, and a bad op from the base, leaving the index as it was (H1)', () => {
    const events = traceToEvents([
      [0, 0, 'hello'],
      [5, 0, ' world'],
      [0, 1, 'H'],
      [11, 0, '!'],
    ]);
    const at = (v: number) => replay(null, events.slice(0, v));
    const index = new HistoryIndex(events.slice(2), { every: 2, base: { seq: 2, rope: at(2) } });
    expect(index.base).toBe(2);
    expect(index.textAt(4)).toBe('Hello world!');
    expect(() => index.ropeAt(1)).toThrow(RangeError);
    expect(index.eventAt(2)).toBeUndefined();
    expect(index.eventsBetween(0, 4)).toEqual(events.slice(2));
    expect(() => index.prepend(events.slice(0, 1), { seq: 0, rope: Rope.empty() })).toThrow(/did not fit/);
    expect(() => index.prepend(events.slice(1, 2), { seq: 1, rope: Rope.from('help') })).toThrow(/did not fit/);
    expect(() => index.prepend(events.slice(1, 2), { seq: 1, rope: Rope.from('hello', 'mallory') })).toThrow(/did not fit/);
    expect(index.base).toBe(2);
    index.prepend(events.slice(1, 2), { seq: 1, rope: at(1) });
    index.prepend(events.slice(0, 1), { seq: 0, rope: Rope.empty() });
    expect(index.base).toBe(0);
    for (let v = 0; v <= 4; v++) expect(index.textAt(v)).toBe(at(v).toString());
    expect(index.eventsBetween(0, 4)).toEqual(events);
    expect(index.eventsBetween(1, 3)).toEqual(events.slice(1, 3));
  });

  it('a step back reverts one event on the same rope, authorship of deleted text included (L6)', () => {
    // Alice types, Bob deletes part of it, and the view steps back over Bob's delete.
    const alice = traceToEvents([
      [0, 0, 'hello world'],
      [11, 0, '!'],
    ]);
    const bob = traceToEvents([[0, 0, 'x']], { author: 'bob' })[0];
    const events = [
      ...alice,
      { ...bob, seq: 3, base: 2, op: [6, { d: 'world' }, 1] },
      { ...bob, seq: 4, base: 3, id: { client: 'bob', clientSeq: 2 }, op: [6, 'there', 1] },
    ] as typeof alice;
    const index = new HistoryIndex(events, { every: 1000 });
    expect(index.textAt(4)).toBe('hello there!');
    expect(index.ropeAt(4).authorship()).toEqual([
      { author: 'import', length: 6 },
      { author: 'bob', length: 5 },
      { author: 'import', length: 1 },
    ]);
    expect(index.textAt(2)).toBe('hello world!');
    expect(index.lastMove).toEqual({ how: 'walk', from: 4, steps: 2 });
    // (The first query took the only rope, home 0, from 0 to 4.)
    expect(index.ropeAt(2).authorship()).toEqual([{ author: 'import', length: 12 }]);
    expect(index.textAt(3)).toBe('hello !');
    expect(index.lastMove).toEqual({ how: 'walk', from: 2, steps: 1 });
  });

  it('a far jump takes the rope of the nearest checkpoint, above v (reverting) as well as below it; live events move none of them (H2)', () => {
    const patches: [number, number, string][] = [];
    for (let i = 0; i < 100; i++) patches.push([i, 0, String.fromCharCode(97 + (i % 26))]);
    const events = traceToEvents(patches);
    const at = (v: number) => replay(null, events.slice(0, v)).toString();
    const index = new HistoryIndex(events, { every: 10 });
    expect(index.textAt(98)).toBe(at(98));
    expect(index.lastMove).toEqual({ how: 'switch', from: 100, steps: 2 });
    expect(index.textAt(31)).toBe(at(31));
    expect(index.lastMove).toEqual({ how: 'switch', from: 30, steps: 1 });
    expect(index.textAt(29)).toBe(at(29));
    expect(index.lastMove).toEqual({ how: 'walk', from: 31, steps: 2 });
    // 26 is nearer home 30, whose rope is at 29: one step back.
    expect(index.textAt(26)).toBe(at(26));
    expect(index.lastMove).toEqual({ how: 'walk', from: 29, steps: 3 });
    // 24 is nearer home 20, untouched so far.
    expect(index.textAt(24)).toBe(at(24));
    expect(index.lastMove).toEqual({ how: 'switch', from: 20, steps: 4 });
    // Back to 31: rope 30 is still at 26.
    expect(index.textAt(31)).toBe(at(31));
    expect(index.lastMove).toEqual({ how: 'switch', from: 26, steps: 5 });
    // Live events go to the head rope: the rope the view uses stays where it is.
    const more = traceToEvents([...patches, [100, 0, 'z']]).slice(100);
    index.append(more);
    expect(index.textAt(30)).toBe(at(30));
    expect(index.lastMove).toEqual({ how: 'walk', from: 31, steps: 1 });
    expect(index.textAt(101)).toBe(at(100) + 'z');
  });

  it('versions outside 0..head (negative, past the head, fractional, NaN) throw RangeError', () => {
    const events = traceToEvents([
      [0, 0, 'hello'],
      [5, 0, ' world'],
      [0, 1, 'H'],
    ]);
    const index = new HistoryIndex(events, { every: 2 });
    for (const v of [-1, 4, 100, 1.5, Number.NaN, Infinity]) {
      expect(() => index.ropeAt(v), `ropeAt(${v})`).toThrow(RangeError);
      expect(() => index.textAt(v), `textAt(${v})`).toThrow(RangeError);
    }
    // A bad query changes nothing: the index still answers.
    expect(index.textAt(3)).toBe('Hello world');
    expect(index.textAt(0)).toBe('');
    // After a live event, the new head is in range and the one after it is not.
    const [next] = traceToEvents([
      [0, 0, 'hello'],
      [5, 0, ' world'],
      [0, 1, 'H'],
      [11, 0, '!'],
    ]).slice(3);
    index.append([next]);
    expect(index.head).toBe(4);
    expect(index.textAt(4)).toBe('Hello world!');
    expect(() => index.textAt(5)).toThrow(RangeError);
  });

  it('append rejects events that do not continue the log, and stays usable (H1)', () => {
    const events = traceToEvents([
      [0, 0, 'ab'],
      [2, 0, 'c'],
      [0, 1, ''],
    ]);
    const index = new HistoryIndex(events.slice(0, 1), { every: 7 });
    expect(() => index.append([events[2]])).toThrow(/expected seq 2, got 3/);
    index.append(events.slice(1));
    expect(index.textAt(3)).toBe('bc');
    expect(index.textAt(1)).toBe('ab');
  });

  it('a batch that breaks off part way through is rejected whole: the index is unchanged and still right (H1)', () => {
    const events = traceToEvents([
      [0, 0, 'ab'],
      [2, 0, 'c'],
      [0, 1, ''],
      [2, 0, 'd'],
    ]);
    for (const every of [1, 2, 7]) {
      const index = new HistoryIndex(events.slice(0, 1), { every });
      // events[1] continues the log, events[3] does not (seq 4 after 2).
      expect(() => index.append([events[1], events[3]])).toThrow(/expected seq 3, got 4/);
      expect(index.head, `every ${every}`).toBe(1);
      expect(index.textAt(1), `every ${every}`).toBe('ab');
      index.append(events.slice(1));
      expect(index.head).toBe(4);
      for (let v = 0; v <= 4; v++) expect(index.textAt(v), `every ${every}, v ${v}`).toBe(replay(null, events.slice(0, v)).toString());
    }
  });
});
