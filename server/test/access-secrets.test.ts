/**
 * What the server keeps of a link's secret, and what a refusal gives away, against the
 * real server process.
 *
 * A3: after a document is created and edited, no file in DATA_DIR holds its edit or view
 * token, in any byte (WAL files included, the process stopped so nothing is cached);
 * access.sqlite holds their SHA-256 hashes. A5: a hello for a document that does not
 * exist and a hello with a wrong token for one that does get the same refusal, word for
 * word, with the same close, so a hello cannot tell whether a document exists.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { PROTOCOL_VERSION, tokenHash } from '../../shared/src/index';
import { ServerProcess } from './helpers/server-process';
import { RawSocket } from './helpers/raw-socket';
import { testToken, testViewToken } from './helpers/tokens';

const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.dispose();
});

function hello(docId: string, client: string, access: { token?: string; create?: boolean }): Record<string, unknown> {
  return { type: 'hello', protocol: PROTOCOL_VERSION, docId, client, user: { name: client, color: '#123' }, last: 0, ...access };
}

describe('link secrets on the server', () => {
  it('stores only the hashes of the edit and view tokens, never the tokens (A3)', async () => {
    const sp = await ServerProcess.start();
    servers.push(sp);
    const doc = 'secret-doc';
    const { sock } = await RawSocket.join(sp.url, doc, 'owner');
    sock.sendJson({ type: 'submit', base: 0, events: [{ id: { client: 'owner', clientSeq: 1 }, author: 'owner', op: ['hello'], kind: 'edit' }] });
    expect(await sock.next('ack')).toMatchObject({ seq: 1 });
    // The view link works, so the server can check it without having stored it.
    const { welcome } = await RawSocket.join(sp.url, doc, 'reader', 0, { token: testViewToken(doc) });
    expect(welcome.role).toBe('view');
    sock.close();
    await sp.stop();

    const files = readdirSync(sp.dataDir).map((f) => path.join(sp.dataDir, f));
    expect(files.map((f) => path.basename(f))).toContain('access.sqlite');
    for (const f of files) {
      const bytes = readFileSync(f).toString('latin1');
      expect(bytes.includes(testToken(doc)), `${f} holds the edit token`).toBe(false);
      expect(bytes.includes(testViewToken(doc)), `${f} holds the view token`).toBe(false);
    }
    const db = new Database(path.join(sp.dataDir, 'access.sqlite'), { readonly: true });
    const row = db.prepare('SELECT edit_hash, view_hash FROM access WHERE doc_id = ?').get(doc);
    db.close();
    expect(row).toEqual({ edit_hash: tokenHash(testToken(doc)), view_hash: tokenHash(testViewToken(doc)) });
  });

  it('refuses a hello for a missing document and a wrong token for an existing one alike (A5)', async () => {
    const sp = await ServerProcess.start();
    servers.push(sp);
    const { sock: owner } = await RawSocket.join(sp.url, 'exists', 'owner');

    const refusal = async (docId: string, access: { token?: string; create?: boolean }) => {
      const s = await RawSocket.open(sp.url);
      s.sendJson(hello(docId, 'probe', access));
      const e = await s.next('error');
      const close = await s.waitClose();
      expect(s.messages.filter((m) => m.type === 'welcome')).toEqual([]);
      return { code: e.code, message: e.message, fatal: e.fatal, close };
    };
    const wrongToken = await refusal('exists', { token: testToken('some-other-doc') });
    const missingDoc = await refusal('does-not-exist', { token: testToken('does-not-exist') });
    const noToken = await refusal('exists', {});
    const noTokenMissing = await refusal('does-not-exist', {});
    expect(wrongToken).toEqual({ code: 'access-denied', message: wrongToken.message, fatal: true, close: 1008 });
    expect(missingDoc).toEqual(wrongToken);
    expect(noToken).toEqual(wrongToken);
    expect(noTokenMissing).toEqual(wrongToken);
    expect(wrongToken.message).not.toMatch(/exists|does-not-exist/);
    owner.close();
  });
});
