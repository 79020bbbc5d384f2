/**
 * The history panel in Chromium against the real server (issue 6, docs/spec.md T1):
 * every version on the slider shows exactly the server's log replayed to it, coloured by
 * its authors; restore appends one event by the restorer and both browsers get the text;
 * undo takes the restore back; live edits do not move the view; a browser that joins late
 * gets the history from the server.
 */
import { expect, test, type Page } from '@playwright/test';
import { replay, type DocEvent } from '../shared/src/index.js';
import { caretTo, converged, editorText, freshPage, newDocument, openDocument, settled, twoPeople } from './helpers';
import { docIdOf, serverLog, sharedDataDir } from './server-log';

const view = (page: Page) => page.getByTestId('history-view');
const slider = (page: Page) => page.getByTestId('history-slider');

async function openHistory(page: Page, head: number): Promise<void> {
  await page.getByTestId('history-toggle').click();
  await expect(slider(page)).toHaveAttribute('max', String(head));
  await expect(page.getByTestId('history-version')).toHaveAttribute('data-version', String(head));
}

/** The view's runs as [author, text], merged (what the colouring says). */
async function viewRuns(page: Page): Promise<[string, string][]> {
  return view(page).evaluate((el) => {
    const out: [string, string][] = [];
    for (const span of el.querySelectorAll<HTMLElement>('.history-run')) {
      const a = span.dataset.author ?? '?';
      const last = out[out.length - 1];
      if (last && last[0] === a) last[1] += span.textContent ?? '';
      else out.push([a, span.textContent ?? '']);
    }
    return out;
  });
}

/** [author, text] runs of the log replayed to v. */
function truthRuns(events: readonly DocEvent[], v: number): [string, string][] {
  const rope = replay(null, events.slice(0, v));
  const text = rope.toString();
  const out: [string, string][] = [];
  let off = 0;
  for (const r of rope.authorship()) {
    out.push([r.author, text.slice(off, off + r.length)]);
    off += r.length;
  }
  return out;
}

/** Moves the slider to v with the keyboard (Home, then one ArrowRight per event). */
async function sliderTo(page: Page, v: number): Promise<void> {
  await slider(page).focus();
  await page.keyboard.press('Home');
  for (let i = 0; i < v; i++) await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('history-version')).toHaveAttribute('data-version', String(v));
  // The view draws on the next animation frame.
  await expect(view(page)).toHaveAttribute('data-version', String(v));
}

async function name(page: Page): Promise<string> {
  return (await page.getByTestId('user-name').innerText()).trim();
}

/** The author this page's events carry: its name and the browser's id (identity.ts). */
async function author(page: Page): Promise<string> {
  const uid = await page.evaluate(() => localStorage.getItem('eventide.uid'));
  return `${await name(page)} #${uid}`;
}

