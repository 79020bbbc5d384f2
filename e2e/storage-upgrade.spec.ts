import { expect, test } from '@playwright/test';
import { ClientState, checkpointOf, opFromSplice, replay, type LocalEvent } from '../shared/src/index.js';
import { v1Records, writeV1Database } from '../client/test/helpers/old-layout';
import { caretTo, converged, count, editorReady, editorText, freshPage, newDocument, settled } from './helpers';
import { docIdOf, expectLogOnce, serverLog, sharedDataDir } from './server-log';

// A browser that the previous version of the app left with the old IndexedDB layout
// (database version 1: checkpoint as JSON, the confirmed tail as rows, and an outbox of
// edits made offline and never sent) opens the new app. The layout is seeded the way the
// old app wrote it, record by record, by a page script on the app's origin before the app
// runs there (client/test/helpers/old-layout.ts, checked against a dump of the old code's
// database). Then the new app upgrades it in place, shows the offline edits at once, and
// sends them: the server's log holds each exactly once, rebased over what others wrote.

const BROWSER_ID = 'seedBrowser1';

test('the old storage layout with unsent offline edits upgrades in place; the edits sync exactly once (O1, O2, L3, R5)', async ({ browser }) => {
  const a = await freshPage(browser);
  const b = await freshPage(browser);
  try {
    const url = await newDocument(a.page);
    const docId = docIdOf(url);
    await caretTo(a.page, 'end');
    await a.page.keyboard.type('shared start, ');
    await a.page.keyboard.type('typed by A.');
    await settled(a.page);
    const log = serverLog(sharedDataDir(), docId);
    expect(log.length).toBeGreaterThan(10);

    // What the old app had stored in B's browser: a checkpoint at 10, the tail after it, and
    // edits made offline at the head of that copy (client id <browser id>-0, slot 0).
    const checkpoint = checkpointOf(docId, 10, replay(null, log.slice(0, 10)));
    const state = new ClientState({ client: `${BROWSER_ID}-0`, author: 'Bo', checkpoint, tail: log.slice(10) });
    const typed = [' [B offline one]', ' [B offline two]', ' [B offline three]'];
    for (const word of typed) {
      for (const ch of word) {
        const r = state.edit(opFromSplice(state.live.length, '', ch), 'edit', { step: `1@${BROWSER_ID}-0` });
        if (!r.ok) throw new Error(r.error.message);
      }
    }
    const outbox: LocalEvent[] = state.pending.map((p) => p.event);
    const seededText = state.live.toString();
    const records = v1Records(
      [
        {
          docId,
          title: 'shared start,',
          updatedAt: Date.now(),
          checkpoint,
          tail: log,
          slots: [{ client: `${BROWSER_ID}-0`, nextClientSeq: outbox.length + 1, outboxBase: log.length, outbox }],
        },
      ],
      [['browserId', BROWSER_ID]],
    );

    // Meanwhile A goes on, so B's edits must be rebased over events its copy never saw.
    await caretTo(a.page, 'start');
    await a.page.keyboard.type('A again: ');
    await settled(a.page);

    // Seed on the app's origin from a page that does not run the app.
    await b.page.goto('/healthz');
    // (Typed loosely: Playwright's serializable-argument type recurses too deep on the records.)
    const seed = writeV1Database as (arg: { name: string; records: never }) => Promise<void>;
    await b.page.evaluate(seed, { name: 'eventide', records: records as never });
    expect(await b.page.evaluate(() => indexedDB.databases().then((d) => d.map((x) => [x.name, x.version])))).toEqual([['eventide', 1]]);

    await b.page.goto(url);
    await editorReady(b.page);
    const text = await converged([a.page, b.page]);
    expect(text).toBe(`A again: ${seededText}`);
    for (const word of typed) expect(count(text, word), word).toBe(1);

    // The server's log: every event once, B's offline edits among them exactly once each.
    const after = serverLog(sharedDataDir(), docId);
    expectLogOnce(after, text);
    const mine = after.filter((e) => e.id.client === `${BROWSER_ID}-0`).map((e) => e.id.clientSeq);
    expect(mine).toEqual(outbox.map((e) => e.id.clientSeq));

    // The browser's database is the new layout now, and a reload sends nothing again.
    expect(await b.page.evaluate(() => indexedDB.databases().then((d) => d.find((x) => x.name === 'eventide')?.version))).toBe(2);
    await b.page.reload();
    await editorReady(b.page);
    await settled(b.page);
    expect(await editorText(b.page)).toBe(text);
    expect(serverLog(sharedDataDir(), docId).length).toBe(after.length);
  } finally {
    for (const ctx of [a, b]) await ctx.context.close();
  }
});
