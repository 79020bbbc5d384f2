/**
 * Replacing a document's links in the browser (issue 16, spec A12): an editor replaces
 * them; the sessions open with the old edit and view links are closed with a message that
 * says so; the old links show nothing in a fresh browser; the new links work.
 */
import { expect, test } from '@playwright/test';
import { caretTo, converged, editorReady, editorText, freshPage, newDocument, openDocument, settled } from './helpers';

test('rotate-links: old edit and view sessions are closed with a message, the old tokens open nothing in a fresh browser, the new links work (A12)', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  const c = await freshPage(browser);
  const oldEdit = await newDocument(a.page);
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('before');
  await settled(a.page);
  const oldView = await a.page.getByTestId('share-view-link').inputValue();
  await openDocument(b.page, oldEdit);
  await openDocument(c.page, oldView);
  await expect.poll(() => editorText(c.page)).toBe('before');

  // A view link cannot replace the links.
  await expect(c.page.getByTestId('rotate-links')).toHaveCount(0);

  await a.page.getByTestId('rotate-links').click();
  await a.page.getByTestId('rotate-links-confirm').click();
  // A moves to the new edit link and keeps editing.
  await expect(a.page).not.toHaveURL(oldEdit);
  await expect(a.page).toHaveURL(/#edit=[A-Za-z0-9_-]{32}$/);
  await editorReady(a.page);
  const newEdit = a.page.url();
  const newView = await a.page.getByTestId('share-view-link').inputValue();
  expect(newView).not.toBe(oldView);

  // B and C are closed at once, with the message.
  for (const p of [b.page, c.page]) {
    await expect(p.getByTestId('fatal')).toHaveAttribute('data-code', 'links-replaced');
    await expect(p.getByTestId('fatal')).toContainText('links were replaced');
    await expect(p.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
  }

  // The old links in a fresh browser: nothing of the document.
  for (const link of [oldEdit, oldView]) {
    const f = await freshPage(browser);
    await f.page.goto(link);
    await expect(f.page.getByTestId('no-access')).toBeVisible();
    await expect(f.page.getByTestId('editor')).toHaveCount(0);
    await f.context.close();
  }

  // The new links work: a fresh editor and a fresh viewer follow A's edits.
  await caretTo(a.page, 'end');
  await a.page.keyboard.type(' after');
  await settled(a.page);
  const d = await freshPage(browser);
  const e = await freshPage(browser);
  await openDocument(d.page, newEdit);
  await openDocument(e.page, newView);
  await caretTo(d.page, 'end');
  await d.page.keyboard.type('!');
  expect(await converged([a.page, d.page])).toBe('before after!');
  await expect.poll(() => editorText(e.page)).toBe('before after!');
  await expect(e.page.getByTestId('read-only')).toBeVisible();
  for (const p of [a, b, c, d, e]) await p.context.close();
});
