import { expect, test, type Page } from '@playwright/test';
import { caretTo, converged, editorReady, editorText, freshPage, newDocument, openDocument, settled, twoPeople } from './helpers';

/** Reads through the editor's test hook (Editor.tsx). */
async function probe<T>(page: Page, f: string): Promise<T> {
  return page.getByTestId('editor').evaluate((el, name) => {
    const p = (el as unknown as { eventide?: Record<string, () => unknown> }).eventide;
    if (!p) throw new Error('the editor is not ready');
    return p[name]() as T;
  }, f);
}

/** Waits until the stored history is folded (the undo bar is ready). */
async function undoReady(page: Page): Promise<void> {
  await expect(page.getByRole('toolbar', { name: 'Undo and redo' })).toHaveAttribute('data-ready', 'true');
}

const focusEditor = (page: Page) => page.getByTestId('editor').locator('.cm-content').focus();

/** Waits until `page` shows `text` (undo may fetch history first), then until every page agrees. */
async function shows(page: Page, pages: Page[], text: string): Promise<void> {
  await expect.poll(() => editorText(page)).toBe(text);
  expect(await converged(pages)).toBe(text);
}

test('undo takes back only my word, on both screens; after a reload redo puts it back (U1, U2)', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  const url = await newDocument(a.page);
  await undoReady(a.page);
  await expect(a.page.getByTestId('undo')).toBeDisabled();
  await expect(a.page.getByTestId('redo')).toBeDisabled();

  await caretTo(a.page, 'end');
  await a.page.keyboard.type('alpha ');
  await settled(a.page);
  await expect(a.page.getByTestId('undo')).toBeEnabled();
  await openDocument(b.page, url);
  await caretTo(b.page, 'end');
  await b.page.keyboard.type('beta');
  expect(await converged([a.page, b.page])).toBe('alpha beta');
  // B has nothing of A's to undo.
  await undoReady(b.page);
  expect(await probe(b.page, 'undoDepth')).toEqual({ undo: 1, redo: 0 });

  await focusEditor(a.page);
  await a.page.keyboard.press('Control+z');
  await shows(a.page, [a.page, b.page], 'beta');
  expect(await probe(a.page, 'caret')).toBe(0); // where the word was
  await expect(a.page.getByTestId('undo')).toBeDisabled();
  await expect(a.page.getByTestId('redo')).toBeEnabled();

  // The stacks come from the log: after a reload the redo is still there.
  await a.page.reload();
  await editorReady(a.page);
  await undoReady(a.page);
  await expect(a.page.getByTestId('redo')).toBeEnabled();
  await focusEditor(a.page);
  await a.page.keyboard.press('Control+Shift+z');
  await shows(a.page, [a.page, b.page], 'alpha beta');
  expect(await probe(a.page, 'caret')).toBe('alpha '.length);

  // The buttons do the same as the keys; Ctrl+Y redoes.
  await a.page.getByTestId('undo').click();
  await shows(a.page, [a.page, b.page], 'beta');
  await focusEditor(a.page);
  await a.page.keyboard.press('Control+y');
  await shows(a.page, [a.page, b.page], 'alpha beta');
  // B's undo takes back B's word only.
  await focusEditor(b.page);
  await b.page.keyboard.press('Control+z');
  await shows(b.page, [a.page, b.page], 'alpha ');
  for (const ctx of [a, b]) await ctx.context.close();
});

