/**
 * `npm start` with DATABASE_URL: the real server process keeps logs, checkpoints and
 * access records in PostgreSQL (a fresh database per test), edits arrive through a real
 * WebSocket, and after a restart the document, its links and its text are still there.
 * Needs PostgreSQL (helpers/pg-cluster.ts finds one or starts its own).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { replay } from '../../shared/src/index.js';
import { ServerProcess } from './helpers/server-process.js';
import { RawSocket } from './helpers/raw-socket.js';
import { testToken } from './helpers/tokens.js';
import { freshDatabase, type TestDatabase } from './helpers/pg-cluster.js';
import { PgLogStore } from '../src/store/pg-log-store.js';
import { databaseUrlFromEnv, redactedUrl } from '../src/options.js';

const servers: ServerProcess[] = [];
const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.dispose();
  await Promise.all(databases.splice(0).map((db) => db.drop()));
}, 60_000);

/** A submit that appends `text` to a document of `length` units. */
function submit(client: string, clientSeq: number, base: number, length: number, text: string): Record<string, unknown> {
  return { type: 'submit', base, events: [{ id: { client, clientSeq }, author: client, op: length === 0 ? [text] : [length, text], kind: 'edit' }] };
}

describe('DATABASE_URL', () => {
  it('the server keeps logs, checkpoints and access in PostgreSQL: edits survive a restart, nothing goes to DATA_DIR (R20, L2)', async () => {
    const db = await freshDatabase();
    databases.push(db);
    const sp = await ServerProcess.start({ env: { DATABASE_URL: db.url, EVENTIDE_CHECKPOINT_EVERY: '5' } });
    servers.push(sp);
    expect(sp.output).toContain('PostgreSQL at');

    const { sock: a } = await RawSocket.join(sp.url, 'pgdoc', 'ann');
    const { sock: b } = await RawSocket.join(sp.url, 'pgdoc', 'bob');
    const words = ['one', ' two', ' three', ' four', ' five', ' six', ' seven'];
    let length = 0;
    for (let i = 0; i < words.length; i++) {
      a.sendJson(submit('ann', i + 1, i, length, words[i]));
      const ack = await a.next('ack').catch((e: Error) => new Error(`${e.message}: ${JSON.stringify(a.messages.slice(-3))}`));
      expect(ack).toMatchObject({ seq: i + 1 });
      length += words[i].length;
    }
    // The other connection saw them, in order.
    const seen: number[] = [];
    while (seen.length < words.length) for (const e of (await b.next('events')).events) seen.push(e.seq);
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    a.close();
    b.close();

    await sp.restart();
    // The edit link still opens the document (its access record is in the database), and the welcome has the text.
    const { welcome } = await RawSocket.join(sp.url, 'pgdoc', 'cy', 0, { token: testToken('pgdoc') });
    expect(welcome.role).toBe('edit');
    expect(welcome.head).toBe(7);
    expect(replay(welcome.checkpoint, welcome.events).toString()).toBe(words.join(''));
    expect(length).toBe(words.join('').length);

    // Nothing in DATA_DIR; all of it in PostgreSQL, read by a store of its own.
    expect(existsSync(path.join(sp.dataDir, 'eventide.sqlite'))).toBe(false);
    expect(existsSync(path.join(sp.dataDir, 'access.sqlite'))).toBe(false);
    const s = await PgLogStore.open(db.url);
    try {
      expect((await s.range('pgdoc', 0, 100)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(await s.checkpointSeqs('pgdoc', 1, 100)).toEqual([5]);
      expect(await s.accessStore().get('pgdoc')).not.toBeNull();
    } finally {
      await s.close();
    }
    expect(await sp.stop()).toBe(0);
  });

  it('DATABASE_URL must be a postgres:// URL; unset or empty means SQLite; a password never reaches the log line', () => {
    expect(databaseUrlFromEnv({})).toBeUndefined();
    expect(databaseUrlFromEnv({ DATABASE_URL: ' ' })).toBeUndefined();
    expect(databaseUrlFromEnv({ DATABASE_URL: 'postgres://u@h:5/d' })).toBe('postgres://u@h:5/d');
    expect(databaseUrlFromEnv({ DATABASE_URL: 'postgresql://u@h/d' })).toBe('postgresql://u@h/d');
    expect(() => databaseUrlFromEnv({ DATABASE_URL: 'mysql://u@h/d' })).toThrow(/postgres:\/\//);
    expect(() => databaseUrlFromEnv({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
    expect(redactedUrl('postgres://u:secret@h:5/d')).not.toContain('secret');
  });

  it('a database that cannot be reached stops the start with a clear line (nothing falls back to SQLite) (R20)', async () => {
    // Port 20399: nothing listens there (this suite's range).
    const started = ServerProcess.start({ env: { DATABASE_URL: 'postgres://postgres:pw@127.0.0.1:20399/none' } });
    const e = await started.then(
      () => null,
      (x: Error) => x,
    );
    expect(e?.message).toMatch(/server exited during startup[\s\S]*failed to start[\s\S]*ECONNREFUSED/);
    expect(e?.message).not.toContain(':pw@');
  });
});
