import 'fake-indexeddb/auto';
import { describe, it, expect } from 'vitest';
import {
  ClientState,
  MemoryLog,
  Sequencer,
  replay,
  opFromSplice,
  traceToEvents,
  type DocEvent,
  type LocalEvent,
  type Op,
} from '../../shared/src/index.js';
import { DB_VERSION, LocalStore, storageError, titleOf, type DocWrite } from '../src/local/local-store.js';
import { DocPersister } from '../src/local/persister.js';
import { restoreState } from '../src/local/restore.js';
import { applyJournal, journalKey, type JournalStorage } from '../src/local/journal.js';
import { ROWS_BEFORE_MERGE, SEAL_EVENTS } from '../src/local/event-blocks.js';
import { dumpDatabase } from './helpers/old-layout.js';
import { open, load } from './helpers/local-store-open.js';

let dbCount = 0;
const freshName = () => `eventide-test-${++dbCount}`;

/** A server in a box: the real sequencer over a memory log. */
class Server {
  readonly log = new MemoryLog();
  readonly seq: Sequencer;
  time = 1000;
  constructor(docId = 'doc') {
    this.seq = new Sequencer(docId, this.log, replay(null, []), 0);
  }
  submit(client: string, base: number, events: readonly LocalEvent[]): DocEvent[] {
    const r = this.seq.submit(client, { base, events }, ++this.time);
    if (!r.ok) throw new Error(r.error.message);
    this.log.append(r.value.appended);
    return r.value.appended.slice();
  }
  text(): string {
    return replay(null, this.log.events).toString();
  }
}

/** A manual scheduler: writes happen when the test says so. */
function manual() {
  const queue: (() => void)[] = [];
  return {
    schedule: (f: () => void) => void queue.push(f),
    run() {
      const q = queue.splice(0);
      for (const f of q) f();
      return q.length;
    },
  };
}