test('undo offline, reload from the service worker, undo again, go online: both converge and the log holds each event once (O1, O2, U2)', async ({ browser }) => {
  const { a, b, url } = await twoPeople(browser, {
    offlineReady: true,
    write: async (page) => {
      await page.keyboard.type('one ');
      // A caret jump (there and back): the next typing is a new undo step.
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('End');
      await page.keyboard.type('two ');
    },
  });
  expect(await converged([a.page, b.page])).toBe('one two ');

  await a.context.setOffline(true);
  const status = a.page.getByTestId('sync-status');
  await expect(status).toHaveAttribute('data-state', 'offline');
  await undoReady(a.page);
  await focusEditor(a.page);
  await a.page.keyboard.press('Control+z');
  await expect.poll(() => editorText(a.page)).toBe('one ');
  await expect(status).toHaveAttribute('data-pending', '1');
  // Meanwhile the other person types.
  await caretTo(b.page, 'start');
  await b.page.keyboard.type('bee ');
  await settled(b.page);

  // Reload with no network: shell from the service worker, text and stacks from IndexedDB.
  await a.page.reload();
  await editorReady(a.page);
  await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
  expect(await editorText(a.page)).toBe('one ');
  await undoReady(a.page);
  await expect(a.page.getByTestId('undo')).toBeEnabled();
  await expect(a.page.getByTestId('redo')).toBeEnabled();
  await focusEditor(a.page);
  await a.page.keyboard.press('Control+z');
  await expect.poll(() => editorText(a.page)).toBe('');
  await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-pending', '2');
  await expect(a.page.getByTestId('undo')).toBeDisabled();

  await a.context.setOffline(false);
  expect(await converged([a.page, b.page])).toBe('bee ');

  // The server's log: every event once, A's two undos among them.
  const log = await probe<{ id: string; kind: string; author: string }[]>(a.page, 'serverLog');
  expect(new Set(log.map((e) => e.id)).size).toBe(log.length);
  expect(log.filter((e) => e.kind === 'undo').length).toBe(2);
  expect(log.length).toBe(4 + 4 + 4 + 2); // 'one ', 'two ', 'bee ', two undos

  // A fresh reader sees the same.
  const c = await freshPage(browser);
  await openDocument(c.page, url);
  await settled(c.page);
  expect(await editorText(c.page)).toBe('bee ');
  for (const ctx of [a, b, c]) await ctx.context.close();
});

test('undo steps in the browser: a pause splits typing, a paste is a step of its own, a caret jump starts a new step (U4)', async ({ browser }) => {
  const a = await freshPage(browser);
  await a.context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await newDocument(a.page);
  await undoReady(a.page);
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('abc');
  await a.page.waitForTimeout(700); // more than 500 ms: the next keystroke starts a step
  await a.page.keyboard.type('def');
  await a.page.keyboard.press('Control+z');
  await expect.poll(() => editorText(a.page)).toBe('abc');
  await a.page.keyboard.press('Control+Shift+z');
  await expect.poll(() => editorText(a.page)).toBe('abcdef');

  // A paste, then typing right after it: two steps.
  await a.page.evaluate(() => navigator.clipboard.writeText('PASTE'));
  await caretTo(a.page, 'end');
  await a.page.keyboard.press('Control+v');
  await expect.poll(() => editorText(a.page)).toBe('abcdefPASTE');
  await a.page.keyboard.type('x');
  await a.page.keyboard.press('Control+z');
  await expect.poll(() => editorText(a.page)).toBe('abcdefPASTE');
  await a.page.keyboard.press('Control+z');
  await expect.poll(() => editorText(a.page)).toBe('abcdef');

  // Typing, a caret jump (Home), typing again at once: two steps.
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('12');
  await a.page.keyboard.press('Home'); // the caret jumps
  await a.page.keyboard.type('<');
  expect(await editorText(a.page)).toBe('<abcdef12');
  await a.page.keyboard.press('Control+z');
  await expect.poll(() => editorText(a.page)).toBe('abcdef12');
  await a.page.keyboard.press('Control+z');
  await expect.poll(() => editorText(a.page)).toBe('abcdef');
  await settled(a.page);
  // Steps abc, def left; the redo stack holds 12 and < (the new typing cleared x and PASTE).
  expect(await probe(a.page, 'undoDepth')).toEqual({ undo: 2, redo: 2 });
  await a.context.close();
});
