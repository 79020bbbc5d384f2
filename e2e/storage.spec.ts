import { expect, test, type Page } from '@playwright/test';
import { caretTo, converged, editorReady, editorText, freshPage, newDocument, openDocument, settled, twoPeople } from './helpers';
import { docIdOf, expectLogOnce, serverLog, sharedDataDir } from './server-log';

// Storage failures in a real Chromium: IndexedDB full, blocked, or missing. In each case the
// page says so (storage-error), typing goes on, the text reaches another browser through the
// server, and the server's log holds each event once.
//
// How each failure is made:
//   - blocked: real. Another tab of the same browser holds a connection to the app's database
//     and asks to delete it; the deletion waits for that connection, and the app's open waits
//     behind the deletion until its timeout.
//   - unavailable: window.indexedDB removed by an init script (a private mode without storage).
//   - quota: NOT a real full disk. The DevTools protocol's Storage.overrideQuotaForOrigin was
//     tried first: in this Chromium (156, headless, Playwright contexts and a persistent
//     profile alike) it is accepted but changes neither navigator.storage.estimate() nor any
//     write. So an init script makes IDBObjectStore put/add, on a switch, abort their
//     transaction and throw QuotaExceededError, the error a full origin gives: everything
//     above IndexedDB (idb, the store, the persister, the page) is the real code.

const storageError = (page: Page) => page.getByTestId('storage-error');

/** Installed before any page script: a switch that makes writes fail as a full disk does. */
function quotaSwitch() {
  const w = window as unknown as { __failQuota: boolean };
  w.__failQuota = false;
  for (const name of ['put', 'add'] as const) {
    const original = IDBObjectStore.prototype[name];
    IDBObjectStore.prototype[name] = function (this: IDBObjectStore, ...args: [unknown, IDBValidKey?]) {
      if (w.__failQuota && this.transaction.mode !== 'readonly') {
        try {
          this.transaction.abort(); // a quota failure aborts the whole transaction
        } catch {
          /* already finishing */
        }
        throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      }
      return original.apply(this, args);
    } as typeof original;
  }
}

test('IndexedDB full: the page says so, edits keep syncing, and are stored again once there is room (C4)', async ({ browser }) => {
  const { a, b, url } = await twoPeople(browser, { write: 'before-full ', offlineReady: true, prepareA: (context) => context.addInitScript(quotaSwitch) });
  try {
    await settled(b.page);
    await expect(storageError(a.page)).toHaveCount(0);

    await a.page.evaluate(() => ((window as unknown as { __failQuota: boolean }).__failQuota = true));
    await caretTo(a.page, 'end');
    await a.page.keyboard.type('while-full ');
    await expect(storageError(a.page)).toBeVisible();
    await expect(storageError(a.page)).toHaveAttribute('data-code', 'quota');
    await expect(storageError(a.page)).toContainText('storage is full');
    // Typing still works, and the edits go to the server even though this device cannot keep them.
    await a.page.keyboard.type('more ');
    expect(await converged([a.page, b.page])).toBe('before-full while-full more ');
    await expect(storageError(a.page)).toBeVisible();
    // This device does not hold those edits: leaving the page now asks first (dismissed: it stays).
    let dialog = '';
    a.page.once('dialog', (d) => {
      dialog = d.type();
      void d.dismiss();
    });
    await a.page.evaluate(() => setTimeout(() => location.reload(), 0));
    await expect.poll(() => dialog).toBe('beforeunload');
    expect(await editorText(a.page)).toBe('before-full while-full more ');

    // Room again: the next retry stores everything and the message goes.
    await a.page.evaluate(() => ((window as unknown as { __failQuota: boolean }).__failQuota = false));
    await expect(storageError(a.page)).toHaveCount(0, { timeout: 20_000 });
    // What was typed while full is on this device now: it loads offline.
    await a.context.setOffline(true);
    await a.page.reload();
    await editorReady(a.page);
    expect(await editorText(a.page)).toBe('before-full while-full more ');
    await a.context.setOffline(false);
    await settled(a.page);

    const text = await converged([a.page, b.page]);
    expectLogOnce(serverLog(sharedDataDir(), docIdOf(url)), text);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('IndexedDB blocked by another tab: the page says so, typing works and reaches the others once (C4)', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  try {
    // Another tab of this browser holds the database and asks to delete it: the deletion waits
    // for its own connection (it ignores versionchange), and every later open waits behind it.
    const holder = await a.context.newPage();
    await holder.goto('/healthz');
    const blocked = await holder.evaluate(
      () =>
        new Promise<boolean>((resolve, reject) => {
          const open = indexedDB.open('eventide');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            (window as unknown as { held: IDBDatabase }).held = open.result;
            const del = indexedDB.deleteDatabase('eventide');
            del.onblocked = () => resolve(true);
            del.onsuccess = () => resolve(false);
          };
        }),
    );
    expect(blocked, 'the deletion is blocked by the holding tab').toBe(true);

    const url = await newDocument(a.page);
    await expect(storageError(a.page)).toBeVisible();
    await expect(storageError(a.page)).toHaveAttribute('data-code', 'blocked');
    await expect(storageError(a.page)).toContainText('another tab');
    await caretTo(a.page, 'end');
    await a.page.keyboard.type('blocked but sent ');
    await settled(a.page);
    await openDocument(b.page, url);
    await caretTo(b.page, 'end');
    await b.page.keyboard.type('reply');
    const text = await converged([a.page, b.page]);
    expect(text).toBe('blocked but sent reply');
    expectLogOnce(serverLog(sharedDataDir(), docIdOf(url)), text);
    await holder.evaluate(() => (window as unknown as { held: IDBDatabase }).held.close());
  } finally {
    await a.context.close();
    await b.context.close();
  }
});

test('IndexedDB unavailable: the page says so, edits stay in memory offline and arrive once when back (C4, O2)', async ({ browser }) => {
  const a = await freshPage(browser);
  await a.context.addInitScript(() => {
    Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
  });
  const b = await freshPage(browser);
  try {
    const url = await newDocument(a.page);
    await expect(storageError(a.page)).toBeVisible();
    await expect(storageError(a.page)).toHaveAttribute('data-code', 'unavailable');
    await caretTo(a.page, 'end');
    await a.page.keyboard.type('no storage ');
    await settled(a.page);
    await openDocument(b.page, url);
    await settled(b.page);

    // Offline: the edits live only in this tab's memory; the page says so and keeps them.
    await a.context.setOffline(true);
    await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
    await caretTo(a.page, 'end');
    await a.page.keyboard.type('offline');
    await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-pending', '7');
    await expect(storageError(a.page)).toContainText('only in this tab');
    await a.context.setOffline(false);
    const text = await converged([a.page, b.page]);
    expect(text).toBe('no storage offline');
    expectLogOnce(serverLog(sharedDataDir(), docIdOf(url)), text);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});
