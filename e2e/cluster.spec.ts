import { expect, test, type Page } from '@playwright/test';
import { caretTo, converged, editorReady, editorText, freshPage } from './helpers';
import { OwnServer, removeDir, tempDataDir } from './own-server';
import { freePortInRange, freshDatabase } from '../server/test/helpers/pg-cluster';

// Two browsers on two server nodes of one PostgreSQL (docs/scale.md): each page is served by
// its own node and talks to it alone; everything crosses through the database.

const focusEditor = (page: Page) => page.getByTestId('editor').locator('.cm-content').focus();

async function undoReady(page: Page): Promise<void> {
  await expect(page.getByRole('toolbar', { name: 'Undo and redo' })).toHaveAttribute('data-ready', 'true');
}

test('two browsers on two nodes converge, see each other, and undo and the history slider work across nodes (R23, P20)', async ({ browser }) => {
  const db = await freshDatabase('eventide_e2e');
  const nodes: OwnServer[] = [];
  const dirs: string[] = [];
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  try {
    for (let i = 0; i < 2; i++) {
      const dir = tempDataDir('eventide-e2e-node-');
      dirs.push(dir);
      const node = new OwnServer(await freePortInRange(), dir, { DATABASE_URL: db.url });
      nodes.push(node);
      await node.start();
    }
    // A creates the document on node 1; B opens the same link on node 2.
    await a.page.goto(`${nodes[0].url}/`);
    await a.page.getByTestId('new-doc').click();
    await editorReady(a.page);
    const link = new URL(a.page.url());
    await caretTo(a.page, 'end');
    await a.page.keyboard.type('alpha ');
    await b.page.goto(`${nodes[1].url}${link.pathname}${link.hash}`);
    await editorReady(b.page);
    await caretTo(b.page, 'end');
    await b.page.keyboard.type('bravo ');
    expect(await converged([a.page, b.page])).toBe('alpha bravo ');

    // Presence crosses nodes: each sees the other in the list of who is here.
    await expect(a.page.getByTestId('presence-user')).toHaveCount(1);
    await expect(b.page.getByTestId('presence-user')).toHaveCount(1);

    // Undo on node 1 takes back A's word only, on both screens.
    await undoReady(a.page);
    await focusEditor(a.page);
    await a.page.keyboard.press('Control+z');
    await expect.poll(() => editorText(b.page)).toBe('bravo ');
    expect(await converged([a.page, b.page])).toBe('bravo ');

    // B's history slider (node 2) runs over events written through both nodes.
    const head = 'alpha '.length + 'bravo '.length + 1;
    await b.page.getByTestId('history-toggle').click();
    await expect(b.page.getByTestId('history-slider')).toHaveAttribute('max', String(head));
    await b.page.getByTestId('history-slider').focus();
    await b.page.keyboard.press('Home');
    for (let i = 0; i < 'alpha '.length; i++) await b.page.keyboard.press('ArrowRight');
    await expect(b.page.getByTestId('history-version')).toHaveAttribute('data-version', String('alpha '.length));
    await expect(b.page.getByTestId('history-view')).toHaveAttribute('data-version', String('alpha '.length));
    await expect(b.page.getByTestId('history-view')).toHaveText('alpha ');
  } finally {
    await a.context.close();
    await b.context.close();
    for (const n of nodes) await n.stop();
    for (const d of dirs) removeDir(d);
    await db.drop();
  }
});
