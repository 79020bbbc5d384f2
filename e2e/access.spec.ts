/**
 * Access control in the browser (issue 7, docs/spec.md S1): the edit and view links on the
 * page, a view link that shows the text live and cannot change it (no typing, no undo or
 * restore), a document URL without its token (or with a wrong one) that shows nothing of
 * the document, the list at `/` holding only documents this browser has links for, and a
 * strict Content-Security-Policy under which the app (CodeMirror included) runs with no
 * violation.
 */
import { expect, test, type Page } from '@playwright/test';
import { editorReady, editorText, freshPage, newDocument, offlineReady, settled } from './helpers';

/** Records CSP violations and console errors that mention the policy. */
function watchCsp(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  void page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Refused to: CSP violation ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return violations;
}

test('new-doc: the URL is the edit link; the page shows the edit and view links; the app runs under the CSP (A11)', async ({ page }) => {
  const violations = watchCsp(page);
  const res = await page.request.get('/');
  const csp = res.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  // Scripts: only the app's own files, no inline script, no eval (styles need inline: CodeMirror).
  expect(/script-src 'self'(;|$)/.test(csp)).toBe(true);
  expect(csp).not.toContain('unsafe-eval');
  expect(res.headers()['x-frame-options']).toBe('DENY');
  expect(res.headers()['x-content-type-options']).toBe('nosniff');

  const url = await newDocument(page);
  expect(url).toMatch(/\/d\/[A-Za-z0-9_-]+#edit=[A-Za-z0-9_-]{32}$/);
  await expect(page.getByTestId('share-edit-link')).toHaveValue(url);
  const view = await page.getByTestId('share-view-link').inputValue();
  expect(view).toMatch(/\/d\/[A-Za-z0-9_-]+#view=[A-Za-z0-9_-]{32}$/);
  expect(new URL(view).pathname).toBe(new URL(url).pathname);
  await page.getByTestId('editor').locator('.cm-content').focus();
  await page.keyboard.type('under-the-policy');
  await settled(page);
  expect(await editorText(page)).toBe('under-the-policy');
  // CodeMirror's styles are in force (its theme sets the editor's display to flex).
  expect(await page.locator('.cm-editor').evaluate((el) => getComputedStyle(el).display)).toBe('flex');
  expect(violations).toEqual([]);
});

test('a view link shows the text, follows edits live, and cannot change it (A10, A6)', async ({ page, browser }) => {
  const url = await newDocument(page);
  await page.getByTestId('editor').locator('.cm-content').focus();
  await page.keyboard.type('read-me');
  await settled(page);
  const view = await page.getByTestId('share-view-link').inputValue();

  const v = await freshPage(browser);
  const violations = watchCsp(v.page);
  try {
    await v.page.goto(view);
    await editorReady(v.page);
    await expect.poll(() => editorText(v.page)).toBe('read-me');
    await expect(v.page.getByTestId('read-only')).toBeVisible();
    // A viewer has no edit link to hand out, and no write controls.
    await expect(v.page.getByTestId('share-edit-link')).toHaveCount(0);
    await expect(v.page.getByTestId('share-view-link')).toHaveValue(view);
    await expect(v.page.getByTestId('undo')).toHaveCount(0);
    await expect(v.page.getByTestId('redo')).toHaveCount(0);
    await expect(v.page.getByTestId('history-restore')).toHaveCount(0);
    // The history panel works for a viewer, without restore.
    await v.page.getByTestId('history-toggle').click();
    await expect(v.page.getByTestId('history-slider')).toBeVisible();
    await expect(v.page.getByTestId('history-restore')).toHaveCount(0);
    await v.page.getByTestId('history-toggle').click();

    // Typing, pasting and undo keys change nothing, here or on the server.
    const content = v.page.getByTestId('editor').locator('.cm-content');
    await expect(content).toHaveAttribute('contenteditable', 'false');
    await content.click();
    await v.page.keyboard.type('vandal');
    await v.page.keyboard.press('Backspace');
    await v.page.keyboard.press('Control+z');
    await v.page.waitForTimeout(300);
    expect(await editorText(v.page)).toBe('read-me');
    await expect(v.page.getByTestId('sync-status')).toHaveAttribute('data-pending', '0');

    // The editor's own edits still reach the viewer.
    await page.getByTestId('editor').locator('.cm-content').focus();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(',please');
    await settled(page);
    await expect.poll(() => editorText(v.page)).toBe('read-me,please');
    expect(await editorText(page)).toBe('read-me,please');

    // The viewer's list holds the document (it holds a link for it), opened read-only again.
    await v.page.goto('/');
    await expect(v.page.getByTestId('document-item')).toHaveCount(1);
    await v.page.getByTestId('document-item').locator('a').click();
    await editorReady(v.page);
    await expect(v.page.getByTestId('read-only')).toBeVisible();
    expect(v.page.url()).toBe(view);
    expect(violations).toEqual([]);
  } finally {
    await v.context.close();
  }
  expect(new URL(url).hash).toMatch(/^#edit=/);
});

test('a document URL without its token, or with a wrong one, shows nothing of the document (A9)', async ({ page, browser }) => {
  const url = await newDocument(page);
  await page.getByTestId('editor').locator('.cm-content').focus();
  await page.keyboard.type('secret-text');
  await settled(page);
  const bare = url.split('#')[0];

  const o = await freshPage(browser);
  try {
    // No token.
    await o.page.goto(bare);
    await expect(o.page.getByTestId('no-access')).toBeVisible();
    await expect(o.page.getByTestId('editor')).toHaveCount(0);
    await o.page.waitForTimeout(500);
    expect(await o.page.locator('body').innerText()).not.toContain('secret');

    // A well-formed token that is not this document's (edit and view).
    for (const role of ['edit', 'view']) {
      await o.page.goto(`${bare}#${role}=${'A'.repeat(32)}`);
      await expect(o.page.getByTestId('no-access')).toBeVisible();
      await expect(o.page.getByTestId('editor')).toHaveCount(0);
      expect(await o.page.locator('body').innerText()).not.toContain('secret');
    }

    // Nothing of it in this browser's list.
    await o.page.goto('/');
    await expect(o.page.getByTestId('document-list')).toBeVisible();
    await expect(o.page.getByTestId('document-item')).toHaveCount(0);
  } finally {
    await o.context.close();
  }

  // The creator's own browser, without the token in the URL: nothing either.
  await page.goto(bare);
  await expect(page.getByTestId('no-access')).toBeVisible();
  await expect(page.getByTestId('editor')).toHaveCount(0);
  expect(await page.locator('body').innerText()).not.toContain('secret');
  // …and its list opens the document with its link.
  await page.goto('/');
  await page.getByTestId('document-item').first().locator('a').click();
  await editorReady(page);
  expect(page.url()).toBe(url);
  await expect.poll(() => editorText(page)).toBe('secret-text');
});

test('a document created offline is registered by its first hello; its links work once online (A7)', async ({ browser }) => {
  const a = await freshPage(browser);
  const v = await freshPage(browser);
  try {
    // Load the app online once (the service worker takes over), then create and type offline.
    await a.page.goto('/');
    await offlineReady(a.page);
    await a.context.setOffline(true);
    await a.page.getByTestId('new-doc').click();
    await editorReady(a.page);
    expect(a.page.url()).toMatch(/#edit=/);
    await a.page.getByTestId('editor').locator('.cm-content').focus();
    await a.page.keyboard.type('made-offline');
    await expect(a.page.getByTestId('sync-status')).toHaveAttribute('data-state', 'offline');
    const view = await a.page.getByTestId('share-view-link').inputValue();
    await a.context.setOffline(false);
    await settled(a.page);

    await v.page.goto(view);
    await editorReady(v.page);
    await expect.poll(() => editorText(v.page)).toBe('made-offline');
    await expect(v.page.getByTestId('read-only')).toBeVisible();
  } finally {
    await a.context.close();
    await v.context.close();
  }
});
