/**
 * A document, not a text box (issue 16): Markdown styled in the editor, the formatting
 * toolbar and keys (one undo step each), find and replace, the preview following edits,
 * the title on the page, the tab and the list, and the three downloads.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Download, type Page } from '@playwright/test';
import { caretTo, editorReady, editorText, freshPage, newDocument, openDocument, settled, twoPeople } from './helpers';

async function undoDepth(page: Page): Promise<{ undo: number; redo: number } | null> {
  return page.getByTestId('editor').evaluate((el) => {
    const p = (el as unknown as { eventide?: { undoDepth(): { undo: number; redo: number } | null } }).eventide;
    if (!p) throw new Error('the editor is not ready');
    return p.undoDepth();
  });
}

async function undoReady(page: Page): Promise<void> {
  await expect(page.getByRole('toolbar', { name: 'Undo and redo' })).toHaveAttribute('data-ready', 'true');
}

/** Runs `act` and returns the download it starts, with its contents. */
async function download(page: Page, act: () => Promise<void>): Promise<{ name: string; text: string; d: Download }> {
  const [d] = await Promise.all([page.waitForEvent('download'), act()]);
  const path = await d.path();
  return { name: d.suggestedFilename(), text: readFileSync(path, 'utf8'), d };
}

/** Each command, then the text, and the undo depth one more than before (one step). */
async function oneStep(page: Page, act: () => Promise<void>, text: string): Promise<void> {
  await settled(page);
  const before = (await undoDepth(page))!.undo;
  await act();
  await expect.poll(() => editorText(page)).toBe(text);
  await settled(page);
  await expect.poll(async () => (await undoDepth(page))!.undo).toBe(before + 1);
}

test('Markdown is styled in the editor, prose proportional and code monospace; the toolbar and keys wrap or prefix, each one undo step (C12)', async ({ page }) => {
  await newDocument(page);
  await undoReady(page);
  await caretTo(page, 'end');
  await page.keyboard.type('hello world');
  await page.keyboard.press('Shift+Control+ArrowLeft');
  await oneStep(page, () => page.keyboard.press('Control+b'), 'hello **world**');
  await oneStep(page, () => page.keyboard.press('Control+i'), 'hello **_world_**');
  // One Ctrl+Z takes back exactly one command.
  await page.keyboard.press('Control+z');
  await expect.poll(() => editorText(page)).toBe('hello **world**');
  await settled(page);
  await oneStep(page, () => page.getByTestId('format-heading').click(), '# hello **world**');
  await caretTo(page, 'end');
  await page.keyboard.type('\nan item\nsee docs');
  await page.keyboard.press('Shift+Control+ArrowLeft');
  await oneStep(page, () => page.keyboard.press('Control+k'), '# hello **world**\nan item\nsee [docs](https://)');
  // The URL placeholder is selected: typing replaces it.
  await page.keyboard.type('https://example.org');
  await page.keyboard.press('ArrowUp');
  await oneStep(page, () => page.getByTestId('format-list').click(), '# hello **world**\n- an item\nsee [docs](https://example.org)');
  await page.getByTestId('undo').click();
  await expect.poll(() => editorText(page)).toBe('# hello **world**\nan item\nsee [docs](https://example.org)');
  await page.getByTestId('redo').click();
  await expect.poll(() => editorText(page)).toBe('# hello **world**\n- an item\nsee [docs](https://example.org)');
  await caretTo(page, 'end');
  await page.keyboard.type('\nrun `npm test` now');
  await settled(page);

  // Styling: the heading is larger and bold, strong is bold, code is monospace, prose is not.
  const content = page.getByTestId('editor').locator('.cm-content');
  const prose = await content.evaluate((el) => getComputedStyle(el).fontFamily);
  expect(prose).not.toMatch(/^\s*(ui-)?monospace/i);
  const heading = page.locator('.cm-line').first().locator('span').first();
  const headSize = await heading.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  const bodySize = await content.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
  expect(headSize).toBeGreaterThan(bodySize * 1.3);
  expect(await page.locator('.cm-line span', { hasText: /^world$/ }).first().evaluate((el) => getComputedStyle(el).fontWeight)).toBe('700');
  const code = page.locator('.cm-line', { hasText: 'npm test' }).locator('span', { hasText: 'npm test' }).first();
  expect(await code.evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/monospace/);
});

