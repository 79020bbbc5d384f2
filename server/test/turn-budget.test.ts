/**
 * The fair line of limits/turn-budget.ts, driven by hand: a fake clock and a manual turn
 * boundary, so what is served in which turn is exact.
 */
import { describe, expect, it } from 'vitest';
import { TurnBudget, type Waiting } from '../src/limits/turn-budget';

/** A clock each frame advances by `cost` ms, and turns run only when `next()` is called. */
function rig(sliceMs: number, quantum: number) {
  let t = 0;
  const deferred: (() => void)[] = [];
  const budget = new TurnBudget({ sliceMs, quantum, now: () => t, defer: (f) => deferred.push(f) });
  const log: string[] = [];
  class Conn implements Waiting {
    constructor(
      readonly name: string,
      public frames: number,
      readonly cost = 1,
    ) {}
    serve(max: number): boolean {
      let n = 0;
      while (n < max && this.frames > 0) {
        this.frames--;
        n++;
        t += this.cost;
        log.push(this.name);
      }
      return this.frames > 0;
    }
  }
  const next = () => {
    const fs = deferred.splice(0);
    for (const f of fs) f();
    return fs.length;
  };
  const handle = (name: string, cost = 1) => budget.charge(() => {
    t += cost;
    log.push(name);
  });
  return { budget, Conn, next, log, handle };
}

describe('TurnBudget', () => {
  it('lets a connection handle its first frame of each turn at once, further ones only while the slice lasts', () => {
    const { budget, next, handle } = rig(2, 4);
    const quiet = { last: 0 };
    const flood = { last: 0 };
    const tryHandle = (c: { last: number }, name: string) => {
      if (!budget.mayHandle(c.last)) return false;
      c.last = budget.turnNo;
      handle(name);
      return true;
    };
    expect(tryHandle(flood, 'F')).toBe(true);
    expect(tryHandle(flood, 'F')).toBe(true);
    // 2 ms spent: the flooder's third frame this turn must wait, a quiet client's first need not.
    expect(tryHandle(flood, 'F')).toBe(false);
    expect(tryHandle(quiet, 'q')).toBe(true);
    expect(tryHandle(quiet, 'q')).toBe(false);
    expect(next()).toBe(1);
    expect(tryHandle(flood, 'F')).toBe(true);
  });

  it('serves the line round-robin, a quantum each, within the slice per turn', () => {
    const { budget, Conn, next, log } = rig(6, 2);
    const flood = new Conn('F', 100);
    const quiet = new Conn('q', 1);
    const other = new Conn('o', 3);
    budget.wait(flood);
    budget.wait(quiet);
    budget.wait(other);
    budget.wait(flood); // already waiting: no second place
    expect(budget.waiting).toBe(3);
    next();
    // Each served once, in line order: F a quantum (2 frames), q its one frame, o a quantum.
    expect(log.join('')).toBe('FFqoo');
    expect(budget.waiting).toBe(2); // F and o, in that order
    log.length = 0;
    next();
    expect(log.join('')).toBe('FFo');
  });

  it('never lets one flooder take a turn twice while others wait', () => {
    const { budget, Conn, next, log } = rig(100, 4);
    const a = new Conn('A', 50);
    const b = new Conn('B', 50);
    budget.wait(a);
    budget.wait(b);
    next();
    expect(log.join('')).toBe('AAAABBBB');
  });

  it('stops serving once the slice is spent, and keeps the order for the next turn', () => {
    const { budget, Conn, next, log } = rig(3, 8);
    const a = new Conn('A', 20);
    const b = new Conn('B', 1);
    budget.wait(a);
    budget.wait(b);
    next(); // A's quantum is 8 frames of 1 ms: the 3 ms slice is spent, B waits
    expect(log.join('')).toBe('AAAAAAAA');
    log.length = 0;
    next();
    expect(log.join('')).toBe('B' + 'AAAAAAAA');
  });

  it('forgets a connection that leaves the line', () => {
    const { budget, Conn, next, log } = rig(100, 4);
    const a = new Conn('A', 5);
    const b = new Conn('B', 5);
    budget.wait(a);
    budget.wait(b);
    budget.leave(a);
    expect(budget.waiting).toBe(1);
    next();
    next();
    expect(log.join('')).toBe('BBBBB');
    expect(budget.waiting).toBe(0);
  });
});
