/**
 * Keypress to paint, measured the way spec C22 defines it: per typed key, in the page,
 *
 *   - keydown: the keydown event's time stamp (when the browser took the key: a key that waits for
 *     a busy main thread counts the wait), read by a capture listener on the document;
 *   - handled: the end of the key's handling: its change dispatched, the microtasks it queued run
 *     (see `mark` below for why not a posted task);
 *   - the frame that shows it: the first animation frame after the change. Its start is its
 *     rAF timestamp (the display's vsync for that frame); its end is when a message posted from
 *     inside its rAF callbacks runs, i.e. once the frame's style, layout and paint are done.
 *
 * From these, per key: `toPaint` = keydown to the end of that frame (what a person waits for,
 * including the wait for the display's next frame); `work` = the handling plus the frame from
 * the later of its start and the end of the handling (what the page spent: the budget measure);
 * `wait` = the rest, the time between the end of the handling and the next vsync, which is the
 * display's phase and no work of ours; `phase` = the keydown's time since the last vsync.
 *
 * Keys are typed at seeded, jittered intervals (`typeJittered`), so where they fall on the frame
 * is spread by design, not by chance: a fixed 30 ms period would hit five phases only (30 mod
 * 16.7 = 13.3). Playwright's `type(…, {delay: 30})` happened not to (its round trips made the
 * period 35-45 ms, bench/results/keypress-frame-budget-2026-12-06.md), but nothing promised it.
 */
import type { Page } from '@playwright/test';

/** One key's times (ms, the page's clock). */
export interface KeySample {
  readonly keydown: number;
  readonly handled: number;
  readonly frameStart: number;
  readonly painted: number;
  /** The last vsync (rAF timestamp) at or before the keydown, -1 if none was seen. */
  readonly vsyncBefore: number;
  /** The old figure: keydown to the run of the rAF callback of the frame that shows it. */
  readonly toRafCallback: number;
}

/** The per-key figures derived from a `KeySample`; see the file comment. */
export interface KeyFigures {
  readonly toPaint: number;
  readonly work: number;
  readonly handling: number;
  readonly frame: number;
  readonly wait: number;
  readonly phase: number;
  readonly toRafCallback: number;
}