test('find and replace: Ctrl+F opens the search panel, replace all changes every match in one undo step (C12)', async ({ page }) => {
  await newDocument(page);
  await undoReady(page);
  await caretTo(page, 'end');
  await page.keyboard.type('cat and cat and dog');
  await settled(page);
  await page.keyboard.press('Control+f');
  const find = page.locator('.cm-search input[name=search]');
  await expect(find).toBeFocused();
  await find.fill('cat');
  await page.locator('.cm-search input[name=replace]').fill('bird');
  await oneStep(page, () => page.locator('.cm-search button[name=replaceAll]').click(), 'bird and bird and dog');
  await page.getByTestId('undo').click();
  await expect.poll(() => editorText(page)).toBe('cat and cat and dog');
  // The toolbar's button opens the same panel.
  await page.keyboard.press('Escape');
  await expect(page.locator('.cm-search')).toHaveCount(0);
  await page.getByTestId('find-open').click();
  await expect(page.locator('.cm-search')).toHaveCount(1);
});

test('the preview renders the Markdown and follows edits; the title is on the page, the tab and the list; the downloads hold the text (C13, C14, C15)', async ({ page }) => {
  const url = await newDocument(page);
  await expect(page.getByTestId('doc-title')).toHaveText('Untitled');
  await caretTo(page, 'end');
  await page.keyboard.type('intro\n# Plans for *May*\n\nSome **bold** text.\n\n> quoted\n\n```\ncode block\n```\n');
  await settled(page);
  await expect(page.getByTestId('doc-title')).toHaveText('Plans for *May*');
  await expect(page).toHaveTitle('Plans for *May* · Eventide');

  await expect(page.getByTestId('preview')).toHaveCount(0);
  await page.getByTestId('preview-toggle').click();
  const preview = page.getByTestId('preview');
  await expect(preview.locator('h1')).toHaveText('Plans for May');
  await expect(preview.locator('h1 em')).toHaveText('May');
  await expect(preview.locator('strong')).toHaveText('bold');
  await expect(preview.locator('blockquote')).toHaveText('quoted');
  await expect(preview.locator('pre code')).toHaveText('code block\n');
  // Beside the source on a wide screen.
  const src = await page.getByTestId('editor').boundingBox();
  const pre = await preview.boundingBox();
  expect(pre!.x).toBeGreaterThan(src!.x + src!.width - 1);
  // Following edits.
  await caretTo(page, 'end');
  await page.keyboard.type('- one\n- two');
  await expect(preview.locator('li')).toHaveText(['one', 'two']);

  const text = await editorText(page);
  const md = await download(page, () => page.getByTestId('export-md').click());
  expect(md.name).toBe('Plans-for-May.md');
  expect(md.text).toBe(text);
  const txt = await download(page, () => page.getByTestId('export-txt').click());
  expect(txt.name).toBe('Plans-for-May.txt');
  expect(txt.text).toBe(text);
  const html = await download(page, () => page.getByTestId('export-html').click());
  expect(html.name).toBe('Plans-for-May.html');
  expect(html.text).toMatch(/^<!doctype html>/);
  expect(html.text).toContain('<title>Plans for *May*</title>');
  expect(html.text).toContain('<strong>bold</strong>');
  expect(html.text).toContain("default-src 'none'");

  // The list on `/` shows the title.
  await settled(page);
  await page.goto('/');
  await expect(page.getByTestId('document-item').filter({ hasText: 'Plans for *May*' })).toHaveCount(1);
  await expect(page).toHaveTitle('Eventide');
  await page.goto(url);
  await editorReady(page);
});

