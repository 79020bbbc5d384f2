import { expect, test, type Page } from '@playwright/test';
import { caretTo, converged, count, editorReady, editorText, freshPage } from './helpers';
import { OwnServer, freePort, removeDir, tempDataDir } from './own-server';

// The server goes away while two people edit and comes back on the same data and port. This
// test runs its own server (the config's webServer is shared by every test and must stay up).

/** Waits for a sync-status state; reconnects back off up to 10 s × jitter, so the wait is long. */
async function state(page: Page, s: 'online' | 'offline', timeout = 30_000): Promise<void> {
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', s, { timeout });
}

async function settledLong(page: Page): Promise<void> {
  await state(page, 'online');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
}

for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
  test(`server restart (${signal}) while two people edit: offline, keep typing, reconnect, converge, nothing lost or doubled (P8, O2)`, async ({ browser }, testInfo) => {
    const port = await freePort();
    const dataDir = tempDataDir('eventide-e2e-restart-');
    const server = new OwnServer(port, dataDir);
    const a = await freshPage(browser);
    const b = await freshPage(browser);
    try {
      await server.start();
      // A creates the document on this server; its URL is the edit link B opens.
      await a.page.goto(`${server.url}/`);
      await a.page.getByTestId('new-doc').click();
      await editorReady(a.page);
      const url = a.page.url();
      await caretTo(a.page, 'end');
      await a.page.keyboard.type('alpha-1 ');
      await settledLong(a.page);
      await b.page.goto(url);
      await editorReady(b.page);
      await settledLong(b.page);
      await caretTo(b.page, 'start');
      await b.page.keyboard.type('bravo-1 ');
      expect(await converged([a.page, b.page])).toBe('bravo-1 alpha-1 ');

      // The server dies while A is typing: some of alpha-2 may be in flight, acknowledged or not.
      await caretTo(a.page, 'end');
      const t0 = Date.now();
      await Promise.all([
        a.page.keyboard.type('alpha-2 ', { delay: 40 }),
        (async () => {
          await a.page.waitForTimeout(150);
          await server.stop(signal);
        })(),
      ]);
      await state(a.page, 'offline');
      await state(b.page, 'offline');

      // Both keep editing with no server.
      await caretTo(a.page, 'end');
      await a.page.keyboard.type('alpha-3 ');
      await caretTo(b.page, 'start');
      await b.page.keyboard.type('bravo-3 ');
      await expect(b.page.getByTestId('sync-status')).toHaveAttribute('data-pending', String('bravo-3 '.length));
      const pendingA = Number(await a.page.getByTestId('sync-status').getAttribute('data-pending'));
      expect(pendingA).toBeGreaterThanOrEqual('alpha-3 '.length);
      expect(pendingA).toBeLessThanOrEqual('alpha-2 alpha-3 '.length);
      await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
      expect(await editorText(a.page)).toBe('bravo-1 alpha-1 alpha-2 alpha-3 ');
      // B saw whatever part of alpha-2 the server relayed before it went.
      const textB = await editorText(b.page);
      expect(textB.startsWith('bravo-3 bravo-1 alpha-1 '), textB).toBe(true);
      expect('alpha-2 '.startsWith(textB.slice('bravo-3 bravo-1 alpha-1 '.length)), textB).toBe(true);

      // Back on the same data directory and port.
      await server.start();
      const t1 = Date.now();
      await settledLong(a.page);
      await settledLong(b.page);
      const reconnectMs = Date.now() - t1;
      let text = await converged([a.page, b.page]);
      expect(text).toBe('bravo-3 bravo-1 alpha-1 alpha-2 alpha-3 ');

      // And editing goes on as usual.
      await caretTo(a.page, 'end');
      await a.page.keyboard.type('alpha-4');
      await caretTo(b.page, 'start');
      await b.page.keyboard.type('bravo-4 ');
      text = await converged([a.page, b.page]);
      expect(text).toBe('bravo-4 bravo-3 bravo-1 alpha-1 alpha-2 alpha-3 alpha-4');
      for (const word of ['alpha-1', 'alpha-2', 'alpha-3', 'alpha-4', 'bravo-1', 'bravo-3', 'bravo-4']) expect(count(text, word), word).toBe(1);

      // A newcomer loads exactly that from the restarted server.
      const c = await freshPage(browser);
      await c.page.goto(url);
      await editorReady(c.page);
      await settledLong(c.page);
      expect(await editorText(c.page)).toBe(text);
      await c.context.close();

      const figures = { test: 'server-restart', signal, killToHealthyAgainMs: t1 - t0, bothOnlineAfterRestartMs: reconnectMs };
      console.log(JSON.stringify(figures));
      await testInfo.attach('server-restart.json', { body: JSON.stringify(figures), contentType: 'application/json' });
    } catch (e) {
      await testInfo.attach('server.log', { body: server.log, contentType: 'text/plain' });
      throw e;
    } finally {
      await a.context.close();
      await b.context.close();
      await server.stop('SIGTERM');
      removeDir(dataDir);
    }
  });
}
