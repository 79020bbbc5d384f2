/**
 * Starting a document over after `base-ahead` (local/start-over.ts), against real
 * in-process servers: one whose log is then "restored from an older backup" (a second
 * server on the first few events of the first one's log).
 */
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/src/http.js';
import { MemoryLogStore } from '../../server/src/store/memory-log-store.js';
import { MemoryAccessStore } from '../../server/src/access/access-store.js';
import { silentLogger } from '../../server/src/options.js';
import { opFromSplice, replay } from '../../shared/src/index.js';
import { discardLocalCopy, replaceWith } from '../src/local/start-over.js';
import type { SyncClient } from '../src/sync/sync-client.js';
import { Harness, settled, waitFor } from './helpers/sync-harness.js';

const h = new Harness();
const servers: RunningServer[] = [];

/** A server on `store`; `access` shared between servers stands for the access file restored with the log. */
async function serveOn(store: MemoryLogStore, access = new MemoryAccessStore()): Promise<string> {
  const srv = await startServer({ port: 0, host: '127.0.0.1', dataDir: '/tmp', staticDir: '/nonexistent', store, access, sync: { log: silentLogger } });
  servers.push(srv);
  return `ws://127.0.0.1:${srv.port}/ws`;
}

function type(c: SyncClient, at: number, s: string): void {
  for (let i = 0; i < s.length; i++) {
    const r = c.edit(opFromSplice(at + i, '', s[i]));
    if (!r.ok) throw new Error(r.error.message);
  }
}

afterEach(async () => {
  await h.close();
  for (const s of servers.splice(0)) await s.close();
});

describe('start over after base-ahead', () => {
  it('"mine" puts the local text on a server whose log went back, with new client ids, and keeps a backup (C7)', async () => {
    const first = new MemoryLogStore();
    const access = new MemoryAccessStore();
    const url1 = await serveOn(first, access);
    const store = await h.store();
    const a = await h.open(url1, { store });
    await waitFor(() => settled(a), 'online');
    type(a, 0, 'abcdef');
    await waitFor(() => settled(a) && a.state.confirmedSeq === 6, 'typed');
    const oldClient = a.client;
    await a.close();

    // The server comes back on a backup holding only the first three events.
    const restored = new MemoryLogStore();
    expect((await restored.append('doc', 0, await first.range('doc', 0, 3))).ok).toBe(true);
    const url2 = await serveOn(restored, access);
    const refused = await h.open(url2, { store });
    await waitFor(() => refused.getSnapshot().fatalCode === 'base-ahead', 'base-ahead');
    expect(refused.text()).toBe('abcdef'); // the copy is kept as it was
    const text = refused.text();
    await refused.close();

    const r = await discardLocalCopy(store, 'doc', text, { now: 1000, journalStorage: null });
    expect(r.ok).toBe(true);
    const fresh = await h.open(url2, { store });
    expect(fresh.client).not.toBe(oldClient);
    const put = await replaceWith(fresh, text);
    expect(put.ok).toBe(true);
    await waitFor(() => settled(fresh) && fresh.state.confirmedSeq === 4, 'the edit acknowledged');
    const log = await restored.range('doc', 0, 4);
    expect(replay(null, log).toString()).toBe('abcdef');
    expect(log[3].id.client).toBe(fresh.client);
    expect(fresh.getSnapshot().fatal).toBeNull();
    const backups = await store.backups('doc');
    expect(backups.ok && backups.value).toEqual([{ time: 1000, text: 'abcdef' }]);
    await fresh.close();

    // Reopening uses the same new ids, goes on from there, and is not refused.
    const again = await h.open(url2, { store });
    expect(again.client).toBe(fresh.client);
    await waitFor(() => settled(again), 'online again');
    type(again, 6, 'g');
    await waitFor(() => settled(again) && again.state.confirmedSeq === 5, 'typed again');
    expect(replay(null, await restored.range('doc', 0, 5)).toString()).toBe('abcdefg');
  });

  it('"the server\'s" takes the server\'s text; a wiped server accepts the new ids from 1 (C7)', async () => {
    const first = new MemoryLogStore();
    const url1 = await serveOn(first);
    const store = await h.store();
    const a = await h.open(url1, { store });
    await waitFor(() => settled(a), 'online');
    type(a, 0, 'xyz');
    await waitFor(() => settled(a) && a.state.confirmedSeq === 3, 'typed');
    await a.close();

    const wiped = new MemoryLogStore();
    const url2 = await serveOn(wiped);
    const refused = await h.open(url2, { store });
    await waitFor(() => refused.getSnapshot().fatalCode === 'base-ahead', 'base-ahead');
    const text = refused.text();
    await refused.close();
    expect((await discardLocalCopy(store, 'doc', text, { journalStorage: null })).ok).toBe(true);
    const fresh = await h.open(url2, { store });
    await waitFor(() => settled(fresh), 'online');
    expect(fresh.text()).toBe('');
    type(fresh, 0, 'new');
    await waitFor(() => settled(fresh) && fresh.state.confirmedSeq === 3, 'typed on the wiped server');
    expect(replay(null, await wiped.range('doc', 0, 3)).toString()).toBe('new');
    const backups = await store.backups('doc');
    expect(backups.ok && backups.value.map((b) => b.text)).toEqual(['xyz']);
  });
});
