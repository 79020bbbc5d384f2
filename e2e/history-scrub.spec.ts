/**
 * Scrubbing the history of a large document keeps the frame budget (issue 16, spec C18):
 * automerge-paper (259,778 events, ~105k characters) imported as large-doc.spec.ts does,
 * opened by a browser that has none of it, the history panel opened and loaded down to
 * version 0, then the slider driven across the whole history, the way a person does:
 *
 *   (a) dragged with the pointer from one end to the other and back (600 moves, each
 *       hundreds of versions: the index walk, a new text, the change marked and scrolled to);
 *   (b) stepped one event at a time with the arrow keys at several places (each step's
 *       change marked and scrolled to).
 *
 * Each step is measured in the page, input to paint: from the slider's `input` event to the
 * end of the rendering of the frame that shows its version (a message posted from inside that
 * frame's animation-frame callbacks runs once the frame's style, layout and paint are done),
 * and, of that, the frame's own time (from the frame's start to the same point). The next
 * step waits for the paint, so every step is one sample. Also recorded: HistoryPanel's own
 * per-frame breakdown (`eventideHistoryPerf`: index walk, text, DOM, forced layout).
 *
 * The frame is the budget figure (C18): a key step's input to paint also holds the wait for
 * the display's next vsync, which no work of the page's sets (C22).
 *
 * The figures are printed (one JSON line) and attached; the bound asserted is generous (the
 * machine is shared); the budget itself (p95 < 16 ms) is measured under the bench lock and
 * reported in bench/results/. E2E_PROFILE=1 also takes a CPU profile of the pointer drag
 * (`scrub.cpuprofile` in the test's output folder; tools/cpuprofile-top.ts reads it);
 * E2E_PROFILE=trace a Chromium trace too (`scrub.trace.json`, which slows the page down);
 * E2E_PROFILE=trace-keys a trace of the key steps only (`scrub-keys.trace.json`).
 */
import { gunzipSync } from 'node:zlib';
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { editorReady, freshPage, settled } from './helpers';
import { PAPER_TRACE, startImported, stopImported, type ImportedDocument } from './own-server';

const DOC = `scrub-${Date.now().toString(36)}`;

let doc: ImportedDocument | undefined;
let END = '';

test.beforeAll(async ({}, testInfo) => {
  testInfo.setTimeout(90_000);
  END = (JSON.parse(gunzipSync(readFileSync(PAPER_TRACE)).toString('utf8')) as { endContent: string }).endContent;
  doc = await startImported(DOC, PAPER_TRACE, 'eventide-e2e-scrub-');
});

test.afterAll(async () => {
  await stopImported(doc);
});

/** One measured step: the version shown, input to paint, the painting frame's own time. */
interface Step {
  readonly version: number;
  readonly inputToPaint: number;
  readonly frame: number;
}

/** Installs the in-page recorder (see the file comment). Steps land in `window.__scrub`. */
async function record(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __scrub: Step[]; __scrubOn: boolean; eventideHistoryPerf: unknown[] };
    w.__scrub = [];
    w.__scrubOn = true;
    w.eventideHistoryPerf = [];
    const slider = document.querySelector('[data-testid="history-slider"]') as HTMLInputElement;
    const view = document.querySelector('[data-testid="history-view"]') as HTMLElement;
    // The latest input not painted yet; inputs between two paints are one step (the view draws the latest).
    let pending: { t: number; value: number } | null = null;
    let frameStart = 0;
    const tick = (t: number) => {
      frameStart = t;
      if (w.__scrubOn) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    slider.addEventListener('input', () => {
      const t = performance.now();
      pending = { t: pending?.t ?? t, value: Number(slider.value) };
    });
    const after = new MessageChannel();
    let drawnFrame = 0;
    after.port1.onmessage = () => {
      const now = performance.now();
      const p = pending;
      const version = Number(view.dataset.version);
      if (p === null || version !== p.value) return;
      pending = null;
      w.__scrub.push({ version, inputToPaint: now - p.t, frame: now - drawnFrame });
    };
    new MutationObserver(() => {
      // The view was drawn inside this frame's callbacks: the posted message runs after its rendering.
      drawnFrame = frameStart;
      after.port2.postMessage(null);
    }).observe(view, { attributes: true, attributeFilter: ['data-version'] });
  });
}

async function samples(page: Page): Promise<number> {
  return page.evaluate(() => (window as unknown as { __scrub: Step[] }).__scrub.length);
}

