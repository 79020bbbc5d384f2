import { expect, test } from '@playwright/test';
import { caretTo, converged, count, editorText, freshPage, multiset, newDocument, openDocument, settled, twoPeople } from './helpers';

test('two people typing at the same spot and at different spots end byte-identical, as a fresh reader loads it (L4)', async ({ browser }) => {
  const { a, b, url } = await twoPeople(browser, { write: 'Shared line: café\n' });
  expect(await converged([a.page, b.page])).toBe('Shared line: café\n');

  // The same spot, at the same time.
  await caretTo(a.page, 'start');
  await caretTo(b.page, 'start');
  const aSame = 'aaaa AAAA ';
  const bSame = 'bbbb BBBB ';
  await Promise.all([a.page.keyboard.type(aSame, { delay: 15 }), b.page.keyboard.type(bSame, { delay: 15 })]);
  let text = await converged([a.page, b.page]);
  expect(multiset(text)).toBe(multiset('Shared line: café\n' + aSame + bSame));

  // Different spots, at the same time, with a character outside the BMP.
  await caretTo(a.page, 'end');
  await caretTo(b.page, 'start');
  await Promise.all([
    (async () => {
      await a.page.keyboard.type('tail from A', { delay: 10 });
      await a.page.keyboard.insertText(' 😀');
    })(),
    b.page.keyboard.type('HEAD from B ', { delay: 10 }),
  ]);
  text = await converged([a.page, b.page]);
  expect(text.startsWith('HEAD from B ')).toBe(true);
  expect(text.endsWith('tail from A 😀')).toBe(true);
  expect(count(text, 'café')).toBe(1);

  // A third browser loads exactly the same text.
  const c = await freshPage(browser);
  await openDocument(c.page, url);
  await settled(c.page);
  expect(await editorText(c.page)).toBe(text);

  // Carets of the others, by name.
  await expect(c.page.getByTestId('remote-caret')).toHaveCount(2);
  for (const who of [a, b]) {
    const name = (await who.page.getByTestId('user-name').innerText()).trim();
    await expect(c.page.getByTestId('remote-caret').filter({ hasText: name })).toHaveCount(1);
  }
  for (const ctx of [a, b, c]) await ctx.context.close();
});

test('two tabs of one document in one browser converge without duplicates (C1)', async ({ browser }) => {
  const { context, page: tab1 } = await freshPage(browser);
  const url = await newDocument(tab1);
  const tab2 = await context.newPage();
  await openDocument(tab2, url);
  await settled(tab1);
  await settled(tab2);
  await caretTo(tab1, 'end');
  await caretTo(tab2, 'end');
  await Promise.all([tab1.keyboard.type('first tab. ', { delay: 10 }), tab2.keyboard.type('second tab. ', { delay: 10 })]);
  // Both tabs' words must have reached tab1 before it goes to the start: otherwise "start" is
  // the start of its own words only, and the other tab's words, typed at the same spot (an
  // empty document's start) and sequenced later, rightly go before '[top] ' (the tie-break).
  await converged([tab1, tab2]);
  await caretTo(tab1, 'start');
  await tab1.keyboard.type('[top] ');
  const text = await converged([tab1, tab2]);
  expect(multiset(text)).toBe(multiset('first tab. second tab. [top] '));
  expect(text.startsWith('[top] ')).toBe(true);
  // Reloading one tab restores the same text and adds nothing.
  await tab2.reload();
  await openDocument(tab2, url);
  expect(await converged([tab1, tab2])).toBe(text);
  const other = await freshPage(browser);
  await openDocument(other.page, url);
  await settled(other.page);
  expect(await editorText(other.page)).toBe(text);
  // The home page lists the document by its first line.
  await tab1.goto('/');
  await expect(tab1.getByTestId('document-item').first()).toContainText(text.split('\n')[0].trim().slice(0, 20));
  await context.close();
  await other.context.close();
});
