/**
 * The load governor on its own (K16, K19, K20, K21): a crowd of 100 or more is asked for the
 * shortest interval as soon as it is seen, or as soon as it is connected; when the crowd that made it ask for
 * batching leaves, the interval is lifted at once instead of by quarters; under a steady
 * crowd batching at the longest interval, where each window sees only a quarter of the
 * editors, it is not.
 */
import { describe, it, expect } from 'vitest';
import { LoadGovernor } from '../../src/room/load-governor.js';

/** `n` editors, named from `from`, each submitting once at `now`, `lag` ms stale. */
function submit(g: LoadGovernor, now: number, n: number, lag: number, from = 0): void {
  for (let i = 0; i < n; i++) g.submitted(`e${from + i}`, lag, now);
}

/** Raises the interval to 2 s with 300 editors submitting 400 ms stale every 100 ms; returns the time reached. */
function crowdTo2s(g: LoadGovernor): number {
  let t = 0;
  while (g.batchMs < 2000) {
    submit(g, t, 300, 400);
    g.tick(t);
    t += 100;
    if (t > 20_000) throw new Error('never reached 2 s');
  }
  return t;
}

describe('load governor (K16, K19, K20)', () => {
  it('a steady crowd at the 2 s interval, a quarter of it in each window, stays batched (K16)', () => {
    const g = new LoadGovernor({ targetLagMs: 150 });
    let t = crowdTo2s(g);
    // Each editor submits once every 2 s: a 500 ms window sees a quarter of them, still stale.
    for (let w = 0; w < 16; w++) {
      submit(g, t, 75, 400, (w % 4) * 75);
      const r = g.tick(t + 500);
      expect(r === null || r === 2000).toBe(true);
      t += 500;
    }
    expect(g.batchMs).toBe(2000);
  });

  it('a steady crowd that keeps up only while batched stays batched, and falls by quarters once fresh (K19)', () => {
    const g = new LoadGovernor({ targetLagMs: 150 });
    let t = crowdTo2s(g);
    for (let w = 0; w < 4; w++) {
      submit(g, t, 75, 100, (w % 4) * 75); // between a third of the target and the target: holds
      expect(g.tick(t + 500)).toBeNull();
      t += 500;
    }
    submit(g, t, 75, 10);
    expect(g.tick(t + 500)).toBe(500);
  });

  it('down to the shortest interval at once when the editors submitting fall under a tenth of the crowd, not raised while it is gone, lifted when fresh (K20)', () => {
    const g = new LoadGovernor({ targetLagMs: 150 });
    let t = crowdTo2s(g);
    submit(g, t, 75, 400);
    g.tick(t + 500);
    t += 500;
    // The crowd stopped; of the 10 editors left, batching every 2 s, a quarter submit in this window, stale (the backlog).
    submit(g, t, 3, 900, 1000);
    expect(g.tick(t + 500)).toBe(50);
    t += 500;
    // Still stale, and the 10 now submit every 50 ms: held at 50, not doubled (the crowd is gone).
    for (let w = 0; w < 4; w++) {
      submit(g, t, 10, 900, 1000);
      expect(g.tick(t + 500)).toBeNull();
      t += 500;
    }
    expect(g.batchMs).toBe(50);
    // Fresh: lifted.
    submit(g, t, 10, 20, 1000);
    expect(g.tick(t + 500)).toBe(0);
    // Lifted, the crowd is forgotten: a stale crowd of 12 is asked again (K16).
    t += 500;
    submit(g, t, 12, 400);
    expect(g.tick(t + 500)).toBe(50);
  });

  it('a large crowd that keeps up while batched falls by quarters to the shortest interval and stays there while it is here; lifted once it leaves (K19, K20)', () => {
    const g = new LoadGovernor({ targetLagMs: 150 });
    let t = crowdTo2s(g);
    const seen: number[] = [];
    // The crowd of 300 keeps submitting, fresh now; each window sees its share at the interval in force.
    for (let w = 0; w < 10; w++) {
      const share = Math.max(1, Math.round(300 * Math.min(1, 500 / Math.max(g.batchMs, 1))));
      submit(g, t, share, 10);
      const r = g.tick(t + 500);
      if (r !== null) seen.push(r);
      t += 500;
    }
    expect(seen).toEqual([500, 125, 50]);
    expect(g.batchMs).toBe(50);
    // It leaves: 5 editors, fresh: none.
    submit(g, t, 5, 10, 1000);
    expect(g.tick(t + 500)).toBe(0);
  });

  it('a crowd of 100 or more is asked for the shortest interval in the first window that sees it, fresh or not; 99 fresh editors are not (K20)', () => {
    const g = new LoadGovernor({ targetLagMs: 150 });
    submit(g, 0, 100, 5);
    expect(g.tick(100)).toBe(50);
    // Fresh and still here: held at the shortest, not lifted (a crowd of 100 is there).
    for (let t = 100; t < 3000; t += 500) {
      submit(g, t, 100, 5);
      expect(g.tick(t + 500)).toBeNull();
    }
    expect(g.batchMs).toBe(50);

    const few = new LoadGovernor({ targetLagMs: 150 });
    submit(few, 0, 99, 5);
    expect(few.tick(100)).toBeNull();
    expect(few.batchMs).toBe(0);
  });

  it('a document whose editors were always few (12) is raised while stale, not lifted: the lift is for a crowd that left (K16, K20)', () => {
    const g = new LoadGovernor({ targetLagMs: 150 });
    let t = 0;
    submit(g, t, 12, 400);
    expect(g.tick(t + 100)).toBe(50);
    t += 100;
    submit(g, t, 12, 400);
    expect(g.tick(t + 500)).toBe(100);
    t += 500;
    submit(g, t, 10, 400);
    expect(g.tick(t + 500)).toBe(200);
  });

  it('100 editors connected are asked for the shortest interval before any types; idle, they keep it; 99 are not asked; once fewer than 100 are connected, fresh windows lift it (K21)', () => {
    const g = new LoadGovernor({ targetLagMs: 150 });
    for (let n = 1; n < 100; n++) expect(g.connected(n)).toBeNull();
    expect(g.batchMs).toBe(0);
    expect(g.connected(100)).toBe(50);
    expect(g.connected(140)).toBeNull();
    // Nobody types: no window closes, nothing changes.
    expect(g.tick(5000)).toBeNull();
    expect(g.batchMs).toBe(50);
    // A few of them type, fresh: the crowd is connected, so it is held at 50, not lifted.
    let t = 5000;
    for (let w = 0; w < 6; w++, t += 500) {
      submit(g, t, 12, 5);
      expect(g.tick(t + 500)).toBeNull();
    }
    expect(g.batchMs).toBe(50);
    // Stale, they are raised as any editors are (K16).
    submit(g, t, 12, 400);
    expect(g.tick(t + 500)).toBe(100);
    t += 500;
    // The crowd goes: fresh windows lift it by quarters, then to none.
    expect(g.connected(12)).toBeNull();
    submit(g, t, 12, 5);
    expect(g.tick(t + 500)).toBe(0);
    expect(g.connected(99)).toBeNull();
    expect(g.batchMs).toBe(0);
  });
});
