/**
 * The document page as a page (issue 16): the history panel beside the document on wide
 * screens, with a bounded view scrolled to and marking the viewed version's change; a
 * 390×844 phone with no horizontal scrolling; the system's dark mode; keyboard reach; no
 * serious or critical axe violation on home, a document and the open history panel; and
 * screenshots of each (.scratch/screens, not committed) to look at.
 */
import { mkdirSync } from 'node:fs';
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { caretTo, editorText, freshPage, newDocument, openDocument, settled } from './helpers';

// Not committed (.gitignore), and not under test-results/, which each Playwright run empties.
const SCREENS = '.scratch/screens';

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENS, { recursive: true });
  await page.screenshot({ path: `${SCREENS}/${name}.png`, fullPage: false });
}

/** Serious and critical axe violations, as "rule: target" lines. */
async function axe(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).analyze();
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

async function noHorizontalScroll(page: Page): Promise<void> {
  const w = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  expect(w.scroll, 'page wider than the screen').toBeLessThanOrEqual(w.client);
}

const LINES = Array.from({ length: 80 }, (_, i) => `Line ${i + 1} of a long document, long enough to wrap on a phone screen.`).join('\n');

test('history beside the document on a wide screen: bounded, scrolled to and marking each version’s change (C17)', async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 800 });
  await newDocument(page);
  await caretTo(page, 'end');
  await page.keyboard.insertText(LINES); // one event: version 1
  await settled(page);
  await caretTo(page, 'end');
  await page.keyboard.type('!'); // version 2, at the end
  await settled(page);
  await caretTo(page, 'start');
  await page.keyboard.type('#'); // version 3, at the start
  await settled(page);
  await page.getByTestId('history-toggle').click();
  const panel = page.getByTestId('history-panel');
  const view = page.getByTestId('history-view');
  await expect(view).toHaveAttribute('data-version', '3');
  const ed = (await page.getByTestId('editor').boundingBox())!;
  const pb = (await panel.boundingBox())!;
  expect(pb.x, 'the panel is beside the editor').toBeGreaterThanOrEqual(ed.x + ed.width);
  expect(pb.y).toBeLessThan(ed.y + ed.height);
  const vb = (await view.boundingBox())!;
  expect(vb.height).toBeLessThanOrEqual(800 * 0.6 + 2);
  // Version 3 changed line 1: marked, and in view.
  const marked = view.locator('.history-changed');
  await expect(marked).toHaveCount(1);
  await expect(marked).toHaveText(/^#Line 1 of/);
  // Version 2 changed the last line: marked and scrolled to.
  await page.getByTestId('history-slider').focus();
  await page.keyboard.press('ArrowLeft');
  await expect(view).toHaveAttribute('data-version', '2');
  await expect(marked).toHaveText(/^Line 80 of .*!$/);
  const inView = async () =>
    marked.evaluate((el) => {
      const v = el.parentElement!.getBoundingClientRect();
      const r = el.getBoundingClientRect();
      return r.top >= v.top - 1 && r.bottom <= v.bottom + 1;
    });
  expect(await inView()).toBe(true);
  expect(await view.evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
  // The page itself did not grow with the document.
  expect(await page.evaluate(() => document.documentElement.scrollHeight)).toBeLessThan(3000);
  await shot(page, 'history-1280');
  expect(await axe(page)).toEqual([]);
});

test('home, a document with two people, the preview and the history at 1280×800 and 390×844: no horizontal scroll, no serious axe violation, dark mode, keyboard reach (C17)', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  const url = await newDocument(a.page);
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('# Trip notes\n\nWe leave on **Monday**; bring `maps`.\n\n- tent\n- stove\n\n> pack light\n');
  await settled(a.page);
  await openDocument(b.page, url);
  await caretTo(b.page, 'end');
  await b.page.keyboard.type('Added by B.');
  await settled(b.page);
  await expect.poll(() => editorText(a.page)).toContain('Added by B.');

  for (const [w, h] of [
    [1280, 800],
    [390, 844],
  ] as const) {
    const page = a.page;
    await page.setViewportSize({ width: w, height: h });
    await page.goto('/');
    await expect(page.getByTestId('document-item')).toHaveCount(1);
    await noHorizontalScroll(page);
    expect(await axe(page), `home ${w}`).toEqual([]);
    await shot(page, `home-${w}`);
    await openDocument(page, url);
    await expect(page.getByTestId('presence-user')).toHaveCount(1); // B is here
    await noHorizontalScroll(page);
    expect(await axe(page), `document ${w}`).toEqual([]);
    await shot(page, `document-${w}`);
    await page.getByTestId('preview-toggle').click();
    await expect(page.getByTestId('preview').locator('h1')).toHaveText('Trip notes');
    await noHorizontalScroll(page);
    await page.getByTestId('preview').scrollIntoViewIfNeeded();
    await shot(page, `preview-${w}`);
    await page.getByTestId('preview-toggle').click();
    await page.getByTestId('history-toggle').click();
    await expect(page.getByTestId('history-view')).toHaveAttribute('data-version', /\d+/);
    await noHorizontalScroll(page);
    expect(await axe(page), `history ${w}`).toEqual([]);
    await page.getByTestId('history-panel').scrollIntoViewIfNeeded();
    await shot(page, `history-${w}`);
  }

  // Dark mode follows the system.
  await a.page.setViewportSize({ width: 1280, height: 800 });
  await a.page.emulateMedia({ colorScheme: 'dark' });
  await openDocument(a.page, url);
  const bg = await a.page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  const [r, g, bl] = bg.match(/\d+/g)!.map(Number);
  expect(r + g + bl, `dark background, got ${bg}`).toBeLessThan(150);
  expect(await axe(a.page), 'document dark').toEqual([]);
  await shot(a.page, 'document-dark-1280');

  // Keyboard reach: Tab from the top reaches the toolbar, the editor and the preview toggle.
  await a.page.emulateMedia({ colorScheme: 'light' });
  const reached = new Set<string>();
  await openDocument(a.page, url);
  await a.page.locator('body').focus();
  for (let i = 0; i < 80; i++) {
    await a.page.keyboard.press('Tab');
    const id = await a.page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return el?.dataset.testid ?? (el?.classList.contains('cm-content') ? 'editor-content' : '');
    });
    if (id) reached.add(id);
  }
  for (const id of ['user-name', 'share-edit-link', 'rotate-links', 'preview-toggle', 'export-md', 'undo', 'format-bold', 'find-open', 'editor-content', 'history-toggle']) {
    expect([...reached], `Tab reaches ${id}`).toContain(id);
  }
  for (const p of [a, b]) await p.context.close();
});