const insertAt = (st: ClientState, pos: number, s: string): LocalEvent => {
  const r = st.edit(opFromSplice(pos, '', s));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

describe('LocalStore', () => {
  it('round-trips tail, outbox, slot record and summary in one write', async () => {
    const store = await open(freshName());
    const ev = (seq: number, op: Op): DocEvent => ({ id: { client: 'x', clientSeq: seq }, seq, base: seq - 1, author: 'x', time: seq, op, kind: 'edit' });
    const own: LocalEvent = { id: { client: 'me', clientSeq: 1 }, author: 'me', op: [2, '!'], kind: 'edit' };
    const w: DocWrite = {
      tail: [ev(1, ['ab'])],
      outbox: { replace: false, events: [own] },
      outboxHead: 1,
      outboxBase: 1,
      outboxSize: 1,
      nextClientSeq: 2,
      summary: { title: 'ab!', updatedAt: 42 },
    };
    expect((await store.write('d1', 'me', w)).ok).toBe(true);
    const doc = await load(store, 'd1', 'me');
    expect(doc.checkpoint).toBeNull();
    expect(doc.tail.map((e) => e.seq)).toEqual([1]);
    expect(doc.outbox).toEqual([own]);
    expect(doc.outboxBase).toBe(1);
    expect(doc.nextClientSeq).toBe(2);
    const list = await store.listDocuments();
    expect(list.ok && list.value).toEqual([{ docId: 'd1', title: 'ab!', updatedAt: 42, head: 1, checkpointSeq: 0 }]);
    // Another slot of the same document sees the tail but not this outbox.
    const other = await load(store, 'd1', 'you');
    expect(other.outbox).toEqual([]);
    expect(other.outboxBase).toBe(1);
    expect(other.nextClientSeq).toBe(1);
    store.close();
  });

  it('a checkpoint trims the tail and loading starts from it', async () => {
    const store = await open(freshName());
    const server = new Server('d');
    const a = new ClientState({ client: 'a', author: 'a' });
    for (let i = 0; i < 10; i++) insertAt(a, i, String(i));
    const events = server.submit('a', 0, a.takeBatch()!.events);
    const b = new ClientState({ client: 'b', author: 'b' });
    expect(b.receive(events).ok).toBe(true);
    const base: Omit<DocWrite, 'tail' | 'outboxBase'> = { outbox: { replace: false, events: [] }, outboxHead: 1, outboxSize: 0, nextClientSeq: 1 };
    await store.write('d', 'b', { ...base, tail: events.slice(0, 6), outboxBase: 6 });
    const cp6 = { docId: 'd', seq: 6, text: '012345', authorship: [{ author: 'a', length: 6 }] };
    const r = await store.write('d', 'b', { ...base, tail: events.slice(6), outboxBase: 10, checkpoint: cp6 });
    expect(r.ok && r.value.checkpointWritten).toBe(true);
    const doc = await load(store, 'd', 'b');
    expect(doc.checkpoint?.seq).toBe(6);
    expect(doc.tail.map((e) => e.seq)).toEqual([7, 8, 9, 10]);
    expect(restoreState(doc, 'b', 'b').state.live.toString()).toBe('0123456789');
    // An older checkpoint never replaces a newer one.
    const cp3 = { docId: 'd', seq: 3, text: '012', authorship: [{ author: 'a', length: 3 }] };
    const r2 = await store.write('d', 'b', { ...base, tail: [], outboxBase: 10, checkpoint: cp3 });
    expect(r2.ok && r2.value.checkpointWritten).toBe(false);
    expect((await load(store, 'd', 'b')).checkpoint?.seq).toBe(6);
    store.close();
  });

  it('does not checkpoint past another slot whose outbox still needs the older tail (C3)', async () => {
    const store = await open(freshName());
    const ev1: DocEvent = { id: { client: 'z', clientSeq: 1 }, seq: 1, base: 0, author: 'z', time: 1, op: ['hi'], kind: 'edit' };
    const ev2: DocEvent = { id: { client: 'z', clientSeq: 2 }, seq: 2, base: 1, author: 'z', time: 2, op: ['>'], kind: 'edit' };
    const other: LocalEvent = { id: { client: 'o', clientSeq: 1 }, author: 'o', op: [2, 'x'], kind: 'edit' };
    await store.write('d', 'o', { tail: [ev1], outbox: { replace: false, events: [other] }, outboxHead: 1, outboxBase: 1, outboxSize: 1, nextClientSeq: 2 });
    const cp = { docId: 'd', seq: 2, text: '>hi', authorship: [{ author: 'z', length: 3 }] };
    const w = { tail: [ev2], outbox: { replace: false, events: [] }, outboxHead: 1, outboxBase: 2, outboxSize: 0, nextClientSeq: 1, checkpoint: cp };
    const r = await store.write('d', 'me', w);
    expect(r.ok && r.value.checkpointWritten).toBe(false);
    // The other slot still restores: its outbox at base 1, rebased over the stored tail.
    const restored = restoreState(await load(store, 'd', 'o'), 'o', 'o');
    expect(restored.rebased).toBe(true);
    expect(restored.state.live.toString()).toBe('>hix');
    expect(restored.state.pending.map((p) => p.event.op)).toEqual([[3, 'x']]);
    // An outbox made on the empty document (base 0) never holds a checkpoint back: it
    // restores from empty, and catch-up fetches the events.
    const zero: LocalEvent = { id: { client: 'n', clientSeq: 1 }, author: 'n', op: ['new'], kind: 'edit' };
    await store.write('d', 'n', { tail: [], outbox: { replace: false, events: [zero] }, outboxHead: 1, outboxBase: 0, outboxSize: 1, nextClientSeq: 2 });
    await store.write('d', 'o', { tail: [], outbox: { replace: true, events: [] }, outboxHead: 2, outboxBase: 2, outboxSize: 0, nextClientSeq: 2 });
    const r2 = await store.write('d', 'me', { ...w, tail: [] });
    expect(r2.ok && r2.value.checkpointWritten).toBe(true);
    const n = await load(store, 'd', 'n');
    expect(n.checkpoint).toBeNull();
    expect(n.outbox).toEqual([zero]);
    expect(restoreState(n, 'n', 'n').state.live.toString()).toBe('new');
    store.close();
  });

  it('maps storage failures to values (C4)', async () => {
    expect(storageError(new DOMException('full', 'QuotaExceededError')).code).toBe('quota');
    expect(storageError(new DOMException('gone', 'InvalidStateError')).code).toBe('unavailable');
    expect(storageError(new Error('x')).code).toBe('failed');
    const saved = globalThis.indexedDB;
    try {
      (globalThis as { indexedDB?: IDBFactory }).indexedDB = undefined;
      const r = await LocalStore.open({ name: freshName() });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error.code).toBe('unavailable');
    } finally {
      globalThis.indexedDB = saved;
    }
  });

  it('a database from a newer app version is a value, not a throw (R5, C4)', async () => {
    const name = freshName();
    const { openDB } = await import('idb');
    const newer = await openDB(name, 5);
    newer.close();
    const r = await LocalStore.open({ name, timeoutMs: 200 });
    expect(r.ok).toBe(false); // version 1 < 5: the browser refuses (VersionError)
    expect(!r.ok && r.error.code).toBe('failed');
  });

  it('an open held up by another tab (a deletion waiting for its connection) is "blocked", and clears when that tab lets go', async () => {
    const name = freshName();
    const { openDB, deleteDB } = await import('idb');
    const other = await openDB(name, 1); // another tab that ignores versionchange
    let deleteBlocked = false;
    const deleting = deleteDB(name, { blocked: () => (deleteBlocked = true) });
    const r = await LocalStore.open({ name, timeoutMs: 200 });
    expect(deleteBlocked).toBe(true);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error.code).toBe('blocked');
    other.close();
    await deleting;
    const again = await LocalStore.open({ name, timeoutMs: 2000 });
    expect(again.ok).toBe(true);
    if (again.ok) again.value.close();
  });

  it('lets go when another tab upgrades or deletes the database, and later operations say so', async () => {
    const name = freshName();
    const r = await LocalStore.open({ name });
    if (!r.ok) throw new Error(r.error.message);
    const store = r.value;
    expect((await store.listDocuments()).ok).toBe(true);
    const { openDB } = await import('idb');
    const newer = await openDB(name, DB_VERSION + 1); // not blocked: this store closes on versionchange
    newer.close();
    const after = await store.listDocuments();
    expect(after.ok).toBe(false);
    expect(!after.ok && after.error.code).toBe('blocked');
    expect(!after.ok && after.error.message).toContain('another tab');
  });

  it('confirmed events go into their chunk\'s block at every ROWS_BEFORE_MERGE rows and at the chunk\'s end; the newest stay rows; all read back (O1)', async () => {
    const name = freshName();
    const store = await open(name);
    const events = traceToEvents(Array.from({ length: 1250 }, (_, i) => [i, 0, String.fromCharCode(97 + (i % 26))] as [number, number, string]), { author: 'a', client: 'a-0' });
    const base = { outbox: { replace: false, events: [] }, outboxHead: 1, outboxSize: 0, nextClientSeq: 1 };
    const rowsAfter: number[] = [];
    for (let at = 0; at < events.length; at += 7) {
      const batch = events.slice(at, at + 7);
      expect((await store.write('d', 'me', { ...base, tail: batch, outboxBase: batch[batch.length - 1].seq })).ok).toBe(true);
      rowsAfter.push((await dumpDatabase(name)).tail.length);
    }
    // Rows never reach ROWS_BEFORE_MERGE + a write's worth; the chunk 1..1000 is one block.
    expect(Math.max(...rowsAfter)).toBeLessThan(ROWS_BEFORE_MERGE + 7);
    const raw = await dumpDatabase(name);
    expect(raw.blocks.map(([k]) => (k as [string, number])[1])[0]).toBe(SEAL_EVENTS);
    expect(raw.blocks.every(([, v]) => (v as { bytes: unknown }).bytes instanceof Uint8Array)).toBe(true);
    const doc = await load(store, 'd', 'me');
    expect(doc.problems).toEqual([]);
    expect(doc.tail).toEqual(events);
    expect(await store.events('d', 0, 2000, 5000)).toEqual({ ok: true, value: events });
    expect(await store.events('d', 995, 1005, 3)).toEqual({ ok: true, value: events.slice(995, 998) });
    expect(await store.firstEventSeq('d')).toEqual({ ok: true, value: 1 });
    // Forgetting the document forgets its blocks.
    expect((await store.deleteDocument('d')).ok).toBe(true);
    expect((await dumpDatabase(name)).blocks).toEqual([]);
    store.close();
  });

  it('titles are the first line, trimmed', () => {
    expect(titleOf('  Hello world \nsecond')).toBe('Hello world');
    expect(titleOf('')).toBe('');
    expect(titleOf('x'.repeat(300)).length).toBe(120);
  });
});

