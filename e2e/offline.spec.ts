import { expect, test } from '@playwright/test';
import { caretTo, converged, count, editorReady, editorText, freshPage, newDocument, openDocument, settled, twoPeople } from './helpers';

test('offline: type, reload from the service worker, type more, come back: everything arrives exactly once (O1, O2, C8)', async ({ browser }) => {
  // The service worker must control the page before the network goes.
  const { a, b, url } = await twoPeople(browser, { write: 'online-1 ', offlineReady: true });
  await settled(b.page);

  await a.context.setOffline(true);
  const status = a.page.getByTestId('sync-status');
  await expect(status).toHaveAttribute('data-state', 'offline');
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('offline-2 ');
  await expect(status).toHaveAttribute('data-pending', '10');
  // Meanwhile the other person keeps working.
  await caretTo(b.page, 'start');
  await b.page.keyboard.type('other-3 ');
  await settled(b.page);

  // Reload with no network: the shell comes from the service worker, the text from IndexedDB.
  await a.page.reload();
  await editorReady(a.page);
  await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
  expect(await editorText(a.page)).toBe('online-1 offline-2 ');
  await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-pending', '10');
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('offline-4');
  await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-pending', '19');
  expect(await editorText(b.page)).toBe('other-3 online-1 ');

  await a.context.setOffline(false);
  const text = await converged([a.page, b.page]);
  for (const word of ['online-1', 'offline-2', 'other-3', 'offline-4']) expect(count(text, word), word).toBe(1);
  expect(text).toBe('other-3 online-1 offline-2 offline-4');

  const c = await freshPage(browser);
  await openDocument(c.page, url);
  await settled(c.page);
  expect(await editorText(c.page)).toBe(text);
  for (const ctx of [a, b, c]) await ctx.context.close();
});

test('a reload right after typing loses nothing, and what was typed reaches the server once (O1, C2)', async ({ browser }) => {
  const a = await freshPage(browser);
  const url = await newDocument(a.page);
  let expected = '';
  for (let i = 0; i < 6; i++) {
    // Online and offline alike: the reload comes before any write could have finished.
    if (i === 3) await a.context.setOffline(true);
    await caretTo(a.page, 'end');
    const word = `w${i} `;
    await a.page.keyboard.type(word);
    expected += word;
    await a.page.reload();
    await editorReady(a.page);
    expect(await editorText(a.page)).toBe(expected);
  }
  await a.context.setOffline(false);
  await settled(a.page);
  const b = await freshPage(browser);
  await openDocument(b.page, url);
  await settled(b.page);
  expect(await editorText(b.page)).toBe(expected);
  for (const ctx of [a, b]) await ctx.context.close();
});
