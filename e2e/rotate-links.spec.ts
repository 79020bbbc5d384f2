/**
 * Replacing a document's links in the browser (issue 16, spec A12): an editor replaces
 * them; the sessions open with the old edit and view links are closed with a message that
 * says so; the old links show nothing in a fresh browser; the new links work.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { caretTo, converged, editorReady, editorText, freshPage, newDocument, openDocument, settled } from './helpers';

/** Clicks the stranded notice's download and returns the file's name and text. */
async function strandedDownload(page: Page): Promise<{ name: string; text: string }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId('stranded-download').click()]);
  return { name: d.suggestedFilename(), text: readFileSync(await d.path(), 'utf8') };
}

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

test('edits stranded by replaced links: the page says how many were not sent and offers the text; the new link opened in that browser sends them (C21)', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  const c = await freshPage(browser);
  await c.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const oldEdit = await newDocument(a.page);
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('# Shared\nbody');
  await settled(a.page);
  await openDocument(b.page, oldEdit);
  await openDocument(c.page, oldEdit);
  for (const p of [b.page, c.page]) await expect.poll(() => editorText(p)).toBe('# Shared\nbody');

  // B is offline, with edits not sent, when A replaces the links.
  await b.context.setOffline(true);
  await expect(b.page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
  await caretTo(b.page, 'end');
  await b.page.keyboard.type(' from B');
  const bPending = Number(await b.page.getByTestId('sync-status').getAttribute('data-pending'));
  expect(bPending).toBeGreaterThan(0);

  // Nothing is stranded in an open session that had sent everything: no notice.
  await a.page.getByTestId('rotate-links').click();
  await a.page.getByTestId('rotate-links-confirm').click();
  await expect(a.page).not.toHaveURL(oldEdit);
  await editorReady(a.page);
  const newEdit = a.page.url();
  await expect(c.page.getByTestId('fatal')).toHaveAttribute('data-code', 'links-replaced');
  await expect(c.page.getByTestId('stranded')).toHaveCount(0);

  // C goes on typing in the closed page: those edits cannot be sent with the old link, and the page says so, with the count.
  await caretTo(c.page, 'start');
  await c.page.keyboard.type('C: ');
  const cPending = Number(await c.page.getByTestId('sync-status').getAttribute('data-pending'));
  expect(cPending).toBeGreaterThan(0);
  await expect(c.page.getByTestId('stranded')).toHaveAttribute('data-pending', String(cPending));
  await expect(c.page.getByTestId('stranded')).toContainText(`${cPending} edits made in this browser were not sent`);
  const cFile = await strandedDownload(c.page);
  expect(cFile).toEqual({ name: 'C-Shared.md', text: 'C: # Shared\nbody' });
  await c.page.getByTestId('stranded-copy').click();
  await expect(c.page.getByTestId('stranded')).toContainText('Copied.');
  expect(await c.page.evaluate(() => navigator.clipboard.readText())).toBe('C: # Shared\nbody');

  // B comes back with the old link: refused, nothing of the document shown, but its unsent edits are offered.
  await b.context.setOffline(false);
  await expect(b.page.getByTestId('no-access')).toBeVisible();
  await expect(b.page.getByTestId('editor')).toHaveCount(0);
  await expect(b.page.getByTestId('stranded')).toHaveAttribute('data-pending', String(bPending));
  expect((await strandedDownload(b.page)).text).toBe('# Shared\nbody from B');

  // Each opens the new link in the same tab: the stranded edits are sent, once, and everyone converges.
  for (const p of [b.page, c.page]) {
    await p.goto(newEdit);
    await editorReady(p);
    await settled(p);
    await expect(p.getByTestId('stranded')).toHaveCount(0);
  }
  expect(await converged([a.page, b.page, c.page])).toBe('C: # Shared\nbody from B');
  for (const p of [a, b, c]) await p.context.close();
});
