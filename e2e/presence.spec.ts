import { expect, test } from '@playwright/test';
import { caretTo, converged, freshPage, newDocument, openDocument, settled } from './helpers';

// Presence in real browsers: who is here, others' carets and selections with their names and
// colours, and a rename or a new colour that shows at once, without reopening anything.

test('a selection by B shows in A in B colour with B name; a rename and a new colour apply at once (P10)', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  try {
    const url = await newDocument(a.page);
    await caretTo(a.page, 'end');
    await a.page.keyboard.type('alpha bravo charlie');
    await settled(a.page);
    await openDocument(b.page, url);
    await converged([a.page, b.page]);
    const bName = (await b.page.getByTestId('user-name').innerText()).trim();
    const aName = (await a.page.getByTestId('user-name').innerText()).trim();

    // Who is here: each sees the other once, by name (and themselves as "you").
    await expect(a.page.getByTestId('presence-user')).toHaveCount(1);
    await expect(a.page.getByTestId('presence-user')).toHaveText(bName);
    await expect(b.page.getByTestId('presence-user')).toHaveText(aName);
    await expect(a.page.getByTestId('presence-self')).toContainText(`${aName} (you)`);

    // B selects "bravo" (positions 6..11).
    await caretTo(b.page, 'start');
    for (let i = 0; i < 6; i++) await b.page.keyboard.press('ArrowRight');
    for (let i = 0; i < 5; i++) await b.page.keyboard.press('Shift+ArrowRight');
    const sel = a.page.getByTestId('remote-selection');
    await expect(sel).toHaveCount(1);
    await expect(sel).toHaveText('bravo');
    await expect(sel).toHaveAttribute('data-name', bName);
    const bColor = await a.page.getByTestId('presence-user').getAttribute('data-color');
    expect(bColor).toMatch(/^#[0-9a-fA-F]{6}$/);
    const background = await sel.evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(background).not.toBe('rgba(0, 0, 0, 0)');
    // B's caret, with B's name, sits at the end of the selection; A's text has no name in it.
    await expect(a.page.getByTestId('remote-caret').filter({ hasText: bName })).toHaveCount(1);

    // B renames and picks another colour: A sees both at once, on the caret, the selection and the list.
    await b.page.getByTestId('user-name').click();
    await b.page.getByTestId('user-name-input').fill('Bea Renamed');
    const radios = b.page.getByRole('radio');
    const count = await radios.count();
    let picked = '';
    for (let i = 0; i < count; i++) {
      const c = (await radios.nth(i).getAttribute('aria-label')) ?? '';
      if (c.toLowerCase() !== (bColor ?? '').toLowerCase()) {
        picked = c;
        await radios.nth(i).click();
        break;
      }
    }
    await b.page.getByRole('button', { name: 'Save' }).click();
    await expect(a.page.getByTestId('presence-user')).toHaveText('Bea Renamed');
    await expect(a.page.getByTestId('presence-user')).toHaveAttribute('data-color', picked);
    await expect(a.page.getByTestId('remote-caret').filter({ hasText: 'Bea Renamed' })).toHaveCount(1);
    await expect(a.page.getByTestId('remote-caret').filter({ hasText: bName })).toHaveCount(0);
    // The selection is still there, now under the new name.
    await expect(sel).toHaveAttribute('data-name', 'Bea Renamed');
    await expect(sel).toHaveText('bravo');

    // Collapsing the selection removes the highlight; leaving removes B from the list.
    await b.page.getByTestId('editor').locator('.cm-content').focus(); // back from the name form, selection kept
    await b.page.keyboard.press('ArrowRight');
    await expect(a.page.getByTestId('remote-selection')).toHaveCount(0);
    await b.context.close();
    await expect(a.page.getByTestId('presence-user')).toHaveCount(0, { timeout: 30_000 });
    await expect(a.page.getByTestId('remote-caret')).toHaveCount(0);
  } finally {
    await a.context.close();
    await b.context.close().catch(() => undefined);
  }
});

test('two tabs of one browser: the other tab is marked as you, and a rename in one applies to both', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  try {
    const url = await newDocument(a.page);
    const tab2 = await a.context.newPage();
    await openDocument(tab2, url);
    await openDocument(b.page, url);
    await settled(b.page);
    const aName = (await a.page.getByTestId('user-name').innerText()).trim();
    // A's first tab sees the second as itself, and B once as a person.
    await expect(a.page.getByTestId('presence-user')).toHaveCount(2);
    await expect(a.page.getByTestId('presence-user').filter({ hasText: '(you, another tab)' })).toHaveCount(1);
    await expect(a.page.getByTestId('presence-user').filter({ hasText: '(you, another tab)' })).toContainText(aName);
    await expect(b.page.getByTestId('presence-user').filter({ hasText: aName })).toHaveCount(2);

    await a.page.getByTestId('user-name').click();
    await a.page.getByTestId('user-name-input').fill('Ada Both Tabs');
    await a.page.getByRole('button', { name: 'Save' }).click();
    // The other tab follows (storage event) and so does everyone else, for both tabs.
    await expect(tab2.getByTestId('user-name')).toHaveText('Ada Both Tabs');
    await expect(b.page.getByTestId('presence-user').filter({ hasText: 'Ada Both Tabs' })).toHaveCount(2);
    await expect(b.page.getByTestId('presence-user').filter({ hasText: aName })).toHaveCount(0);
  } finally {
    await a.context.close();
    await b.context.close();
  }
});
