/**
 * The history slider in Chromium (issue 6): automerge-paper imported on a server of our
 * own (~260k events), opened by a fresh browser that has none of it (so the panel loads
 * the log from the server newest first: a base from the server checkpoint near the head,
 * then older stretches backwards, page by page), then the slider dragged with the mouse
 * across its whole width, left to right and back, the way a person would.
 *
 * Measured in the page:
 *   - per drawn frame (HistoryPanel's `eventideHistoryPerf` hook): the index walk, the
 *     text, the DOM update and a forced style + layout, in ms; and the events walked;
 *   - requestAnimationFrame intervals during the drag (16.7 ms = no frame dropped at 60 Hz).
 * The headless browser paints without a GPU; the machine may be shared, so the figures are
 * upper bounds.
 *
 *   npx tsx bench/slider.ts            prints one JSON line
 * (npm run bench runs it too, unless --no-slider.) Needs the built client (npm run build).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { OwnServer, freePort, importTraceFile, removeDir, repoRoot, tempDataDir } from '../e2e/own-server.js';
import { percentile } from './measure.js';
import { chromiumPath } from '../tools/chromium-path.js';

export interface SliderResult {
  events: number;
  /** From the click on history-toggle until the head version is drawn: the head region is scrubbable (base < head). */
  headMs: number;
  /** The base (lowest loaded version) when the head was first drawn. */
  headBase: number;
  /** From the click on history-toggle until the whole history is loaded (base 0; fresh browser, all from the server, whose blocks are not encoded yet). */
  loadMs: number;
  /** The same for a second fresh browser on the same server, whose blocks the first one's pages encoded (the usual case for an open document). */
  warmLoadMs: number;
  drawnFrames: number;
  frameWorkP50Ms: number;
  frameWorkP95Ms: number;
  frameWorkMaxMs: number;
  /** p95 of each part of a frame: index walk, rope to text and runs, DOM update, forced style + layout. */
  walkP95Ms: number;
  textP95Ms: number;
  domP95Ms: number;
  layoutP95Ms: number;
  stepsP50: number;
  stepsMax: number;
  rafIntervalP50Ms: number;
  rafIntervalP95Ms: number;
  /** rAF intervals longer than 20 ms (a frame missed at 60 Hz). */
  longFrames: number;
  rafFrames: number;
  dragMs: number;
}

const TRACE = path.resolve(repoRoot, 'fixtures', 'traces', 'sequential', 'automerge-paper.json.gz');