/** Waits until step `n` is painted (or, for a step that did not change the version, a short while). */
async function painted(page: Page, n: number): Promise<void> {
  await page
    .waitForFunction((k) => (window as unknown as { __scrub: Step[] }).__scrub.length >= k, n, { polling: 'raf', timeout: 2_000 })
    .catch(() => undefined);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

const round = (x: number) => Math.round(x * 10) / 10;

function summary(steps: readonly Step[]) {
  const ip = steps.map((s) => s.inputToPaint).sort((a, b) => a - b);
  const fr = steps.map((s) => s.frame).sort((a, b) => a - b);
  return {
    steps: steps.length,
    inputToPaint: { p50: round(percentile(ip, 0.5)), p95: round(percentile(ip, 0.95)), max: round(ip[ip.length - 1]) },
    frame: { p50: round(percentile(fr, 0.5)), p95: round(percentile(fr, 0.95)), max: round(fr[fr.length - 1]) },
  };
}

test('scrubbing the whole history of automerge-paper, by pointer and by key, keeps the frame budget with the change marked (C18)', async ({ browser }, testInfo) => {
  testInfo.setTimeout(240_000);
  const { server, imported, editUrl } = doc!;
  const events = Number(imported.events);
  const { context, page } = await freshPage(browser);
  await page.setViewportSize({ width: 1280, height: 800 });
  try {
    await page.goto(editUrl);
    await editorReady(page);
    await settled(page);
    await page.getByTestId('history-toggle').click();
    const panel = page.getByTestId('history-panel');
    await expect(page.getByTestId('history-view')).toHaveAttribute('data-version', String(events), { timeout: 60_000 });
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="history-panel"]') as (Element & { eventide?: { base(): number } }) | null)?.eventide?.base() === 0,
      null,
      { timeout: 150_000, polling: 250 },
    );
    await expect(panel.getByTestId('history-loading')).toHaveCount(0);
    // The view shows the head's text exactly, and holds only the lines around its change as elements, not all 1,173.
    const view = page.getByTestId('history-view');
    expect(await view.evaluate((el) => (el as unknown as { eventide: { text(): string } }).eventide.text())).toBe(END);
    const drawnLines = () => view.evaluate((el) => el.querySelectorAll('.history-line').length);
    expect(await drawnLines()).toBeLessThanOrEqual(150);
    await page.waitForTimeout(500);

    // (a) The pointer, across the whole width and back.
    const slider = page.getByTestId('history-slider');
    await slider.scrollIntoViewIfNeeded();
    const box = (await slider.boundingBox())!;
    const y = box.y + box.height / 2;
    const left = box.x + 2;
    const right = box.x + box.width - 2;
    await record(page);
    const profile = process.env.E2E_PROFILE && process.env.E2E_PROFILE !== 'trace-keys' ? await page.context().newCDPSession(page) : null;
    const tracing = process.env.E2E_PROFILE === 'trace';
    if (profile !== null) {
      await profile.send('Profiler.enable');
      await profile.send('Profiler.setSamplingInterval', { interval: 200 });
      await profile.send('Profiler.start');
      if (tracing) await browser.startTracing(page, { path: testInfo.outputPath('scrub.trace.json'), categories: ['devtools.timeline', 'blink', 'cc'] });
    }
    const MOVES = 300;
    await page.mouse.move(right, y);
    await page.mouse.down();
    let n = 0;
    const xs: number[] = [];
    for (let i = MOVES - 1; i >= 0; i--) xs.push(left + ((right - left) * i) / MOVES);
    for (let i = 1; i <= MOVES; i++) xs.push(left + ((right - left) * i) / MOVES);
    for (const x of xs) {
      await page.mouse.move(x, y);
      await painted(page, ++n);
      n = await samples(page);
    }
    await page.mouse.up();
    if (profile !== null) {
      const { profile: data } = await profile.send('Profiler.stop');
      const file = testInfo.outputPath('scrub.cpuprofile');
      writeFileSync(file, JSON.stringify(data));
      if (tracing) await browser.stopTracing();
      console.log(`CPU profile of the drag: ${file}${tracing ? ', its trace beside it (scrub.trace.json)' : ''}`);
    }
    const pointer = await page.evaluate(() => (window as unknown as { __scrub: Step[] }).__scrub.splice(0));
    const pointerPerf = await page.evaluate(() => (window as unknown as { eventideHistoryPerf: { steps: number; ms: number }[] }).eventideHistoryPerf.splice(0));
    const lowest = Math.min(...pointer.map((s) => s.version));
    const highest = Math.max(...pointer.map((s) => s.version));
    // The drag covered the whole history.
    expect(lowest).toBeLessThan(events / 100);
    expect(highest).toBeGreaterThan(events - events / 100);

    // (b) The keys: one event at a time, at several places in the history, each change marked.
    // E2E_PROFILE=trace-keys: a Chromium trace of the key steps (`scrub-keys.trace.json`; tools/trace-phases.ts reads it).
    const traceKeys = process.env.E2E_PROFILE === 'trace-keys';
    if (traceKeys) await browser.startTracing(page, { path: testInfo.outputPath('scrub-keys.trace.json'), categories: ['devtools.timeline', 'blink', 'cc'] });
    let marked = 0;
    const keys: Step[] = [];
    for (const at of [0.05, 0.3, 0.55, 0.8, 0.97]) {
      // Jump there (as a click on the track would), then step with the arrow key.
      await slider.evaluate((el, v) => {
        const input = el as HTMLInputElement;
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(input, String(v));
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }, Math.round(events * at));
      await page.waitForTimeout(150);
      await slider.focus();
      await page.evaluate(() => void (window as unknown as { __scrub: Step[] }).__scrub.splice(0));
      n = 0;
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('ArrowRight');
        await painted(page, ++n);
        n = await samples(page);
      }
      // The last step's change is marked and in view.
      const seen = await page.getByTestId('history-view').evaluate((el) => {
        const m = el.querySelector('.history-changed') as HTMLElement | null;
        if (m === null) return false;
        const r = m.getBoundingClientRect();
        const v = el.getBoundingClientRect();
        return r.bottom > v.top && r.top < v.bottom;
      });
      if (seen) marked++;
      expect(await drawnLines()).toBeLessThanOrEqual(150);
      keys.push(...(await page.evaluate(() => (window as unknown as { __scrub: Step[] }).__scrub.splice(0))));
    }
    if (traceKeys) {
      await browser.stopTracing();
      console.log(`Trace of the key steps: ${testInfo.outputPath('scrub-keys.trace.json')}`);
    }
    // Reading by scrolling: the lines drawn follow the scroll, up to the first line and down to the last.
    const shown = await view.evaluate((el) => (el as unknown as { eventide: { text(): string } }).eventide.text());
    const lines = shown.split('\n');
    const drawnText = (which: 'first' | 'last') =>
      view.evaluate((el, w) => {
        const all = el.querySelectorAll('.history-line');
        return (w === 'first' ? all[0] : all[all.length - 1])?.textContent ?? '';
      }, which);
    await view.evaluate((el) => (el.scrollTop = 0));
    await expect.poll(() => drawnText('first')).toBe(`${lines[0]}\n`);
    await view.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await expect.poll(() => drawnText('last')).toBe(lines[lines.length - 1] === '' ? `${lines[lines.length - 2]}\n` : lines[lines.length - 1]);
    expect(await drawnLines()).toBeLessThanOrEqual(150);

    const keysPerf = await page.evaluate(() => (window as unknown as { eventideHistoryPerf: { steps: number; ms: number }[] }).eventideHistoryPerf.splice(0));
    await page.evaluate(() => ((window as unknown as { __scrubOn: boolean }).__scrubOn = false));

    const work = (p: { ms: number }[]) => {
      const s = p.map((x) => x.ms).sort((a, b) => a - b);
      return { p50: round(percentile(s, 0.5)), p95: round(percentile(s, 0.95)), max: round(s[s.length - 1]) };
    };
    const figures = {
      test: 'history-scrub',
      doc: { events, length: END.length },
      pointer: { ...summary(pointer), drawWork: work(pointerPerf), from: lowest, to: highest },
      keys: { ...summary(keys), drawWork: work(keysPerf), placesMarkedInView: marked },
      all: summary([...pointer, ...keys]),
    };
    console.log(JSON.stringify(figures));
    await testInfo.attach('history-scrub.json', { body: JSON.stringify(figures, null, 2), contentType: 'application/json' });

    expect(pointer.length).toBeGreaterThanOrEqual(500);
    expect(keys.length).toBeGreaterThanOrEqual(190);
    expect(marked).toBe(5);
    // Generous (a shared machine): the budget, 16 ms, is measured under the bench lock (bench/results). What
    // catches a view that draws the whole text again is the count of line elements above.
    expect(figures.all.frame.p95).toBeLessThan(60);
  } catch (e) {
    await testInfo.attach('server.log', { body: server.log, contentType: 'text/plain' });
    throw e;
  } finally {
    await context.close();
  }
});
