/**
 * A document whose text, title and author name are XSS payloads in every form we could
 * think of, shown everywhere the app shows a document's text (issue 16): the editor, the
 * title and tab, the preview, both downloads (the HTML one opened as a page), the history
 * view, compare and the event list. Nothing may run (no dialog, no marker set by a payload)
 * and the CSP must never have to refuse anything (no violation reported).
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { caretTo, editorText, newDocument, settled } from './helpers';

/** Every payload sets `window.__xss` or opens a dialog if it runs. */
const PAYLOADS = [
  '# <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>',
  '<script>window.__xss=3</script>',
  '<img src=x onerror="window.__xss=4">',
  '<svg onload="window.__xss=5"><circle r=1 /></svg>',
  '<iframe src="javascript:parent.__xss=6"></iframe>',
  '<iframe srcdoc="<script>parent.__xss=7</script>"></iframe>',
  '[plain](javascript:window.__xss=8)',
  '[mixed case](JaVaScRiPt:window.__xss=9)',
  '[entity](jav&#x09;ascript:window.__xss=10)',
  '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
  '![image](javascript:window.__xss=11)',
  '![remote image](https://example.invalid/track.png)',
  '<a href="javascript:window.__xss=12">anchor</a>',
  '<details open ontoggle="window.__xss=13">x</details>',
  '`<img src=x onerror="window.__xss=14">`',
  '',
  '    <script>window.__xss=15</script>',
  '',
  '[ref link][r]',
  '',
  '[r]: javascript:window.__xss=16',
  '<math><mi xlink:href="javascript:window.__xss=17">m</mi></math>',
  '"><img src=x onerror="window.__xss=18">',
  "'-alert(19)-'",
  '<style>body{display:none}</style>',
  '<form action="javascript:window.__xss=20"><button>go</button></form>',
  '<object data="javascript:window.__xss=21"></object>',
  '<http://example.org/"onmouseover="window.__xss=22>',
  '<body onload="window.__xss=23">',
  '<meta http-equiv="refresh" content="0;url=javascript:window.__xss=24">',
].join('\n');

const NAME = '<img src=x onerror="window.__xss=99">';

/** Records dialogs and CSP violations; init script adds the listener on every document. */
function watch(page: Page): { dialogs: string[]; violations: string[] } {
  const w = { dialogs: [] as string[], violations: [] as string[] };
  page.on('dialog', (d) => {
    w.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) w.violations.push(m.text());
  });
  void page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Refused to: CSP violation ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return w;
}

/** Nothing a payload would leave behind: its marker, an element that can run or load something. */
async function clean(page: Page, where: string): Promise<void> {
  const found = await page.evaluate(() => ({
    marker: (window as unknown as { __xss?: unknown }).__xss ?? null,
    dangerous: [...document.querySelectorAll('script:not([src^="/"]), iframe, object, embed, svg:not([aria-hidden]), math, form[action^="javascript" i], meta[http-equiv="refresh" i]')]
      .map((e) => e.outerHTML.slice(0, 80)),
    handlers: [...document.querySelectorAll('*')].flatMap((e) => [...e.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${e.tagName} ${a.name}`)),
    jsUrls: [...document.querySelectorAll('[href], [src], [action], [data], [formaction]')]
      .flatMap((e) => ['href', 'src', 'action', 'data', 'formaction'].map((n) => e.getAttribute(n) ?? ''))
      .filter((v) => /^\s*(javascript|vbscript|data:text)/i.test(v)),
    foreignImages: [...document.querySelectorAll('img[src]')].map((e) => e.getAttribute('src') ?? '').filter((s) => /^(https?:)?\/\//i.test(s)),
  }));
  expect(found, where).toEqual({ marker: null, dangerous: [], handlers: [], jsUrls: [], foreignImages: [] });
}

test('XSS payloads as the text, the title and the author name run nowhere: editor, title, preview, downloads, history view, compare, events; no CSP violation (C14, C15, A11)', async ({ page, browser }) => {
  const w = watch(page);
  await newDocument(page);
  // The author's name is a payload too (it shows in presence, history and the event list).
  await page.getByTestId('user-name').click();
  await page.getByTestId('user-name-input').fill(NAME);
  await page.getByTestId('user-name-input').press('Enter');
  await caretTo(page, 'end');
  // Inserted at once (typed, a payload would be auto-closed by nothing, but it takes long).
  await page.keyboard.insertText(PAYLOADS);
  await settled(page);
  expect(await editorText(page)).toBe(PAYLOADS);
  await clean(page, 'editor');

  // The title is the first heading, as text.
  await expect(page.getByTestId('doc-title')).toHaveText('<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>');
  await expect(page).toHaveTitle('<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> · Eventide');

  await page.getByTestId('preview-toggle').click();
  const preview = page.getByTestId('preview');
  await expect(preview).toContainText('<script>window.__xss=3</script>');
  await expect(preview.locator('a', { hasText: 'anchor' })).toHaveCount(0); // raw HTML is text
  await expect(preview.locator('img')).toHaveCount(1); // the remote image, without its source
  await expect(preview.locator('img')).not.toHaveAttribute('src');
  await clean(page, 'preview');

  for (const f of ['md', 'txt'] as const) {
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`export-${f}`).click()]);
    expect(readFileSync(await d.path(), 'utf8')).toBe(PAYLOADS);
  }
  const [d] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-html').click()]);
  const html = readFileSync(await d.path(), 'utf8');
  expect(html).not.toMatch(/<(script|iframe|svg|object|math|form|embed|meta http-equiv="refresh")\b/i);
  expect(html).not.toMatch(/<[a-z]+\b[^<>]*\s(href|src|action|data)="\s*(javascript|data:text)/i);
  // The HTML file opened as a page: nothing runs in it either (its own CSP: no script at all).
  const opened = await browser.newPage();
  const ow = watch(opened);
  await opened.setContent(html);
  await expect(opened.locator('h1')).toContainText('<img src=x');
  await clean(opened, 'downloaded HTML page');
  expect(ow.dialogs).toEqual([]);
  expect(ow.violations).toEqual([]);
  await opened.close();

  // The history: the text view, compare and the event list.
  await page.getByTestId('history-toggle').click();
  const view = page.getByTestId('history-view');
  await expect(view).toContainText('<script>window.__xss=3</script>');
  await clean(page, 'history view');
  const [hd] = await Promise.all([page.waitForEvent('download'), page.getByTestId('history-export-html').click()]);
  expect(readFileSync(await hd.path(), 'utf8')).toBe(html);
  await page.getByTestId('history-tab-compare').click();
  await page.getByTestId('history-compare-other').fill('0');
  await expect(page.getByTestId('history-panel')).toContainText('window.__xss=3');
  await clean(page, 'compare');
  await page.getByTestId('history-tab-audit').click();
  await expect(page.getByTestId('history-audit-row').first()).toContainText('<img src=x onerror');
  await clean(page, 'event list');

  await page.waitForTimeout(300);
  expect(w.dialogs).toEqual([]);
  expect(w.violations).toEqual([]);
  expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss ?? null)).toBeNull();
});
