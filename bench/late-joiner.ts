/**
 * The late joiner alone (issue 13): automerge-paper imported on a server of our own, then
 * `browsers` fresh Chromium contexts one after another, each opening the document and the
 * history panel until the whole history is loaded (base 0). Unlike bench/slider.ts there is
 * no drag, so a run costs a few seconds of CPU on a shared machine, and the WebSocket frames
 * are logged: how many history requests the walk made, and how long the slowest answer took.
 *
 *   node --import tsx bench/late-joiner.ts [browsers=3]      prints one JSON line per browser
 *   LJ_TRACE=1 …                                             and each history request's send and receipt time (stderr)
 *
 * Needs the built client (npx vite build). The first browser finds the server's room cold
 * (nothing encoded or cached yet); the later ones find it as the previous one left it (a room
 * nobody is in is dropped, so usually cold again).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from '@playwright/test';
import { OwnServer, freePort, importTraceFile, removeDir, repoRoot, tempDataDir } from '../e2e/own-server.js';
import { chromiumPath } from '../tools/chromium-path.js';

export interface LateJoinerResult {
  browser: number;
  /** Click on history-toggle → head version drawn. */
  headMs: number;
  /** Click on history-toggle → base 0 (the whole history scrubbable), as Node sees it (Playwright's click included, as in bench/slider.ts). */
  loadMs: number;
  /** The same inside the page: from the click event's dispatch to the poll that saw base 0 (performance.now()). */
  inPageMs: number;
  /** History requests the walk sent, and history frames received. */
  requests: number;
  pages: number;
  /** The longest wait from a history request to its page (ms), and its range. */
  slowestMs: number;
  slowest: string;
  /** Bytes of history frames received. */
  bytes: number;
  /**
   * CPU spent from the click to base 0, which a shared machine inflates much less than wall
   * time: Chromium's renderer processes (CDP SystemInfo.getProcessInfo cpuTime, all threads)
   * and the server process (utime + stime from /proc, 10 ms ticks).
   */
  rendererCpuMs: number;
  serverCpuMs: number;
}

/** utime + stime of a process in ms (Linux), or NaN. */
function cpuOf(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

const TRACE = path.resolve(repoRoot, 'fixtures', 'traces', 'sequential', 'automerge-paper.json.gz');

export async function lateJoinerBench(browsers: number, log: (s: string) => void = () => {}): Promise<LateJoinerResult[]> {
  if (!existsSync(path.join(repoRoot, 'dist', 'client', 'index.html'))) throw new Error('dist/client is not built: run npx vite build first');
  const dataDir = tempDataDir('eventide-bench-latejoin-');
  const server = new OwnServer(await freePort(), dataDir);
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const out: LateJoinerResult[] = [];
  try {
    const doc = `late-${Date.now().toString(36)}`;
    const imported = await importTraceFile(doc, TRACE, dataDir);
    const events = Number(imported.events);
    await server.start();
    const link = new URL(String(imported.edit));
    for (let b = 1; b <= browsers; b++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      // reqId → [sent at, range]; frames are watched from Node (Playwright's websocket events).
      const asked = new Map<number, { at: number; range: string }>();
      let requests = 0;
      let pages = 0;
      let bytes = 0;
      let slowestMs = 0;
      let slowest = '';
      page.on('websocket', (ws) => {
        ws.on('framesent', (f) => {
          if (typeof f.payload !== 'string' || !f.payload.includes('"history"')) return;
          const m = JSON.parse(f.payload) as { type: string; reqId: number; from: number; to: number };
          if (m.type !== 'history') return;
          requests++;
          asked.set(m.reqId, { at: Date.now(), range: `(${m.from}, ${m.to}]` });
          if (process.env.LJ_TRACE) process.stderr.write(`sent (${m.from}, ${m.to}] at ${Date.now() % 100000}\n`);
        });
        ws.on('framereceived', (f) => {
          if (typeof f.payload === 'string' || f.payload[0] !== 0x48) return;
          pages++;
          bytes += f.payload.length;
          // The header is JSON after the kind byte and a varint length; the reqId leads it.
          const m = /"reqId":(\d+)/.exec(f.payload.subarray(0, 200).toString('latin1'));
          const a = m === null ? undefined : asked.get(Number(m[1]));
          if (process.env.LJ_TRACE) process.stderr.write(`got ${a?.range} at ${Date.now() % 100000}\n`);
          if (a !== undefined && Date.now() - a.at > slowestMs) {
            slowestMs = Date.now() - a.at;
            slowest = a.range;
          }
        });
      });
      await page.goto(`${server.url}${link.pathname}${link.hash}`);
      await page.waitForFunction(() => !!(document.querySelector('[data-testid="editor"]') as unknown as { eventide?: unknown } | null)?.eventide, null, { timeout: 60_000 });
      const sys = await browser.newBrowserCDPSession();
      const task = async () => {
        const info = (await sys.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; cpuTime: number }[] };
        return info.processInfo.filter((p) => p.type === 'renderer').reduce((a, p) => a + p.cpuTime * 1000, 0);
      };
      const pid = (server as unknown as { proc: { pid?: number } | null }).proc?.pid;
      const task0 = await task();
      const server0 = cpuOf(pid);
      // A capturing listener stamps the click as the page dispatches it (Playwright's click first
      // scrolls, waits for the element to be stable and hit-tests: 200-500 ms under load).
      await page.evaluate(`document.querySelector('[data-testid="history-toggle"]').addEventListener('click', () => { window.ljClick = performance.now(); }, true)`);
      const t0 = Date.now();
      await page.getByTestId('history-toggle').click();
      await page.waitForFunction(
        (head) => document.querySelector('[data-testid="history-view"]')?.getAttribute('data-version') === String(head),
        events,
        { timeout: 300_000, polling: 20 },
      );
      const headMs = Date.now() - t0;
      await page.waitForFunction(
        () => {
          const p = document.querySelector('[data-testid="history-panel"]') as (Element & { eventide?: { base(): number } }) | null;
          if (p?.eventide?.base() !== 0) return false;
          const w = window as unknown as { ljDone?: number };
          if (w.ljDone === undefined) w.ljDone = performance.now();
          return true;
        },
        null,
        { timeout: 300_000, polling: 20 },
      );
      const loadMs = Date.now() - t0;
      const inPageMs = Math.round(Number(await page.evaluate('window.ljDone - window.ljClick')));
      const rendererCpuMs = Math.round((await task()) - task0);
      await sys.detach();
      const serverCpuMs = cpuOf(pid) - server0;
      if (process.env.LJ_TRACE) process.stderr.write(`click at ${t0 % 100000}, base 0 at ${Date.now() % 100000}\n`);
      const r: LateJoinerResult = { browser: b, headMs, loadMs, inPageMs, requests, pages, slowestMs, slowest, bytes, rendererCpuMs, serverCpuMs };
      log(JSON.stringify(r));
      out.push(r);
      await context.close();
    }
    return out;
  } finally {
    await browser.close();
    await server.stop('SIGTERM');
    removeDir(dataDir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 3);
  for (const r of await lateJoinerBench(n)) process.stdout.write(`${JSON.stringify(r)}\n`);
}