test('the list on / filters by title and removes a document from this browser only; one with unsent edits is kept (C16)', async ({ browser }) => {
  const { context, page } = await freshPage(browser);
  const titles = ['Alpha plans', 'Beta notes', 'Gamma alpha'];
  const urls: string[] = [];
  for (const t of titles) {
    urls.push(await newDocument(page));
    await caretTo(page, 'end');
    await page.keyboard.type(`# ${t}\nbody`);
    await settled(page);
  }
  // To the list the way a person goes there, the app's own link: a full navigation right after
  // the last ack can cut off the write that trims the stored outbox (then the list rightly refuses
  // to remove a copy it still holds unconfirmed edits of; issue 16 note).
  await page.getByRole('link', { name: 'Eventide' }).click();
  const items = page.getByTestId('document-item');
  await expect(items).toHaveCount(3);
  await page.getByTestId('document-filter').fill('ALPHA');
  await expect(items).toHaveCount(2);
  await expect(items.filter({ hasText: 'Beta notes' })).toHaveCount(0);
  await page.getByTestId('document-filter').fill('');
  await expect(items).toHaveCount(3);

  // Remove "Beta notes": gone from the list, also after a reload; still on the server for its link.
  await items.filter({ hasText: 'Beta notes' }).getByTestId('document-remove').click();
  await items.filter({ hasText: 'Beta notes' }).getByTestId('document-remove-confirm').click();
  await expect(items).toHaveCount(2);
  await page.reload();
  await expect(items).toHaveCount(2);
  const other = await freshPage(browser);
  await openDocument(other.page, urls[1]);
  await expect.poll(() => editorText(other.page)).toBe('# Beta notes\nbody');
  await other.context.close();

  // A copy with unsent edits is not removed.
  await openDocument(page, urls[0]);
  await context.setOffline(true);
  await caretTo(page, 'end');
  await page.keyboard.type(' offline');
  await expect(page.getByTestId('sync-status')).toHaveAttribute('data-pending', /[1-9]/);
  await page.getByRole('link', { name: 'Eventide' }).click();
  await items.filter({ hasText: 'Alpha plans' }).getByTestId('document-remove').click();
  await items.filter({ hasText: 'Alpha plans' }).getByTestId('document-remove-confirm').click();
  await expect(page.getByTestId('document-list-problem')).toContainText('not confirmed');
  await expect(items).toHaveCount(2);
  await context.setOffline(false);
  await context.close();
});

test('printing prints just the document: the preview when open, else the text; no controls (C15)', async ({ page }) => {
  await newDocument(page);
  await caretTo(page, 'end');
  await page.keyboard.type('# Printed\n\nbody text');
  await settled(page);
  await page.emulateMedia({ media: 'print' });
  for (const hidden of ['.app-header', '.document-meta', '.document-actions', '.editor-toolbar', '.history-section']) {
    await expect(page.locator(hidden).first(), hidden).toBeHidden();
  }
  await expect(page.getByTestId('editor')).toBeVisible();
  await expect(page.getByTestId('doc-title')).toBeVisible();
  await page.emulateMedia({ media: 'screen' });
  await page.getByTestId('preview-toggle').click();
  await page.emulateMedia({ media: 'print' });
  await expect(page.getByTestId('preview').locator('h1')).toBeVisible();
  await expect(page.getByTestId('editor')).toBeHidden();
  const pdf = await page.pdf({ format: 'A4' });
  expect(pdf.byteLength).toBeGreaterThan(1000);
});

test('the preview follows another person’s edits live, and the title too (C13, C14)', async ({ browser }) => {
  const { a, b } = await twoPeople(browser, { write: 'intro' });
  await a.page.getByTestId('preview-toggle').click();
  await expect(a.page.getByTestId('preview').locator('p')).toHaveText('intro');
  await caretTo(b.page, 'start');
  await b.page.keyboard.type('# From B\n');
  await expect(a.page.getByTestId('preview').locator('h1')).toHaveText('From B');
  await expect(a.page.getByTestId('doc-title')).toHaveText('From B');
  await expect(a.page).toHaveTitle('From B · Eventide');
  for (const p of [a, b]) await p.context.close();
});
