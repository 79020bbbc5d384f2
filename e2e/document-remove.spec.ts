/**
 * Removing a document from this browser (issue 16, spec C16, C19, C20), the cases the
 * list's first version got wrong:
 *
 *   - leaving the page by a full navigation right after an ack can cut off the IndexedDB
 *     write that trims the stored outbox; the page's unload journal has the trim, and the
 *     list applies it before judging, so it does not refuse to remove edits the server has;
 *   - a copy whose edits the server has not confirmed is still kept, in words that do not
 *     overstate ("not confirmed");
 *   - removal clears the document's history cache (IndexedDB `eventide-history`) too.
 */
import { expect, test, type Page } from '@playwright/test';
import { caretTo, freshPage, newDocument, openDocument, settled, editorText } from './helpers';

/** The keys the history cache holds for `docId`, per object store. */
async function historyCacheKeys(page: Page, docId: string): Promise<{ blocks: number; checkpoints: number } | null> {
  return page.evaluate(
    (id) =>
      new Promise<{ blocks: number; checkpoints: number } | null>((resolve) => {
        const req = indexedDB.open('eventide-history');
        req.onerror = () => resolve(null);
        req.onsuccess = () => {
          const db = req.result;
          if (!db.objectStoreNames.contains('blocks')) {
            db.close();
            return resolve({ blocks: 0, checkpoints: 0 });
          }
          const tx = db.transaction(['blocks', 'checkpoints'], 'readonly');
          const range = IDBKeyRange.bound([id, -Infinity], [id, Infinity]);
          const b = tx.objectStore('blocks').count(range);
          const c = tx.objectStore('checkpoints').count(range);
          tx.oncomplete = () => {
            db.close();
            resolve({ blocks: b.result, checkpoints: c.result });
          };
          tx.onerror = () => {
            db.close();
            resolve(null);
          };
        };
      }),
    docId,
  );
}

const docIdOf = (url: string) => new URL(url).pathname.split('/').pop()!;

test('leaving by a full page load the moment the last edit is acknowledged: the list removes the copy, it does not refuse (C19, C16)', async ({ browser }) => {
  const { context, page } = await freshPage(browser);
  try {
    // Several rounds, each leaving at the ack: the write that trims the outbox is cut off in some.
    for (let round = 0; round < 4; round++) {
      const url = await newDocument(page);
      await caretTo(page, 'end');
      await page.keyboard.type(`# Left at once ${round}\n`);
      await settled(page);
      // The moment the next edit's ack shows (data-pending back to 0), the page goes to / by a full load.
      await page.getByTestId('sync-status').evaluate((s) => {
        let sent = false;
        new MutationObserver(() => {
          const p = s.getAttribute('data-pending');
          if (p !== '0') sent = true;
          else if (sent) location.assign('/');
        }).observe(s, { attributes: true, attributeFilter: ['data-pending'] });
      });
      await page.keyboard.insertText('body text');
      await page.waitForURL((u) => u.pathname === '/');
      const items = page.getByTestId('document-item');
      const item = items.filter({ hasText: `Left at once ${round}` });
      await expect(item).toHaveCount(1);
      const before = await items.count();
      await item.getByTestId('document-remove').click();
      await item.getByTestId('document-remove-confirm').click();
      await expect(page.getByTestId('document-list-problem')).toHaveCount(0);
      await expect(items).toHaveCount(before - 1);
      // The server has every edit: a fresh browser sees them.
      const other = await freshPage(browser);
      await openDocument(other.page, url);
      await expect.poll(() => editorText(other.page)).toBe(`# Left at once ${round}\nbody text`);
      await other.context.close();
    }
  } finally {
    await context.close();
  }
});

test('a copy with edits the server has not confirmed is kept, saying so; removal clears its history cache too (C16, C20)', async ({ browser }) => {
  const { context, page } = await freshPage(browser);
  try {
    const url = await newDocument(page);
    const docId = docIdOf(url);
    await caretTo(page, 'end');
    await page.keyboard.type('# Kept offline\nfirst line\n');
    await settled(page);
    // The history panel caches the server's pages of this document's history.
    await page.getByTestId('history-toggle').click();
    await expect(page.getByTestId('history-view')).toHaveAttribute('data-version', /[1-9]/);
    await expect.poll(async () => (await historyCacheKeys(page, docId))?.blocks ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    await page.getByTestId('history-toggle').click();

    // Offline edits: not confirmed, so the copy is kept, and the list says so truthfully.
    await context.setOffline(true);
    await caretTo(page, 'end');
    await page.keyboard.type('offline');
    await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', /[1-9]/);
    await page.getByRole('link', { name: 'Eventide' }).click();
    const item = page.getByTestId('document-item').filter({ hasText: 'Kept offline' });
    await item.getByTestId('document-remove').click();
    await item.getByTestId('document-remove-confirm').click();
    await expect(page.getByTestId('document-list-problem')).toContainText('not confirmed');
    await expect(item).toHaveCount(1);
    expect((await historyCacheKeys(page, docId))!.blocks).toBeGreaterThan(0);

    // Back online, the document sends them; then it is removed, history cache and all.
    await context.setOffline(false);
    await openDocument(page, url);
    await settled(page);
    await page.getByRole('link', { name: 'Eventide' }).click();
    await item.getByTestId('document-remove').click();
    await item.getByTestId('document-remove-confirm').click();
    await expect(page.getByTestId('document-list-problem')).toHaveCount(0);
    await expect(item).toHaveCount(0);
    await expect.poll(() => historyCacheKeys(page, docId)).toEqual({ blocks: 0, checkpoints: 0 });
  } finally {
    await context.close();
  }
});