test('after two authors, the slider shows every version exactly as the server log replays it; restore reaches both browsers as one event; undo takes it back (T1, H4)', async ({ browser }) => {
  const { a, b, url } = await twoPeople(browser, { write: 'Hello world\n' });
  await caretTo(b.page, 'end');
  await b.page.keyboard.type('from B, café 😀');
  await converged([a.page, b.page]);
  await caretTo(a.page, 'start');
  await a.page.keyboard.press('Delete');
  await a.page.keyboard.type('J');
  await caretTo(b.page, 'end');
  await b.page.keyboard.press('Backspace');
  await b.page.keyboard.press('Backspace');
  await b.page.keyboard.type('!');
  const finalText = await converged([a.page, b.page]);

  const docId = docIdOf(url);
  const log = serverLog(sharedDataDir(), docId);
  const head = log.length;
  expect(replay(null, log).toString()).toBe(finalText);
  const [nameA, nameB] = [await author(a.page), await author(b.page)];
  expect(new Set(log.map((e) => e.author))).toEqual(new Set([nameA, nameB]));

  await openHistory(a.page, head);
  // Every version, stepping back from the head with the arrow keys, then forward again from 0.
  await slider(a.page).focus();
  for (let v = head; v >= 0; v--) {
    const want = replay(null, log.slice(0, v)).toString();
    await expect(a.page.getByTestId('history-version')).toHaveAttribute('data-version', String(v));
    await expect(view(a.page)).toHaveAttribute('data-version', String(v));
    expect(await view(a.page).textContent(), `text at version ${v}`).toBe(want);
    expect(await viewRuns(a.page), `authors at version ${v}`).toEqual(truthRuns(log, v));
    if (v > 0) {
      const e = log[v - 1];
      await expect(a.page.getByTestId('history-version')).toHaveAttribute('data-author', e.author);
      await expect(a.page.getByTestId('history-version')).toHaveAttribute('data-time', String(e.time));
      await a.page.keyboard.press('ArrowLeft');
    }
  }
  for (let v = 0; v <= head; v++) {
    await expect(view(a.page)).toHaveAttribute('data-version', String(v));
    expect(await view(a.page).textContent(), `text at version ${v} (forward)`).toBe(replay(null, log.slice(0, v)).toString());
    if (v < head) await a.page.keyboard.press('ArrowRight');
  }
  // Far jumps: End and Home.
  await a.page.keyboard.press('Home');
  await expect(view(a.page)).toHaveText('');
  await a.page.keyboard.press('End');
  await expect(view(a.page)).toHaveAttribute('data-version', String(head));
  expect(await view(a.page).textContent()).toBe(finalText);

  // Live edits while the panel is open: the head moves, the view does not.
  const m = log.findIndex((e) => e.author === nameB) + 3; // a few events into B's typing
  const atM = replay(null, log.slice(0, m)).toString();
  await sliderTo(a.page, m);
  expect(await view(a.page).textContent()).toBe(atM);
  await caretTo(b.page, 'end');
  await b.page.keyboard.type(' live');
  await settled(b.page);
  await expect(slider(a.page)).toHaveAttribute('max', String(head + 5));
  await expect(a.page.getByTestId('history-version')).toHaveAttribute('data-version', String(m));
  expect(await view(a.page).textContent()).toBe(atM);
  const beforeRestore = await converged([a.page, b.page]);

  // Restore version m: both browsers show it, and the log gains exactly one restore event by A.
  await a.page.getByTestId('history-restore').click();
  await expect.poll(() => editorText(a.page)).toBe(atM);
  expect(await converged([a.page, b.page])).toBe(atM);
  const after = serverLog(sharedDataDir(), docId);
  expect(after.length).toBe(head + 5 + 1);
  const restore = after[after.length - 1];
  expect(restore.kind).toBe('restore');
  expect(restore.author).toBe(nameA);
  expect(restore.meta?.version).toBe(m);
  expect(restore.meta?.step).toBe(`${restore.id.clientSeq}@${restore.id.client}`);
  // The history before it is kept: the view at m is unchanged, the new head is the restore.
  await expect(slider(a.page)).toHaveAttribute('max', String(head + 6));
  expect(await view(a.page).textContent()).toBe(atM);

  // Undo (A's undo button) takes the restore back, in both browsers.
  await expect(a.page.getByTestId('undo')).toBeEnabled();
  await a.page.getByTestId('undo').click();
  await expect.poll(() => editorText(a.page)).toBe(beforeRestore);
  expect(await converged([a.page, b.page])).toBe(beforeRestore);
  for (const ctx of [a, b]) await ctx.context.close();
});

