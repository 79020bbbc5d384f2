/**
 * Timing and statistics shared by every measurement, ours and the peers', so that all
 * sides are timed the same way: performance.now() around the work only, a warm-up
 * first (V8 and the WASM peers both need one), the median of several runs, and a
 * forced GC between runs when node runs with --expose-gc so one run's garbage is not
 * collected during the next one's timing.
 */
import { createHash } from 'node:crypto';
import type { Patch } from '../tools/trace-file.js';

/** A measured duration: the median and the runs it came from (ms). */
export interface Timing {
  ms: number;
  runs: number[];
}

/** Per-call latencies for the "state at 1,000 versions" measurement. */
export interface Latencies {
  p50: number;
  p99: number;
  mean: number;
  /** How many of the requested versions were retrieved before the time budget ran out. */
  done: number;
  requested: number;
  finished: boolean;
  totalMs: number;
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

export function hasGc(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))];
}

/**
 * Runs `fn` `warmup` times untimed, then `runs` times timed, and returns the median.
 * `check` sees every result (timed or not) outside the timing, so a wrong answer
 * fails the benchmark instead of being reported as fast.
 */
export function timeRuns<T>(fn: () => T, opts: { runs: number; warmup: number; check?: (r: T) => void }): Timing {
  for (let i = 0; i < opts.warmup; i++) {
    const r = fn();
    opts.check?.(r);
    gc();
  }
  const runs: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    gc();
    const t0 = performance.now();
    const r = fn();
    runs.push(performance.now() - t0);
    opts.check?.(r);
  }
  gc();
  return { ms: median(runs), runs };
}

/**
 * The least CPU time (user + system, every thread of the process: GC helpers and the
 * compiler included) of `runs` calls of `fn`, each after a forced GC. On a shared, loaded
 * machine the wall clock mostly measures the wait for a core; the best CPU time is the
 * figure that stays comparable between runs.
 */
export function cpuBest(fn: () => unknown, runs: number): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    gc();
    const t0 = process.cpuUsage();
    fn();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1000);
  }
  return best;
}

/**
 * Times `get(i)` for each index in `order`, one call at a time, and stops when the
 * budget is spent. With a shuffled order a stopped run is still a fair sample of the
 * distribution, so p50/p99 of what was done are reported with `finished: false`.
 */
export function timeEach(
  order: readonly number[],
  get: (i: number) => string,
  check: (i: number, text: string) => void,
  budgetMs: number,
): Latencies {
  const times: number[] = [];
  const start = performance.now();
  for (const i of order) {
    const t0 = performance.now();
    const text = get(i);
    times.push(performance.now() - t0);
    check(i, text);
    if (performance.now() - start > budgetMs) break;
  }
  const totalMs = performance.now() - start;
  const sum = times.reduce((a, b) => a + b, 0);
  return {
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    mean: sum / times.length,
    done: times.length,
    requested: order.length,
    finished: times.length === order.length,
    totalMs,
  };
}

/** `count` versions spread evenly over 1..n (version k·n/count, rounded). */
export function spreadVersions(n: number, count: number): number[] {
  const out: number[] = [];
  for (let k = 1; k <= count; k++) out.push(Math.max(1, Math.round((k * n) / count)));
  return out;
}

/** Indices 0..n-1 in a fixed pseudo-random order (mulberry32), the same for every side. */
export function shuffledOrder(n: number, seed = 0x5eed): number[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx;
}

export function hashText(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

/**
 * The expected text at each version, as hashes, from a plain string replay (the
 * traces README's "naive replay"): an oracle independent of every side measured.
 * Hashes rather than texts keep ~100 MB of strings out of the heap being measured.
 */
export function expectedAt(patches: readonly Patch[], versions: readonly number[]): string[] {
  const out: string[] = [];
  let s = '';
  let j = 0;
  for (let i = 0; i < patches.length && j < versions.length; i++) {
    const [pos, del, ins] = patches[i];
    s = s.slice(0, pos) + ins + s.slice(pos + del);
    while (j < versions.length && versions[j] === i + 1) {
      out.push(hashText(s));
      j++;
    }
  }
  return out;
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}
