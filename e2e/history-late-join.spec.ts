/**
 * The history panel of a long document in a browser that joined late (issue 6, "the
 * history index"): a document of 20,500 events imported on a server of its own (server
 * checkpoints every 1,000), opened by a fresh browser. The panel loads newest first: the
 * head version is drawn, and scrubbable, while the history before it is still loading;
 * once it has all loaded, far versions show exactly the server's log replayed to them. A version
 * below the loaded base says it is loading (history requests held back between page and server)
 * and draws as soon as it has loaded.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { replay, type DocEvent } from '../shared/src/index.js';
import { editorReady, freshPage } from './helpers';
import { OwnServer, freePort, importTraceFile, removeDir, tempDataDir } from './own-server';

const N = 20_500;

/** The text the history view shows, from its test hook (windowed-view.ts): the DOM holds only a window of a long text. */
async function viewText(page: Page): Promise<string> {
  return page.getByTestId('history-view').evaluate((el) => (el as unknown as { eventide: { text(): string } }).eventide.text());
}
const DOC = `late-${Date.now().toString(36)}`;

let server: OwnServer;
let dataDir: string;
let imported: Record<string, unknown>;

/** A seeded sequential trace of N patches (typing, some deletes), one patch per transaction. */
function traceFile(dir: string): string {
  let x = 0x1a7e;
  const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const txns: { time: string; patches: [number, number, string][] }[] = [];
  let len = 0;
  let text = '';
  for (let i = 0; i < N; i++) {
    const time = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
    if (len > 5 && rnd() < 0.2) {
      const pos = Math.floor(rnd() * (len - 2));
      txns.push({ time, patches: [[pos, 1, '']] });
      text = text.slice(0, pos) + text.slice(pos + 1);
      len -= 1;
    } else {
      const pos = Math.floor(rnd() * (len + 1));
      const ins = rnd() < 0.1 ? '\n' : String.fromCharCode(97 + Math.floor(rnd() * 26));
      txns.push({ time, patches: [[pos, 0, ins]] });
      text = text.slice(0, pos) + ins + text.slice(pos);
      len += 1;
    }
  }
  const file = path.join(dir, 'trace.json');
  writeFileSync(file, JSON.stringify({ kind: 'sequential', startContent: '', endContent: text, txns }));
  return file;
}

test.beforeAll(async ({}, testInfo) => {
  testInfo.setTimeout(60_000);
  dataDir = tempDataDir('eventide-e2e-late-history-');
  const traces = path.join(dataDir, 'traces');
  mkdirSync(traces, { recursive: true });
  imported = await importTraceFile(DOC, traceFile(traces), dataDir);
  server = new OwnServer(await freePort(), dataDir);
  await server.start();
});

test.afterAll(async () => {
  await server?.stop('SIGTERM');
  if (dataDir) removeDir(dataDir);
});

test('a browser that joined a long document late can scrub the head before the older history has loaded; then every version is there (H3)', async ({ browser }) => {
  test.setTimeout(90_000);
  expect(Number(imported.events)).toBe(N);
  const link = new URL(String(imported.edit));
  const { context, page } = await freshPage(browser);
  try {
    await page.goto(`${server.url}${link.pathname}${link.hash}`);
    await editorReady(page);
    await page.getByTestId('history-toggle').click();
    // Checked every animation frame: the first frame that draws the head, and the panel's base then.
    const first = await page.waitForFunction(
      (head) => {
        const v = document.querySelector('[data-testid="history-view"]');
        const panel = document.querySelector('[data-testid="history-panel"]') as (Element & { eventide?: { base(): number } }) | null;
        if (v?.getAttribute('data-version') !== String(head) || !panel?.eventide) return false;
        // The view's own text (the DOM holds only the lines around the change of a long text).
        return { base: panel.eventide.base(), text: (v as unknown as { eventide?: { text(): string } }).eventide?.text() ?? '' };
      },
      N,
      { polling: 'raf', timeout: 30_000 },
    );
    const at = (await first.jsonValue()) as { base: number; text: string };
    expect(at.base, 'the head is drawn before the older history is in').toBeGreaterThan(0);
    expect(at.base).toBeLessThan(N);

    // The server's log, to check the view against (the probe asks the server directly).
    const events = (await page.getByTestId('history-panel').evaluate((el) => (el as unknown as { eventide: { serverEvents(): Promise<unknown[]> } }).eventide.serverEvents())) as DocEvent[];
    expect(events.length).toBe(N);
    expect(at.text, 'the head version').toBe(replay(null, events).toString());

    // Everything loads, down to version 0.
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="history-panel"]') as (Element & { eventide?: { base(): number } }) | null)?.eventide?.base() === 0,
      null,
      { timeout: 60_000, polling: 100 },
    );
    await expect(page.getByTestId('history-loading')).toHaveCount(0);
    const slider = page.getByTestId('history-slider');
    for (const v of [1, 999, 1000, 7777, 15_001, N - 1]) {
      await slider.fill(String(v));
      await expect(page.getByTestId('history-version')).toHaveAttribute('data-version', String(v));
      await expect(page.getByTestId('history-view')).toHaveAttribute('data-version', String(v));
      expect(await viewText(page), `version ${v}`).toBe(replay(null, events.slice(0, v)).toString());
    }
  } finally {
    await context.close();
  }
});

test('a version below the loaded base says it is loading (restore disabled), and draws as soon as it has loaded (H3)', async ({ browser }) => {
  test.setTimeout(90_000);
  const link = new URL(String(imported.edit));
  const { context, page } = await freshPage(browser);
  // Between the page and the server: history requests below version 19,000 are held back until
  // released, so the panel's base stays at the checkpoint near the head (20,000) meanwhile.
  const held: (() => void)[] = [];
  let hold = true;
  await page.routeWebSocket(/\/ws/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (hold && typeof m === 'string') {
        const msg = JSON.parse(m) as { type?: string; from?: number };
        if (msg.type === 'history' && (msg.from ?? 0) < 19_000) {
          held.push(() => server.send(m));
          return;
        }
      }
      server.send(m);
    });
    server.onMessage((m) => ws.send(m));
  });
  try {
    await page.goto(`${server.url}${link.pathname}${link.hash}`);
    await editorReady(page);
    await page.getByTestId('history-toggle').click();
    const view = page.getByTestId('history-view');
    await expect(view).toHaveAttribute('data-version', String(N));
    await expect(page.getByTestId('history-loading')).toContainText('Loading older history');
    const base = () => page.getByTestId('history-panel').evaluate((el) => (el as unknown as { eventide: { base(): number } }).eventide.base());
    expect(await base()).toBe(20_000);

    await page.getByTestId('history-slider').fill('5');
    await expect(page.getByTestId('history-version')).toHaveAttribute('data-version', '5');
    await expect(view).toHaveText('Loading the history before version 20000…');
    await expect(page.getByTestId('history-restore')).toBeDisabled();

    hold = false;
    for (const send of held.splice(0)) send();
    await expect(view).toHaveAttribute('data-version', '5', { timeout: 30_000 });
    const events = (await page.getByTestId('history-panel').evaluate((el) => (el as unknown as { eventide: { serverEvents(): Promise<unknown[]> } }).eventide.serverEvents())) as DocEvent[];
    expect(await viewText(page)).toBe(replay(null, events.slice(0, 5)).toString());
    await expect(page.getByTestId('history-restore')).toBeEnabled();
    expect(await base()).toBeLessThan(20_000);
  } finally {
    await context.close();
  }
});
