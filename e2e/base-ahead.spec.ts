import { cpSync, readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { caretTo, editorReady, editorText, freshPage } from './helpers';
import { OwnServer, freePort, removeDir, tempDataDir } from './own-server';
import { docIdOf, expectLogOnce, serverLog } from './server-log';

// The server's log goes back in time (its data restored from an older backup): the browser's
// copy is then ahead of it, and the server refuses its hello with base-ahead. The page keeps
// the copy, offers to copy or download it, and lets the person either put their version on
// the server or take the server's. This test runs its own server, to restore its data.

async function settledLong(page: Page): Promise<void> {
  const status = page.getByTestId('sync-status');
  await expect(status).toHaveAttribute('data-state', 'online', { timeout: 30_000 });
  await expect(status).toHaveAttribute('data-pending', '0', { timeout: 30_000 });
}

async function createDocument(page: Page, origin: string, text: string): Promise<string> {
  await page.goto(`${origin}/`);
  await page.getByTestId('new-doc').click();
  await editorReady(page);
  await caretTo(page, 'end');
  await page.keyboard.type(text);
  await settledLong(page);
  return page.url();
}

test('base-ahead after the server data went back: download, put my version on the server, or take the server’s (C7, P15)', async ({ browser }) => {
  const port = await freePort();
  const dataDir = tempDataDir('eventide-e2e-base-ahead-');
  const backupDir = tempDataDir('eventide-e2e-base-ahead-backup-');
  const server = new OwnServer(port, dataDir);
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  try {
    await server.start();
    const mineUrl = await createDocument(a.page, server.url, 'kept: one two ');
    const other = await a.context.newPage();
    const theirsUrl = await createDocument(other, server.url, 'dropped: one two ');

    // A backup of the server's data now; then more is typed (and acknowledged).
    await server.stop('SIGTERM');
    cpSync(dataDir, backupDir, { recursive: true });
    await server.start();
    for (const [page, word] of [
      [a.page, 'three'],
      [other, 'three'],
    ] as const) {
      await settledLong(page);
      await caretTo(page, 'end');
      await page.keyboard.type(word);
      await settledLong(page);
    }

    // The server comes back on the older backup: both copies are ahead of its log.
    await server.stop('SIGTERM');
    removeDir(dataDir);
    cpSync(backupDir, dataDir, { recursive: true });
    await server.start();
    for (const page of [a.page, other]) {
      await expect(page.getByTestId('base-ahead')).toBeVisible({ timeout: 30_000 });
      await expect(page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
    }
    expect(await editorText(a.page)).toBe('kept: one two three');
    expect(await editorText(other)).toBe('dropped: one two three');

    // Download: the file holds exactly the local text.
    const [download] = await Promise.all([a.page.waitForEvent('download'), a.page.getByTestId('base-ahead-download').click()]);
    expect(readFileSync(await download.path(), 'utf8')).toBe('kept: one two three');

    // "Put my version on the server": the server's document becomes this text, with one edit.
    await a.page.getByTestId('base-ahead-mine').click();
    await expect(a.page.getByTestId('base-ahead')).toHaveCount(0, { timeout: 30_000 });
    await editorReady(a.page);
    await settledLong(a.page);
    expect(await editorText(a.page)).toBe('kept: one two three');
    await b.page.goto(mineUrl);
    await editorReady(b.page);
    await settledLong(b.page);
    expect(await editorText(b.page)).toBe('kept: one two three');
    const mineLog = serverLog(dataDir, docIdOf(mineUrl));
    expectLogOnce(mineLog, 'kept: one two three');
    expect(mineLog.length).toBe('kept: one two '.length + 1); // the backup's events, then one edit
    // Typing goes on normally, and a reload does not bring the refusal back.
    await caretTo(a.page, 'end');
    await a.page.keyboard.type(' four');
    await settledLong(a.page);
    await a.page.reload();
    await editorReady(a.page);
    await settledLong(a.page);
    await expect(a.page.getByTestId('base-ahead')).toHaveCount(0);
    expect(await editorText(a.page)).toBe('kept: one two three four');

    // "Use the server's version": only after a second click; the local text stays as a backup.
    await other.getByTestId('base-ahead-server').click();
    await other.getByTestId('base-ahead-server-confirm').click();
    await expect(other.getByTestId('base-ahead')).toHaveCount(0, { timeout: 30_000 });
    await editorReady(other);
    await settledLong(other);
    expect(await editorText(other)).toBe('dropped: one two ');
    const backups = await other.evaluate(
      (docId) =>
        new Promise<string[]>((resolve, reject) => {
          const open = indexedDB.open('eventide');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const req = db.transaction('settings').objectStore('settings').getAll(IDBKeyRange.bound(`backup:${docId}:`, `backup:${docId}:\uffff`));
            req.onsuccess = () => {
              db.close();
              resolve((req.result as string[]).map((v) => (JSON.parse(v) as { text: string }).text));
            };
            req.onerror = () => reject(req.error);
          };
        }),
      docIdOf(theirsUrl),
    );
    expect(backups).toEqual(['dropped: one two three']);
    expectLogOnce(serverLog(dataDir, docIdOf(theirsUrl)), 'dropped: one two ');
  } finally {
    await a.context.close();
    await b.context.close();
    await server.stop();
    removeDir(dataDir);
    removeDir(backupDir);
  }
});
