/**
 * Flush pacing (flush-pacing.ts, K18): flushes of a crowded document are spaced by its
 * fan-out, counted from the end of the last flush, so an idle server still flushes at
 * the next turn of the event loop.
 */
import { describe, it, expect } from 'vitest';
import { nextFlushDelay, MAX_FLUSH_PACING_MS, MS_PER_FRAME } from '../src/flush-pacing.js';

describe('flush pacing (K18)', () => {
  it('waits for nothing after a quiet spell, or after a short flush to a small document', () => {
    expect(nextFlushDelay(0, { ms: 0.4, fanOut: 5, sinceMs: 0 })).toBe(0);
    expect(nextFlushDelay(0, { ms: 8, fanOut: 300, sinceMs: 1000 })).toBe(0);
  });

  it('spaces flushes to a crowd by its fan-out, counted from the end of the last flush', () => {
    expect(nextFlushDelay(0, { ms: 2, fanOut: 300, sinceMs: 0 })).toBe(Math.ceil(300 * MS_PER_FRAME));
    expect(nextFlushDelay(0, { ms: 2, fanOut: 300, sinceMs: 10 })).toBe(Math.ceil(300 * MS_PER_FRAME - 10));
    // A slow flush (under the cap) still waits as long as it took.
    expect(nextFlushDelay(0, { ms: 18, fanOut: 300, sinceMs: 0 })).toBe(18);
  });

  it('never waits longer than the cap, nor less than the commit window', () => {
    expect(nextFlushDelay(0, { ms: 2, fanOut: 100_000, sinceMs: 0 })).toBe(MAX_FLUSH_PACING_MS);
    expect(nextFlushDelay(0, { ms: 500, fanOut: 1, sinceMs: 0 })).toBe(MAX_FLUSH_PACING_MS);
    expect(nextFlushDelay(20, { ms: 0, fanOut: 0, sinceMs: 0 })).toBe(20);
  });
});