describe('DocPersister (O1)', () => {
  it('holds sending back until the transaction with the edit has committed, batching a burst', async () => {
    const name = freshName();
    const store = await open(name);
    const st = new ClientState({ client: 'me', author: 'me' });
    const sched = manual();
    const writes: number[] = [];
    const p = new DocPersister({
      store,
      docId: 'd',
      client: 'me',
      state: () => st,
      schedule: sched.schedule,
      minGapMs: Number.POSITIVE_INFINITY,
      onChange: () => writes.push(p.sendableUpTo()),
    });
    for (let i = 0; i < 5; i++) {
      insertAt(st, i, 'abcde'[i]);
      p.noteEdit();
    }
    expect(p.sendableUpTo()).toBe(0);
    expect(sched.run()).toBe(1); // one write for the burst
    expect(p.sendableUpTo()).toBe(0); // not before it resolves
    await p.flush();
    expect(p.sendableUpTo()).toBe(5);
    expect(writes).toEqual([5]);
    // A reload at this point restores all five.
    const reopened = await open(name);
    const restored = restoreState(await load(reopened, 'd', 'me'), 'me', 'me');
    expect(restored.state.live.toString()).toBe('abcde');
    expect(restored.state.pending.map((e) => e.event.id.clientSeq)).toEqual([1, 2, 3, 4, 5]);
    expect(restored.state.nextClientSeq).toBe(6);
    p.close();
    store.close();
    reopened.close();
  });

  it('acks move events from the outbox to the tail; remote events rebase the stored outbox', async () => {
    const name = freshName();
    const store = await open(name);
    const server = new Server('d');
    const me = new ClientState({ client: 'me', author: 'me' });
    const you = new ClientState({ client: 'you', author: 'you' });
    const p = new DocPersister({ store, docId: 'd', client: 'me', state: () => me, schedule: (f) => queueMicrotask(f) });

    insertAt(me, 0, 'hello');
    p.noteEdit();
    await p.flush();
    const batch = me.takeBatch(p.sendableUpTo())!;
    const appended = server.submit('me', batch.base, batch.events);
    // Ack: the outbox head becomes a tail event.
    const head = me.pending[0].event;
    expect(me.ack(head.id, appended[0].seq).ok).toBe(true);
    p.noteConfirmed([{ ...head, seq: appended[0].seq, base: batch.base, time: 0 }], false);

    // Meanwhile: my unsent edit, and someone else's edit at the start.
    insertAt(me, 5, ' world');
    p.noteEdit();
    expect(you.receive(server.log.events).ok).toBe(true);
    insertAt(you, 0, '>> ');
    const yb = you.takeBatch()!;
    const theirs = server.submit('you', yb.base, yb.events);
    const r = me.receive(theirs);
    expect(r.ok).toBe(true);
    p.noteConfirmed(theirs, me.pending.length > 0);
    await p.flush();

    const reopened = await open(name);
    const doc = await load(reopened, 'd', 'me');
    expect(doc.tail.map((e) => e.seq)).toEqual([1, 2]);
    expect(doc.outboxBase).toBe(2);
    const restored = restoreState(doc, 'me', 'me').state;
    expect(restored.live.toString()).toBe('>> hello world');
    expect(restored.confirmed.toString()).toBe('>> hello');
    // The restored outbox goes to the server and lands exactly once.
    const b2 = restored.takeBatch()!;
    const again = server.submit('me', b2.base, b2.events);
    for (const e of again) expect(restored.ack(e.id, e.seq).ok).toBe(true);
    expect(server.text()).toBe('>> hello world');
    p.close();
    store.close();
    reopened.close();
  });

  it('writes a checkpoint every N confirmed events and when idle, trimming the tail (C3)', async () => {
    const store = await open(freshName());
    const server = new Server('d');
    const me = new ClientState({ client: 'me', author: 'me' });
    const you = new ClientState({ client: 'you', author: 'you' });
    const p = new DocPersister({ store, docId: 'd', client: 'me', state: () => me, schedule: (f) => queueMicrotask(f), checkpointEvery: 50, idleMs: 30 });
    for (let i = 0; i < 120; i++) {
      insertAt(you, i, 'x');
      const b = you.takeBatch()!;
      const evs = server.submit('you', b.base, b.events);
      for (const e of evs) you.ack(e.id, e.seq);
      expect(me.receive(evs).ok).toBe(true);
      p.noteConfirmed(evs, false);
      if (i % 7 === 0) await p.flush();
    }
    await p.flush();
    let doc = await load(store, 'd', 'me');
    expect(doc.checkpoint).not.toBeNull();
    expect(doc.checkpoint!.seq).toBeGreaterThanOrEqual(100);
    expect(doc.checkpoint!.seq + doc.tail.length).toBe(120);
    // Idle: the rest goes into a checkpoint too.
    await new Promise((r) => setTimeout(r, 80));
    await p.flush();
    doc = await load(store, 'd', 'me');
    expect(doc.checkpoint!.seq).toBe(120);
    expect(doc.tail).toEqual([]);
    expect(restoreState(doc, 'me', 'me').state.live.toString()).toBe('x'.repeat(120));
    p.close();
    store.close();
  });

  it('on a storage failure: reports it, lets edits sync from memory, and stores everything once writes work again (C4)', async () => {
    const name = freshName();
    const real = await open(name);
    let failing = true;
    const flaky = {
      write: (docId: string, client: string, w: DocWrite) =>
        failing ? Promise.resolve({ ok: false as const, error: { code: 'quota' as const, message: 'full' } }) : real.write(docId, client, w),
    } as unknown as LocalStore;
    const me = new ClientState({ client: 'me', author: 'me' });
    let now = 0;
    const p = new DocPersister({ store: flaky, docId: 'd', client: 'me', state: () => me, schedule: (f) => queueMicrotask(f), now: () => now, retryMs: 20 });
    insertAt(me, 0, 'abc');
    p.noteEdit();
    await p.flush();
    expect(p.error?.code).toBe('quota');
    expect(p.memoryOnly).toBe(true);
    expect(p.sendableUpTo()).toBe(Number.POSITIVE_INFINITY);
    insertAt(me, 3, 'def');
    p.noteEdit();
    failing = false;
    now = 100;
    await new Promise((r) => setTimeout(r, 60)); // the retry timer
    await p.flush();
    expect(p.error).toBeNull();
    expect(p.memoryOnly).toBe(false);
    expect(p.sendableUpTo()).toBe(2);
    const restored = restoreState(await load(real, 'd', 'me'), 'me', 'me').state;
    expect(restored.live.toString()).toBe('abcdef');
    p.close();
    real.close();
  });

  it('a page that goes before its write commits leaves a journal that the next open stores (C2, O1)', async () => {
    const name = freshName();
    const real = await open(name);
    const server = new Server('d');
    const mem = new Map<string, string>();
    const storage: JournalStorage = {
      getItem: (k) => mem.get(k) ?? null,
      setItem: (k, v) => void mem.set(k, v),
      removeItem: (k) => void mem.delete(k),
    };
    // Stores the first write, then "the page is gone": later writes never commit.
    let alive = true;
    const dying = Object.create(real) as LocalStore;
    dying.write = (docId: string, client: string, w: DocWrite) => (alive ? real.write(docId, client, w) : new Promise(() => undefined));
    const me = new ClientState({ client: 'me', author: 'me' });
    const p = new DocPersister({ store: dying, docId: 'd', client: 'me', state: () => me, journalStorage: storage });
    insertAt(me, 0, 'abc');
    p.noteEdit();
    await p.flush();
    // Someone else's event arrives and rebases the outbox; I type more; the page goes.
    const other = new ClientState({ client: 'o', author: 'o' });
    insertAt(other, 0, '>');
    const theirs = server.submit('o', 0, other.takeBatch()!.events);
    expect(me.receive(theirs).ok).toBe(true);
    p.noteConfirmed(theirs, true);
    insertAt(me, 4, 'd');
    p.noteEdit();
    alive = false;
    expect(p.journal()).toBe(true);
    expect(mem.has(journalKey('d', 'me'))).toBe(true);
    p.close();

    const next = await open(name);
    expect(await applyJournal(next, storage, 'd', 'me')).toBe(true);
    expect(mem.size).toBe(0);
    const restored = restoreState(await load(next, 'd', 'me'), 'me', 'me').state;
    expect(restored.live.toString()).toBe('abc>d');
    expect(restored.confirmedSeq).toBe(1);
    expect(restored.nextClientSeq).toBe(3);
    // A stale journal (older than the store) is dropped, not applied.
    mem.set(journalKey('d', 'me'), JSON.stringify({ v: 1, docId: 'd', client: 'me', write: { tail: [], outbox: { replace: true, events: [] }, outboxHead: 1, outboxBase: 0, outboxSize: 0, nextClientSeq: 1 } }));
    expect(await applyJournal(next, storage, 'd', 'me')).toBe(false);
    expect(mem.size).toBe(0);
    expect(restoreState(await load(next, 'd', 'me'), 'me', 'me').state.live.toString()).toBe('abc>d');
    real.close();
    next.close();
  });

  it('without a store it is in memory mode for good and says why; each burst of edits is announced as sendable', async () => {
    const me = new ClientState({ client: 'me', author: 'me' });
    let changes = 0;
    const p = new DocPersister({
      store: null,
      docId: 'd',
      client: 'me',
      state: () => me,
      initialError: { code: 'unavailable', message: 'no IndexedDB' },
      onChange: () => changes++,
    });
    insertAt(me, 0, 'a');
    p.noteEdit();
    insertAt(me, 1, 'b');
    p.noteEdit();
    expect(p.sendableUpTo()).toBe(Number.POSITIVE_INFINITY);
    expect(p.error?.code).toBe('unavailable');
    await Promise.resolve();
    expect(changes).toBe(1); // one burst, one announcement (no write will ever announce it)
    insertAt(me, 2, 'c');
    p.noteEdit();
    await Promise.resolve();
    expect(changes).toBe(2);
  });

  it('while writes fail, a new edit is announced at once, not at the next retry', async () => {
    const failing = {
      write: () => Promise.resolve({ ok: false as const, error: { code: 'quota' as const, message: 'full' } }),
    } as unknown as LocalStore;
    const me = new ClientState({ client: 'me', author: 'me' });
    let changes = 0;
    const p = new DocPersister({ store: failing, docId: 'd', client: 'me', state: () => me, schedule: (f) => queueMicrotask(f), retryMs: 60_000, onChange: () => changes++ });
    insertAt(me, 0, 'a');
    p.noteEdit();
    await p.flush();
    expect(p.memoryOnly).toBe(true);
    const before = changes;
    insertAt(me, 1, 'b');
    p.noteEdit();
    await Promise.resolve();
    expect(changes).toBe(before + 1);
    expect(p.unstored).toBe(2); // neither edit is in the store
    p.close();
  });
});
