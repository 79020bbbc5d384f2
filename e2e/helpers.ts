import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

/** What the editor shows, read through the test hook on the editor element (Editor.tsx). */
export async function editorText(page: Page): Promise<string> {
  return page.getByTestId('editor').evaluate((el) => {
    const probe = (el as unknown as { eventide?: { text(): string } }).eventide;
    if (!probe) throw new Error('the editor is not ready');
    return probe.text();
  });
}

/** Waits until the document page shows an editor. */
export async function editorReady(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid="editor"]') as unknown as { eventide?: unknown } | null;
    return !!el?.eventide;
  });
}

/** Waits until everything typed is acknowledged and the connection is up. */
export async function settled(page: Page): Promise<void> {
  const status = page.getByTestId('sync-status');
  await expect(status).toHaveAttribute('data-state', 'online');
  await expect(status).toHaveAttribute('data-pending', '0');
}

/** Waits until all pages are settled and show the same text; returns it. */
export async function converged(pages: Page[], timeoutMs = 20_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let texts: string[] = [];
  for (;;) {
    for (const p of pages) await settled(p);
    texts = await Promise.all(pages.map(editorText));
    if (texts.every((t) => t === texts[0])) return texts[0];
    if (Date.now() > end) break;
    await pages[0].waitForTimeout(100);
  }
  expect(texts, 'texts should be identical').toEqual(texts.map(() => texts[0]));
  return texts[0];
}

/** Opens a new document from the home page; returns its URL. */
export async function newDocument(page: Page): Promise<string> {
  await page.goto('/');
  await page.getByTestId('new-doc').click();
  // The page's URL is the edit link: /d/<docId>#edit=<token>.
  await expect(page).toHaveURL(/\/d\/[A-Za-z0-9_-]+#edit=[A-Za-z0-9_-]{22,}$/);
  await editorReady(page);
  return page.url();
}

export async function openDocument(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await editorReady(page);
}

/** A page in a fresh context (another browser, as far as the app can tell). */
export async function freshPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  return { context, page };
}

/** Focuses the editor and moves the caret to the start or the end of the document. */
export async function caretTo(page: Page, where: 'start' | 'end'): Promise<void> {
  await page.getByTestId('editor').locator('.cm-content').focus();
  await page.keyboard.press(where === 'start' ? 'Control+Home' : 'Control+End');
}

export function count(haystack: string, needle: string): number {
  let n = 0;
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + needle.length)) n++;
  return n;
}

/** The characters of a string, sorted: two texts made of the same keystrokes compare equal. */
export function multiset(s: string): string {
  return [...s].sort().join('');
}

/** Waits until the service worker controls the page: from then on a reload works offline. */
export async function offlineReady(page: Page): Promise<void> {
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

/** A browser of its own: its context and one page. */
export interface Person {
  readonly context: BrowserContext;
  readonly page: Page;
}

/** How `twoPeople` starts the shared document. */
export interface TwoPeopleOptions {
  /** What A writes at the end of the new document before B opens it: text to type, or steps of its own. */
  readonly write: string | ((page: Page) => Promise<void>);
  /** Wait until the service worker controls A's page first (tests that reload offline). */
  readonly offlineReady?: boolean;
  /** Runs on A's context before A opens anything (an init script, say). */
  readonly prepareA?: (context: BrowserContext) => Promise<unknown>;
}

/**
 * The start most two-person tests share: A, in a fresh browser, creates a document,
 * writes at its end and waits until the server has it all; then B, in another fresh
 * browser, opens the document by its link.
 */
export async function twoPeople(browser: Browser, opts: TwoPeopleOptions): Promise<{ a: Person; b: Person; url: string }> {
  const a = await freshPage(browser);
  if (opts.prepareA) await opts.prepareA(a.context);
  const b = await freshPage(browser);
  const url = await newDocument(a.page);
  if (opts.offlineReady) await offlineReady(a.page);
  await caretTo(a.page, 'end');
  if (typeof opts.write === 'string') await a.page.keyboard.type(opts.write);
  else await opts.write(a.page);
  await settled(a.page);
  await openDocument(b.page, url);
  return { a, b, url };
}
