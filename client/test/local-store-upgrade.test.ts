/**
 * A browser that still holds the version 1 layout (every confirmed event a row, checkpoints
 * as JSON) opens the version 2 store: everything is read back, above all the unsent edits;
 * whole chunks of rows become blocks; a failed upgrade leaves the version 1 copy whole and
 * is a value; a block that cannot be read is a value that loses nothing.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ClientState, checkpointOf, opFromSplice, replay, traceToEvents, type DocEvent, type LocalEvent } from '../../shared/src/index.js';
import { DB_VERSION, LocalStore } from '../src/local/local-store.js';
import { restoreState } from '../src/local/restore.js';
import { ROWS_BEFORE_MERGE, SEAL_EVENTS } from '../src/local/event-blocks.js';
import { flattenPatches, loadTrace, tracesDir } from '../../tools/trace-file.js';
import { dumpDatabase, v1Records, writeV1Database, type V1Doc, type V1Records } from './helpers/old-layout.js';
import { v1Input } from './fixtures/local-store-v1-input.js';
import { open, load } from './helpers/local-store-open.js';

const fixture = JSON.parse(readFileSync(path.join(__dirname, 'fixtures', 'local-store-v1.json'), 'utf8')) as {
  version: number;
  stores: Record<string, [IDBValidKey, unknown][]>;
};

let dbCount = 0;
const freshName = () => `eventide-upgrade-${++dbCount}`;

/** The fixture's records as `writeV1Database` takes them. */
function fixtureRecords(): V1Records {
  const s = fixture.stores;
  return {
    docs: s.docs.map(([, v]) => v),
    checkpoints: s.checkpoints.map(([, v]) => v),
    tail: s.tail,
    outbox: s.outbox,
    slots: s.slots,
    settings: s.settings,
  };
}

function dbVersion(name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name);
    req.onsuccess = () => {
      const v = req.result.version;
      req.result.close();
      resolve(v);
    };
    req.onerror = () => reject(req.error);
  });
}

/** The first `n` events of automerge-paper (a real trace), one author. */
let paper: DocEvent[] | null = null;
async function paperEvents(n: number): Promise<DocEvent[]> {
  if (paper === null) {
    const trace = await loadTrace(path.join(tracesDir(), 'sequential', 'automerge-paper.json.gz'));
    if (trace.kind === 'concurrent') throw new Error('automerge-paper is sequential');
    paper = traceToEvents(flattenPatches(trace).slice(0, 6000), { author: 'Ann', client: 'ann-0' });
  }
  return paper.slice(0, n);
}

/** A document of `n` real events with a checkpoint at `cpSeq` and `unsent` edits of slot b-0 at the head. */
async function largeDoc(n: number, cpSeq: number, unsent: number): Promise<{ doc: V1Doc; text: string }> {
  const events = await paperEvents(n);
  const state = new ClientState({ client: 'b-0', author: 'Bo', tail: events });
  for (let i = 0; i < unsent; i++) {
    const r = state.edit(opFromSplice(state.live.length, '', `<${i}>`));
    if (!r.ok) throw new Error(r.error.message);
  }
  const outbox: LocalEvent[] = state.pending.map((p) => p.event);
  return {
    doc: {
      docId: 'big',
      title: 'big',
      updatedAt: 5,
      checkpoint: checkpointOf('big', cpSeq, replay(null, events.slice(0, cpSeq))),
      tail: events,
      slots: [{ client: 'b-0', nextClientSeq: unsent + 1, outboxBase: n, outbox }],
    },
    text: state.live.toString(),
  };
}