export async function sliderBench(log: (s: string) => void = () => {}): Promise<SliderResult> {
  if (!existsSync(path.join(repoRoot, 'dist', 'client', 'index.html'))) throw new Error('dist/client is not built: run npm run build first');
  const dataDir = tempDataDir('eventide-bench-slider-');
  const server = new OwnServer(await freePort(), dataDir);
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    log('slider: importing automerge-paper');
    const doc = `slider-${Date.now().toString(36)}`;
    const imported = await importTraceFile(doc, TRACE, dataDir);
    const events = Number(imported.events);
    await server.start();
    const link = new URL(String(imported.edit));
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.url}${link.pathname}${link.hash}`);
    await page.waitForFunction(() => !!(document.querySelector('[data-testid="editor"]') as unknown as { eventide?: unknown } | null)?.eventide, null, { timeout: 60_000 });

    log(`slider: loading ${events} events into the panel`);
    const t0 = Date.now();
    await page.getByTestId('history-toggle').click();
    await page.waitForFunction(
      (head) => document.querySelector('[data-testid="history-view"]')?.getAttribute('data-version') === String(head),
      events,
      { timeout: 300_000, polling: 50 },
    );
    const headMs = Date.now() - t0;
    const headBase = Number(
      await page.evaluate(`(() => document.querySelector('[data-testid="history-panel"]').eventide.base())()`),
    );
    log(`slider: head version drawn in ${headMs} ms (base ${headBase})`);
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="history-panel"]') as (Element & { eventide?: { base(): number } }) | null)?.eventide?.base() === 0,
      null,
      { timeout: 300_000, polling: 200 },
    );
    const loadMs = Date.now() - t0;
    log(`slider: whole history loaded in ${loadMs} ms`);

    log('slider: dragging');
    await page.getByTestId('history-slider').scrollIntoViewIfNeeded();
    const box = await page.getByTestId('history-slider').boundingBox();
    if (box === null) throw new Error('no slider on the page');
    const y = box.y + box.height / 2;
    const left = box.x + 2;
    const right = box.x + box.width - 2;
    // A string, not a function: tsx's transform would add helpers (__name) the page does not have.
    await page.evaluate(`(() => {
      window.eventideHistoryPerf = [];
      window.rafTimes = [];
      window.rafOn = true;
      const tick = (t) => {
        window.rafTimes.push(t);
        if (window.rafOn) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    })()`);
    const d0 = Date.now();
    const STEPS = 300;
    await page.mouse.move(left, y);
    await page.mouse.down();
    for (let i = 1; i <= STEPS; i++) await page.mouse.move(left + ((right - left) * i) / STEPS, y);
    for (let i = STEPS - 1; i >= 0; i--) await page.mouse.move(left + ((right - left) * i) / STEPS, y);
    await page.mouse.up();
    await page.waitForTimeout(100);
    const dragMs = Date.now() - d0;
    const endVersion = Number(await page.getByTestId('history-version').getAttribute('data-version'));
    if (!(endVersion < events / 100)) throw new Error(`the drag did not bring the slider back to the start (version ${endVersion})`);
    const got = (await page.evaluate(`(() => {
      window.rafOn = false;
      return { perf: window.eventideHistoryPerf, raf: window.rafTimes };
    })()`)) as { perf: { ms: number; steps: number; walkMs: number; textMs: number; domMs: number; layoutMs: number }[]; raf: number[] };
    await context.close();

    // A second late joiner: a fresh browser again, the server's blocks now cached.
    const context2 = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page2 = await context2.newPage();
    await page2.goto(`${server.url}${link.pathname}${link.hash}`);
    await page2.waitForFunction(() => !!(document.querySelector('[data-testid="editor"]') as unknown as { eventide?: unknown } | null)?.eventide, null, { timeout: 60_000 });
    const w0 = Date.now();
    await page2.getByTestId('history-toggle').click();
    await page2.waitForFunction(
      () => (document.querySelector('[data-testid="history-panel"]') as (Element & { eventide?: { base(): number } }) | null)?.eventide?.base() === 0,
      null,
      { timeout: 300_000, polling: 50 },
    );
    const warmLoadMs = Date.now() - w0;
    log(`slider: a second late joiner loaded the whole history in ${warmLoadMs} ms`);
    await context2.close();

    const work = got.perf.map((p) => p.ms);
    const part = (k: 'walkMs' | 'textMs' | 'domMs' | 'layoutMs') => Math.round(percentile(got.perf.map((p) => p[k]), 95) * 100) / 100;
    const steps = got.perf.map((p) => p.steps);
    const intervals: number[] = [];
    for (let i = 1; i < got.raf.length; i++) intervals.push(got.raf[i] - got.raf[i - 1]);
    if (work.length < 10) throw new Error(`only ${work.length} frames were drawn during the drag`);
    const r2 = (x: number) => Math.round(x * 100) / 100;
    return {
      events,
      headMs,
      headBase,
      loadMs,
      warmLoadMs,
      drawnFrames: work.length,
      frameWorkP50Ms: r2(percentile(work, 50)),
      frameWorkP95Ms: r2(percentile(work, 95)),
      frameWorkMaxMs: r2(Math.max(...work)),
      walkP95Ms: part('walkMs'),
      textP95Ms: part('textMs'),
      domP95Ms: part('domMs'),
      layoutP95Ms: part('layoutMs'),
      stepsP50: percentile(steps, 50),
      stepsMax: Math.max(...steps),
      rafIntervalP50Ms: r2(percentile(intervals, 50)),
      rafIntervalP95Ms: r2(percentile(intervals, 95)),
      longFrames: intervals.filter((x) => x > 20).length,
      rafFrames: intervals.length,
      dragMs,
    };
  } finally {
    await browser.close();
    await server.stop('SIGTERM');
    removeDir(dataDir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await sliderBench((s) => process.stderr.write(`${s}\n`));
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