/** Installs the recorder on the editor under `selector` (its `.cm-content`); samples land in `window.__keyFrames`. */
export async function recordKeyFrames(page: Page, selector = '[data-testid="editor"]'): Promise<void> {
  await page.evaluate((sel) => {
    type Pending = { keydown: number; handled: number; vsyncBefore: number };
    const w = window as unknown as { __keyFrames: unknown[]; __vsyncs: number[]; __keyFramesOn: boolean };
    w.__keyFrames = [];
    w.__vsyncs = [];
    w.__keyFramesOn = true;
    let lastVsync = -1;
    const tick = (t: number) => {
      lastVsync = t;
      w.__vsyncs.push(t);
      if (w.__keyFramesOn) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    let waiting: Pending[] = [];
    // The keys whose change reached the DOM and whose frame has not run yet.
    let unpainted: Pending[] = [];
    // The event's own time stamp (when the browser took the key), so a key that waited for a busy main thread counts that wait.
    document.addEventListener('keydown', (e) => waiting.push({ keydown: e.timeStamp, handled: -1, vsyncBefore: lastVsync }), true);
    // The end of a key's handling. Not a posted task: after input Chromium runs the frame before
    // other tasks, so a message posted from the key's task runs after the paint. Instead, two
    // microtask hops from the last places the key's task reaches: the MutationObserver below (after
    // CodeMirror's own, which dispatches the change) and the 'input' event's last listener (on the
    // window, bubbling). The hops let microtasks queued before them run first (React renders a
    // store change in a microtask). Each marker overwrites: the latest before the frame counts.
    const mark = () =>
      queueMicrotask(() =>
        queueMicrotask(() => {
          const now = performance.now();
          for (const k of unpainted) k.handled = now;
        }),
      );
    window.addEventListener('input', mark);
    const content = document.querySelector(sel)!.querySelector('.cm-content')!;
    new MutationObserver(() => {
      if (waiting.length === 0) return;
      const batch = waiting;
      waiting = [];
      unpainted.push(...batch);
      mark();
      requestAnimationFrame((frameStart) => {
        const inCallback = performance.now();
        unpainted = unpainted.filter((k) => !batch.includes(k));
        // A message posted from the frame's rAF callbacks runs once its style, layout and paint are done.
        const painted = new MessageChannel();
        painted.port1.onmessage = () => {
          const now = performance.now();
          for (const k of batch) {
            w.__keyFrames.push({ ...k, handled: k.handled < 0 ? inCallback : k.handled, frameStart, painted: now, toRafCallback: inCallback - k.keydown });
          }
        };
        painted.port2.postMessage(null);
      });
    }).observe(content, { childList: true, subtree: true, characterData: true });
  }, selector);
}

/** Stops the recorder's rAF loop and returns its samples and the vsync times it saw. */
export async function takeKeyFrames(page: Page): Promise<{ samples: KeySample[]; vsyncs: number[] }> {
  return page.evaluate(() => {
    const w = window as unknown as { __keyFrames: KeySample[]; __vsyncs: number[]; __keyFramesOn: boolean };
    w.__keyFramesOn = false;
    return { samples: w.__keyFrames.slice(), vsyncs: w.__vsyncs.slice() };
  });
}

/** The figures of one key (see the file comment). */
export function keyFigures(s: KeySample): KeyFigures {
  const handling = s.handled - s.keydown;
  const work = handling + (s.painted - Math.max(s.frameStart, s.handled));
  return {
    toPaint: s.painted - s.keydown,
    work,
    handling,
    frame: s.painted - s.frameStart,
    wait: s.painted - s.keydown - work,
    phase: s.vsyncBefore < 0 ? -1 : s.keydown - s.vsyncBefore,
    toRafCallback: s.toRafCallback,
  };
}

/** A small seeded generator (mulberry32): the same seed types the same delays. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The delays (ms) before each of `n` keys: 25 ms plus up to 20 ms of seeded jitter, more than a frame's worth of phases. */
export function jitteredDelays(seed: number, n: number): number[] {
  const next = seeded(seed);
  return Array.from({ length: n }, () => 25 + Math.round(next() * 200) / 10);
}

/**
 * Types `text` one key at a time, as a person does: key i goes down, is held for half of
 * `delays[i]`, goes up, and the next one follows after the other half. (A key released at once
 * puts its keyup into the frame that paints it; a held key does not.)
 */
export async function typeJittered(page: Page, text: string, delays: readonly number[]): Promise<void> {
  const keys = [...text];
  for (let i = 0; i < keys.length; i++) {
    const hold = Math.round(delays[i] / 2);
    await page.keyboard.down(keys[i]);
    await page.waitForTimeout(hold);
    await page.keyboard.up(keys[i]);
    await page.waitForTimeout(delays[i] - hold);
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

const round = (x: number) => Math.round(x * 10) / 10;

/** p50 / p95 / max of one figure over the keys. */
export function spread(values: readonly number[]): { p50: number; p95: number; max: number } {
  const s = values.slice().sort((a, b) => a - b);
  return { p50: round(percentile(s, 0.5)), p95: round(percentile(s, 0.95)), max: round(s[s.length - 1]) };
}

/** The summary of a run's keys: every figure's spread, the frame interval, and how the keydowns fell on the frame. */
export function summarizeKeys(samples: readonly KeySample[], vsyncs: readonly number[]) {
  const f = samples.map(keyFigures);
  const gaps = vsyncs.slice(1).map((t, i) => t - vsyncs[i]).sort((a, b) => a - b);
  const interval = gaps.length > 0 ? percentile(gaps, 0.5) : 1000 / 60;
  // The keydowns' phases in quarters of the frame: a cadence locked to the frame fills few of them.
  const quarters = [0, 0, 0, 0];
  for (const k of f) if (k.phase >= 0) quarters[Math.min(3, Math.floor(((k.phase % interval) / interval) * 4))]++;
  return {
    samples: f.length,
    work: spread(f.map((k) => k.work)),
    toPaint: spread(f.map((k) => k.toPaint)),
    handling: spread(f.map((k) => k.handling)),
    frame: spread(f.map((k) => k.frame)),
    wait: spread(f.map((k) => k.wait)),
    toRafCallback: spread(f.map((k) => k.toRafCallback)),
    frameIntervalMs: round(interval),
    phaseQuarters: quarters,
  };
}
