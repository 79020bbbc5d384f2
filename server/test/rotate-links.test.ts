/**
 * Replacing a document's links (issue 16, `rotate-links`) against the real server
 * process: only an edit connection may do it; the old edit and view tokens are refused
 * from the next hello on; every other connection, all of which joined with the old
 * tokens, is closed at once with `links-replaced`; the new tokens work, also after a
 * restart (the access record on disk was replaced).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, viewTokenOf } from '../../shared/src/index';
import { ServerProcess } from './helpers/server-process';
import { RawSocket } from './helpers/raw-socket';
import { testToken, testViewToken } from './helpers/tokens';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryAccessStore, type AccessStore } from '../src/access/access-store';
import { SqliteAccessStore } from '../src/access/sqlite-access-store';
import { freshDatabase, type TestDatabase } from './helpers/pg-cluster';

const servers: ServerProcess[] = [];
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const s of servers) await s.dispose();
  for (const db of databases) await db.drop();
}, 60_000);

const DOC = 'rotate-doc';
const NEW = 'N3wEditTokenForRotateLinks_abcdefghijk0123';

async function hello(url: string, client: string, token: string): Promise<RawSocket> {
  const s = await RawSocket.open(url);
  s.sendJson({ type: 'hello', protocol: PROTOCOL_VERSION, docId: DOC, client, user: { name: client, color: '#123' }, last: 0, token });
  return s;
}

describe('rotate-links (real server process)', () => {
  it('replaces both tokens at once, closes the sessions on the old ones with links-replaced, refuses views and keeps the new links across a restart (A12, P23)', async () => {
    const sp = await ServerProcess.start({ env: { EVENTIDE_HELLO_TIMEOUT_MS: '0' } });
    servers.push(sp);
    const { sock: owner } = await RawSocket.join(sp.url, DOC, 'owner');
    owner.sendJson({ type: 'submit', base: 0, events: [{ id: { client: 'owner', clientSeq: 1 }, author: 'owner', op: ['kept'], kind: 'edit' }] });
    expect(await owner.next('ack')).toMatchObject({ seq: 1 });
    const { sock: editor } = await RawSocket.join(sp.url, DOC, 'editor', 0, { token: testToken(DOC) });
    const { sock: viewer } = await RawSocket.join(sp.url, DOC, 'viewer', 0, { token: testViewToken(DOC) });
    const { sock: other } = await RawSocket.join(sp.url, 'another-doc', 'other');

    // A view connection may not replace the links: refused, nothing changed.
    viewer.sendJson({ type: 'rotate-links', reqId: 1, token: NEW });
    expect(await viewer.next('error')).toMatchObject({ code: 'read-only' });
    const still = await hello(sp.url, 'still', testToken(DOC));
    expect((await still.next('welcome')).role).toBe('edit');
    still.close();

    // A malformed token is refused by the schema (not fatal; nothing changed).
    owner.sendJson({ type: 'rotate-links', reqId: 2, token: 'short' });
    expect(await owner.next('error')).toMatchObject({ code: 'bad-message', fatal: false });

    owner.sendJson({ type: 'rotate-links', reqId: 3, token: NEW });
    expect(await owner.next('links-rotated')).toEqual({ type: 'links-rotated', reqId: 3 });
    // The others on the old tokens are closed at once, with the code that says why.
    expect(await editor.next('error')).toMatchObject({ code: 'links-replaced', fatal: true });
    expect(await editor.waitClose()).toBe(1008);
    await viewer.waitClose();
    expect(viewer.messages.find((m) => m.type === 'error' && m.code === 'links-replaced')).toBeDefined();
    // The asker and other documents go on.
    expect(owner.open).toBe(true);
    expect(other.open).toBe(true);
    owner.sendJson({ type: 'submit', base: 1, events: [{ id: { client: 'owner', clientSeq: 2 }, author: 'owner', op: [4, '!'], kind: 'edit' }] });
    expect(await owner.next('ack')).toMatchObject({ seq: 2 });

    // Old tokens: refused. New ones: edit and view.
    for (const t of [testToken(DOC), testViewToken(DOC)]) {
      const s = await hello(sp.url, 'late', t);
      expect(await s.next('error')).toMatchObject({ code: 'access-denied', fatal: true });
    }
    const ed = await hello(sp.url, 'new-editor', NEW);
    expect(await ed.next('welcome')).toMatchObject({ role: 'edit', head: 2 });
    ed.close();
    const vw = await hello(sp.url, 'new-viewer', viewTokenOf(NEW));
    expect((await vw.next('welcome')).role).toBe('view');
    vw.close();
    owner.close();
    other.close();

    // On disk: after a restart the new links still work and the old ones do not.
    await sp.restart();
    const after = await hello(sp.url, 'after', NEW);
    expect((await after.next('welcome')).role).toBe('edit');
    after.close();
    const old = await hello(sp.url, 'old', testToken(DOC));
    expect(await old.next('error')).toMatchObject({ code: 'access-denied' });
  });
});

describe('rotate-links across nodes (two server processes, one PostgreSQL)', () => {
  it('a rotation on one node closes the sessions another node opened with the old tokens, with links-replaced; one opened there with the new token stays (R28, A12, P23)', async () => {
    const db = await freshDatabase();
    databases.push(db);
    const env = { DATABASE_URL: db.url, EVENTIDE_HELLO_TIMEOUT_MS: '0' };
    const a = await ServerProcess.start({ env });
    servers.push(a);
    const b = await ServerProcess.start({ env });
    servers.push(b);
    const doc = 'rotate-across';
    const { sock: owner } = await RawSocket.join(a.url, doc, 'owner');
    owner.sendJson({ type: 'submit', base: 0, events: [{ id: { client: 'owner', clientSeq: 1 }, author: 'owner', op: ['kept'], kind: 'edit' }] });
    expect(await owner.next('ack')).toMatchObject({ seq: 1 });
    const { sock: editorB } = await RawSocket.join(b.url, doc, 'editor-b', 0, { token: testToken(doc) });
    const { sock: viewerB } = await RawSocket.join(b.url, doc, 'viewer-b', 0, { token: testViewToken(doc) });
    const { sock: otherB } = await RawSocket.join(b.url, 'another-doc-across', 'other-b');

    owner.sendJson({ type: 'rotate-links', reqId: 1, token: NEW });
    expect(await owner.next('links-rotated')).toEqual({ type: 'links-rotated', reqId: 1 });
    // Opened on node B with the new token right away, possibly before B hears of the rotation.
    const { sock: freshB, welcome } = await RawSocket.join(b.url, doc, 'fresh-b', 0, { token: NEW });
    expect(welcome.role).toBe('edit');

    expect(await editorB.next('error')).toMatchObject({ code: 'links-replaced', fatal: true });
    expect(await editorB.waitClose()).toBe(1008);
    await viewerB.waitClose();
    expect(viewerB.messages.find((m) => m.type === 'error' && m.code === 'links-replaced')).toBeDefined();
    // The new token's session, the asker and another document go on.
    freshB.sendJson({ type: 'submit', base: 1, events: [{ id: { client: 'fresh-b', clientSeq: 1 }, author: 'fresh-b', op: [4, '!'], kind: 'edit' }] });
    expect(await freshB.next('ack')).toMatchObject({ seq: 2 });
    expect(freshB.open).toBe(true);
    expect(owner.open).toBe(true);
    expect(otherB.open).toBe(true);
    // And on node B the old tokens open nothing any more.
    const late = await RawSocket.open(b.url);
    late.sendJson({ type: 'hello', protocol: PROTOCOL_VERSION, docId: doc, client: 'late', user: { name: 'late', color: '#123' }, last: 0, token: testToken(doc) });
    expect(await late.next('error')).toMatchObject({ code: 'access-denied' });
    for (const s of [owner, freshB, otherB]) s.close();
  });
});

describe('AccessStore.replace, both implementations', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'eventide-access-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const stores: [string, () => AccessStore][] = [
    ['memory', () => new MemoryAccessStore()],
    ['sqlite', () => SqliteAccessStore.open(path.join(dir, 'access.sqlite'))],
  ];
  for (const [name, make] of stores) {
    it(`${name}: replaces both hashes of a registered document, keeps its creation time, refuses an unknown one (A12)`, async () => {
      const s = make();
      expect(await s.replace('nobody', 'e', 'v')).toBe(false);
      expect(await s.get('nobody')).toBeNull();
      expect(await s.register({ docId: 'd', editHash: 'e1', viewHash: 'v1', createdAt: 5 })).toBe(true);
      expect(await s.replace('d', 'e2', 'v2')).toBe(true);
      expect(await s.get('d')).toEqual({ docId: 'd', editHash: 'e2', viewHash: 'v2', createdAt: 5 });
      // Registration still cannot take a known document over.
      expect(await s.register({ docId: 'd', editHash: 'x', viewHash: 'y', createdAt: 6 })).toBe(false);
      expect((await s.get('d'))?.editHash).toBe('e2');
      await s.close();
    });
  }
});