test('a browser that joins late loads the history from the server; naming, revert of a past step, compare and the audit list work on it (H4, H6)', async ({ browser }) => {
  const a = await freshPage(browser);
  const url = await newDocument(a.page);
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('one two three');
  await settled(a.page);
  await a.page.waitForTimeout(700); // a pause: the next typing is a new undo step
  await caretTo(a.page, 'start');
  await a.page.keyboard.type('zero ');
  const text = await converged([a.page]);
  expect(text).toBe('zero one two three');
  const docId = docIdOf(url);
  const log = serverLog(sharedDataDir(), docId);

  // A fresh browser: nothing of this document on the device.
  const c = await freshPage(browser);
  await openDocument(c.page, url);
  await settled(c.page);
  await openHistory(c.page, log.length);
  for (const v of [log.length, 0, 5, log.length - 2, 1]) {
    await sliderTo(c.page, v);
    expect(await view(c.page).textContent(), `late joiner, version ${v}`).toBe(replay(null, log.slice(0, v)).toString());
  }

  // Name version 5 (a label event); its mark appears on the track in both browsers.
  await sliderTo(c.page, 5);
  await c.page.getByTestId('history-label-input').fill('first word');
  await c.page.getByTestId('history-label').click();
  await expect(c.page.getByTestId('history-label-mark')).toHaveText('first word');
  await a.page.getByTestId('history-toggle').click();
  await expect(a.page.getByTestId('history-label-mark')).toHaveText('first word');
  await a.page.getByTestId('history-label-mark').click();
  await expect(a.page.getByTestId('history-version')).toHaveAttribute('data-version', '5');
  await expect(view(a.page)).toHaveAttribute('data-version', '5');
  expect(await view(a.page).textContent()).toBe('one t');
  const labelled = serverLog(sharedDataDir(), docId);
  expect(labelled.length).toBe(log.length + 1);
  expect(labelled[labelled.length - 1].op).toEqual([]);
  expect(labelled[labelled.length - 1].meta?.label).toBe('first word');
  expect(labelled[labelled.length - 1].meta?.version).toBe(5);
  expect(await editorText(c.page)).toBe(text); // a label changes no text

  // C reverts A's first step ("one two three") from the panel: a selective undo by C.
  await sliderTo(c.page, 3);
  await c.page.getByTestId('history-revert-step').click();
  await expect.poll(() => editorText(c.page)).toBe('zero ');
  expect(await converged([a.page, c.page])).toBe('zero ');
  const reverted = serverLog(sharedDataDir(), docId);
  const rev = reverted[reverted.length - 1];
  expect(rev.kind).toBe('restore');
  expect(rev.author).toBe(await author(c.page));
  expect(rev.meta?.reverts).toBe(`${log[0].id.clientSeq}@${log[0].id.client}`);

  // Compare version 0 with the head: the text with A's insertions and C's deletions marked.
  await c.page.getByTestId('history-slider').focus();
  await c.page.keyboard.press('End');
  await c.page.getByTestId('history-tab-compare').click();
  await c.page.getByTestId('history-compare-other').fill('13');
  const compare = c.page.getByTestId('history-compare');
  await expect(compare.locator('del')).toHaveText(['one two three']);
  await expect(compare.locator('ins')).toHaveText(['zero ']);

  // The audit list: newest first, filterable by author.
  await c.page.getByTestId('history-tab-audit').click();
  await expect(c.page.getByTestId('history-audit-row').first()).toHaveAttribute('data-seq', String(reverted.length));
  await c.page.getByTestId('history-audit-author').selectOption(await author(c.page));
  await expect(c.page.getByTestId('history-audit-row')).toHaveCount(2); // the label and the revert
  for (const ctx of [a, c]) await ctx.context.close();
});

test('a view link shows the history but offers no restore, revert or naming; play replays it to the head (A10)', async ({ browser }) => {
  const a = await freshPage(browser);
  await newDocument(a.page);
  await caretTo(a.page, 'end');
  await a.page.keyboard.type('read me');
  await settled(a.page);
  const viewLink = await a.page.getByTestId('share-view-link').inputValue();
  const v = await freshPage(browser);
  await openDocument(v.page, viewLink);
  await settled(v.page);
  await openHistory(v.page, 7);
  await sliderTo(v.page, 4);
  expect(await view(v.page).textContent()).toBe('read');
  await expect(v.page.getByTestId('history-restore')).toHaveCount(0);
  await expect(v.page.getByTestId('history-revert-step')).toHaveCount(0);
  await expect(v.page.getByTestId('history-label')).toHaveCount(0);
  // Play from the start replays the document's life up to the head.
  await v.page.getByTestId('history-speed').selectOption('100');
  await sliderTo(v.page, 0);
  await v.page.getByTestId('history-play').click();
  await expect(v.page.getByTestId('history-version')).toHaveAttribute('data-version', '7');
  await expect(view(v.page)).toHaveAttribute('data-version', '7');
  expect(await view(v.page).textContent()).toBe('read me');
  await expect(v.page.getByTestId('history-play')).toHaveText('Play');
  for (const ctx of [a, v]) await ctx.context.close();
});
