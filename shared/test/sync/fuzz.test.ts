/**
 * The simulated-network fuzz (L1, L2, L3, L4, O2): 5 real client sessions and the real
 * room over the real message encoding, random edits, random delivery order and group
 * commits, disconnects (half of them half-open, so stale frames and duplicates reach
 * the server), long offline spells and late joiners (catch-up from checkpoints and
 * through history pages), reconnects with outbox resends, and server restarts with and
 * without the sequencer's memory. `FUZZ_SEEDS=N` runs N seeds instead of 1,000
 * (`FUZZ_FROM` picks the first).
 */
import { describe, it, expect } from 'vitest';
import { runFuzz, type FuzzStats } from '../sim/fuzz.js';

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 1000);
const FROM = Number(process.env.FUZZ_FROM ?? 1);
const CHUNK = 100;

describe('simulated network fuzz', () => {
  for (let start = FROM; start < FROM + SEEDS; start += CHUNK) {
    const end = Math.min(start + CHUNK, FROM + SEEDS);
    it(`seeds ${start}..${end - 1}: 5 clients × 200 steps converge, nothing lost or doubled, every ack once, everyone hears everyone's latest caret (L1, L2, L3, L4, O2, P4, P18, P21, P22, P24)`, () => {
      const failures: string[] = [];
      const stats: FuzzStats = { checkpoints: 0, historyCatchUps: 0, restarts: 0 };
      for (let seed = start; seed < end; seed++) {
        let r: string | null;
        try {
          r = runFuzz(seed, { clients: 5, steps: 200, restarts: true }, stats);
        } catch (e) {
          r = `seed ${seed}: threw ${(e as Error).stack}`;
        }
        if (r !== null) failures.push(r);
      }
      // Each failure names its seed; reproduce with FUZZ_FROM=<seed> FUZZ_SEEDS=1.
      expect(failures).toEqual([]);
      // The run reached the catch-up paths it exists to test (they are what a chunk of seeds is for).
      if (end - start >= 50) {
        expect(stats.checkpoints, 'welcomes taken from a checkpoint').toBeGreaterThan(0);
        expect(stats.historyCatchUps, 'catch-ups through history pages').toBeGreaterThan(0);
        expect(stats.restarts, 'server restarts').toBeGreaterThan(0);
      }
    });
  }
});

describe('fuzz regressions (seeds that once failed)', () => {
  // Composing the remote run before rebasing changed tie outcomes: the server's and the
  // client's forms of an event differed after a long catch-up (found with restarts on).
  for (const seed of [18, 41]) {
    it(`3 clients × 120 steps, seed ${seed} (L4)`, () => {
      expect(runFuzz(seed, { clients: 3, steps: 120, restarts: true })).toBeNull();
    });
  }
  for (const seed of [1, 2, 9, 20, 23]) {
    it(`5 clients × 200 steps, seed ${seed} (L4)`, () => {
      expect(runFuzz(seed, { clients: 5, steps: 200, restarts: true })).toBeNull();
    });
  }
  it('2 clients × 200 steps, seed 2019 (L4)', () => {
    expect(runFuzz(2019, { clients: 2, steps: 200, restarts: true })).toBeNull();
  });
  // Found when the fuzz first ran the real sessions and room: 4, 13, 17, 50, 72 by a window
  // smaller than an uncommitted group (the sequencer dropped events the log did not hold
  // yet), 644 by a replaced connection's last batch read after the new one's resend. The
  // fuzz has gained readers since, so these seeds now draw other runs; the exact cases are
  // the two named tests in sequencer.test.ts.
  for (const seed of [4, 13, 17, 50, 72, 644]) {
    it(`5 clients × 200 steps, real sessions and room, seed ${seed} (L3, L4)`, () => {
      expect(runFuzz(seed, { clients: 5, steps: 200, restarts: true })).toBeNull();
    });
  }
  it('long sessions: 8 clients × 2,000 steps, 5 seeds (L4)', () => {
    for (const seed of [101, 202, 303, 404, 505]) {
      expect(runFuzz(seed, { clients: 8, steps: 2000, restarts: true })).toBeNull();
    }
  });
});