describe('LocalStore upgrade from the version 1 layout', () => {
  it('the seeding helper writes exactly what the version 1 code wrote (the fixture)', async () => {
    const name = freshName();
    await writeV1Database({ name, records: v1Records(v1Input.docs, v1Input.settings) });
    const dump = JSON.parse(JSON.stringify(await dumpDatabase(name))) as unknown;
    expect(dump).toEqual(fixture.stores);
    expect(await dbVersion(name)).toBe(1);
  });

  it('upgrades in place: checkpoint, tail, history rows, every unsent edit, slots, list and settings read back (O1, O2, R5)', async () => {
    const name = freshName();
    await writeV1Database({ name, records: fixtureRecords() });
    const store = await open(name);
    expect(await dbVersion(name)).toBe(DB_VERSION);
    const [d1in, d2in] = v1Input.docs;

    const d1 = await load(store, 'd1', 'b-0');
    expect(d1.problems).toEqual([]);
    expect(d1.checkpoint).toEqual(d1in.checkpoint);
    expect(d1.tail).toEqual(d1in.tail.slice(6));
    expect(d1.outbox).toEqual(d1in.slots[0].outbox);
    expect(d1.outboxBase).toBe(10);
    expect(d1.nextClientSeq).toBe(3);
    const restored = restoreState(d1, 'b-0', 'Bo');
    expect(restored.problems).toEqual([]);
    expect(restored.state.live.toString()).toBe('> Oh, Hello world!\nsecondLINE é😀 typed offline.');
    expect(restored.state.pending.map((p) => p.event)).toEqual(d1in.slots[0].outbox);
    // The rows kept below the checkpoint are still the history cache.
    expect(await store.events('d1', 0, 10)).toEqual({ ok: true, value: d1in.tail });
    expect(await store.firstEventSeq('d1')).toEqual({ ok: true, value: 1 });

    const d2 = await load(store, 'd2', 'b-0');
    expect(d2.problems).toEqual([]);
    expect(d2.checkpoint).toBeNull();
    expect(d2.outbox).toEqual(d2in.slots[0].outbox);
    expect(d2.outboxBase).toBe(0);
    expect(restoreState(d2, 'b-0', 'Bo').state.live.toString()).toBe('new');

    expect(await store.setting('browserId', () => 'other')).toEqual({ ok: true, value: 'b' });
    expect(await store.slotsOf('d1')).toEqual({ ok: true, value: [{ client: 'b-0', outboxSize: 2, outboxBase: 10, nextClientSeq: 3 }] });
    const list = await store.listDocuments();
    expect(list.ok && list.value.map((d) => [d.docId, d.title, d.head, d.checkpointSeq])).toEqual([
      ['d2', 'new', 0, 0],
      ['d1', '> Oh, Hello world!', 10, 6],
    ]);
    store.close();

    // The checkpoint is now the codec's bytes; the outbox and slot records are untouched.
    const after = await dumpDatabase(name);
    const cp = after.checkpoints[0][1] as { data: unknown };
    expect(cp.data).toBeInstanceOf(Uint8Array);
    expect(JSON.parse(JSON.stringify(after.outbox))).toEqual(fixture.stores.outbox);
    expect(JSON.parse(JSON.stringify(after.slots))).toEqual(fixture.stores.slots);
    expect(after.blocks).toEqual([]);
  });

  it('seals the whole chunks of a long version 1 tail into blocks, keeps the last few rows, and reads every event back through them (O1)', async () => {
    const name = freshName();
    const { doc, text } = await largeDoc(2050, 1500, 40);
    await writeV1Database({ name, records: v1Records([doc], [['browserId', 'b']]) });
    const store = await open(name);
    const raw = await dumpDatabase(name);
    expect(raw.blocks.map(([k]) => k)).toEqual([
      ['big', SEAL_EVENTS],
      ['big', 2 * SEAL_EVENTS],
    ]);
    expect(raw.tail.map(([k]) => (k as [string, number])[1])).toEqual(doc.tail.slice(2000).map((e) => e.seq));
    const loaded = await load(store, 'big', 'b-0');
    expect(loaded.problems).toEqual([]);
    expect(loaded.checkpoint?.seq).toBe(1500);
    expect(loaded.tail).toEqual(doc.tail.slice(1500));
    expect(loaded.outbox).toEqual(doc.slots[0].outbox);
    expect(restoreState(loaded, 'b-0', 'Bo').state.live.toString()).toBe(text);
    expect(await store.events('big', 0, 2050, 5000)).toEqual({ ok: true, value: doc.tail });
    expect(await store.events('big', 990, 1010, 5)).toEqual({ ok: true, value: doc.tail.slice(990, 995) });
    expect(await store.events('big', 1990, 2010)).toEqual({ ok: true, value: doc.tail.slice(1990, 2010) });
    store.close();
    // With ROWS_BEFORE_MERGE rows or more, the chunk in progress is merged into its block too.
    const name2 = freshName();
    const more = await largeDoc(2000 + ROWS_BEFORE_MERGE, 1500, 1);
    await writeV1Database({ name: name2, records: v1Records([more.doc], [['browserId', 'b']]) });
    const store2 = await open(name2);
    const raw2 = await dumpDatabase(name2);
    expect(raw2.blocks.map(([k]) => (k as [string, number])[1])).toEqual([1000, 2000, 2000 + ROWS_BEFORE_MERGE]);
    expect(raw2.tail).toEqual([]);
    expect(await store2.events('big', 0, 5000, 5000)).toEqual({ ok: true, value: more.doc.tail });
    store2.close();
  });

  it('a failed upgrade (storage full) is a value that says so, leaves the version 1 copy whole, and the next open upgrades it (C9)', async () => {
    const name = freshName();
    const { doc, text } = await largeDoc(2100, 1000, 5);
    const records = v1Records([doc], [['browserId', 'b']]);
    await writeV1Database({ name, records });
    const before = JSON.stringify(await dumpDatabase(name));
    const original = IDBObjectStore.prototype.put;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: [unknown, IDBValidKey?]) {
      if (this.name === 'blocks') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return original.apply(this, args);
    } as typeof original;
    let r: Awaited<ReturnType<typeof LocalStore.open>>;
    try {
      r = await LocalStore.open({ name });
    } finally {
      IDBObjectStore.prototype.put = original;
    }
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('quota');
    expect(!r.ok && r.error.message).toContain('storage is full');
    expect(!r.ok && r.error.message).toContain('nothing was changed');
    expect(await dbVersion(name)).toBe(1);
    expect(JSON.stringify(await dumpDatabase(name))).toBe(before);

    const store = await open(name);
    const loaded = await load(store, 'big', 'b-0');
    expect(loaded.problems).toEqual([]);
    expect(loaded.outbox).toEqual(doc.slots[0].outbox);
    expect(restoreState(loaded, 'b-0', 'Bo').state.live.toString()).toBe(text);
    store.close();
  });

  it('an upgrade that takes longer than the open\'s timeout is waited for, not taken for a blocked open (C9)', async () => {
    const name = freshName();
    const { doc, text } = await largeDoc(3000, 1000, 2);
    await writeV1Database({ name, records: v1Records([doc], [['browserId', 'b']]) });
    // The upgrade is made to outlast the timeout by a wide margin (its first block write stalls
    // for 3x the timeout), while the timeout itself is long enough for the upgrade to have
    // started under any CI load: a 1 ms timeout raced fake-indexeddb's own scheduling.
    const timeoutMs = 300;
    const original = IDBObjectStore.prototype.put;
    let stalled = false;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: [unknown, IDBValidKey?]) {
      if (this.name === 'blocks' && !stalled) {
        stalled = true;
        const until = Date.now() + 3 * timeoutMs;
        while (Date.now() < until) { /* a slow disk */ }
      }
      return original.apply(this, args);
    } as typeof original;
    let r: Awaited<ReturnType<typeof LocalStore.open>>;
    const started = Date.now();
    try {
      r = await LocalStore.open({ name, timeoutMs });
    } finally {
      IDBObjectStore.prototype.put = original;
    }
    expect(stalled).toBe(true);
    expect(Date.now() - started).toBeGreaterThan(timeoutMs);
    if (!r.ok) throw new Error(r.error.message);
    expect(await dbVersion(name)).toBe(DB_VERSION);
    expect(restoreState(await load(r.value, 'big', 'b-0'), 'b-0', 'Bo').state.live.toString()).toBe(text);
    r.value.close();
  });

  it('a block that cannot be read is a value naming its range; unsent edits behind it stay stored, untouched (S1, C10)', async () => {
    const name = freshName();
    const { doc } = await largeDoc(2500, 1500, 3);
    await writeV1Database({ name, records: v1Records([doc], [['browserId', 'b']]) });
    (await open(name)).close();
    // Damage the block 1001..2000 as a bad disk or another app version would.
    await new Promise<void>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => {
        const tx = req.result.transaction('blocks', 'readwrite');
        const get = tx.objectStore('blocks').get(['big', 2000]);
        get.onsuccess = () => {
          const b = get.result as { first: number; last: number; bytes: Uint8Array };
          const bytes = b.bytes.slice(0, Math.floor(b.bytes.length / 2));
          tx.objectStore('blocks').put({ ...b, bytes }, ['big', 2000]);
        };
        tx.oncomplete = () => {
          req.result.close();
          resolve();
        };
        tx.onerror = () => reject(tx.error);
      };
    });
    const damaged = JSON.stringify(await dumpDatabase(name));
    const store = await open(name);
    const r = await store.load('big', 'b-0');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('failed');
    expect(!r.ok && r.error.message).toContain('the stored events 1001–2000 could not be read');
    expect(!r.ok && r.error.message).toContain('3 unsent edits');
    // Another slot (no outbox) loads what can be read and is told what cannot.
    const other = await load(store, 'big', 'b-1');
    expect(other.tail).toEqual([]);
    expect(other.problems.join(' ')).toContain('1001–2000');
    // The history reads skip the damaged range (the server fills it) and nothing was written.
    const hist = await store.events('big', 0, 2500, 5000);
    expect(hist.ok && hist.value.map((e) => e.seq)).toEqual([...doc.tail.slice(0, 1000), ...doc.tail.slice(2000)].map((e) => e.seq));
    store.close();
    expect(JSON.stringify(await dumpDatabase(name))).toBe(damaged);
  });
});
