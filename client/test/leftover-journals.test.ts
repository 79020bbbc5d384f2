/**
 * The document list's view of a copy whose page went right after an ack (issue 16, C19):
 * the write that trims the stored outbox never committed, the unload journal holds the trim,
 * and applyLeftoverJournals makes the store say what the next open would. A journal that
 * holds an edit the store lacks makes it count more, not less; removal drops the journals.
 * Real LocalStore over fake-indexeddb; the journal storage is a Map with localStorage's
 * listing (key, length).
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { ClientState, MemoryLog, Sequencer, opFromSplice, replay, type DocEvent, type LocalEvent } from '../../shared/src/index.js';
import type { DocWrite, LocalStore } from '../src/local/local-store.js';
import { DocPersister } from '../src/local/persister.js';
import { journaledClients, removeJournalsOf, type JournalStorage } from '../src/local/journal.js';
import { applyLeftoverJournals } from '../src/local/leftover-journals.js';
import { open } from './helpers/local-store-open.js';

let dbCount = 0;
const freshName = () => `eventide-leftover-${++dbCount}`;

function mapStorage(): { storage: JournalStorage; mem: Map<string, string> } {
  const mem = new Map<string, string>();
  const storage: JournalStorage = {
    getItem: (k) => mem.get(k) ?? null,
    setItem: (k, v) => void mem.set(k, v),
    removeItem: (k) => void mem.delete(k),
    get length() {
      return mem.size;
    },
    key: (i) => [...mem.keys()][i] ?? null,
  };
  return { storage, mem };
}

const insertAt = (st: ClientState, pos: number, s: string): LocalEvent => {
  const r = st.edit(opFromSplice(pos, '', s));
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
};

async function outboxSize(store: LocalStore, docId: string): Promise<number> {
  const r = await store.slotsOf(docId);
  if (!r.ok) throw new Error(r.error.message);
  return r.value.reduce((n, s) => n + s.outboxSize, 0);
}

/**
 * A page that stores an edit, sends it, has it acknowledged, and goes before the write that
 * trims the outbox commits (its store stops committing: the navigation aborted it).
 * `thenType`: an edit typed after the ack, also only in the journal.
 */
async function pageGoneAfterAck(name: string, storage: JournalStorage, thenType: string | null): Promise<void> {
  const real = await open(name);
  const sequencer = new Sequencer('d', new MemoryLog(), replay(null, []), 0);
  let alive = true;
  const dying = Object.create(real) as LocalStore;
  dying.write = (docId: string, client: string, w: DocWrite) => (alive ? real.write(docId, client, w) : new Promise(() => undefined));
  const me = new ClientState({ client: 'b-0', author: 'me' });
  const p = new DocPersister({ store: dying, docId: 'd', client: 'b-0', state: () => me, journalStorage: storage });
  insertAt(me, 0, 'hello');
  p.noteEdit();
  await p.flush();
  expect(await outboxSize(real, 'd')).toBe(1);
  const batch = me.takeBatch(p.sendableUpTo())!;
  const r = sequencer.submit('b-0', { base: batch.base, events: batch.events }, 1000);
  if (!r.ok) throw new Error(r.error.message);
  const seq = r.value.appended[0].seq;
  const head = me.pending[0].event;
  expect(me.ack(head.id, seq).ok).toBe(true);
  alive = false; // the trim below never commits
  p.noteConfirmed([{ ...head, seq, base: batch.base, time: 1000 } satisfies DocEvent], false);
  if (thenType !== null) {
    insertAt(me, 5, thenType);
    p.noteEdit();
  }
  expect(p.journal()).toBe(true);
  p.close();
  real.close();
}

describe('applyLeftoverJournals (C19)', () => {
  it('a page gone right after an ack: the store still counts the acknowledged edit until the journal is applied, then none', async () => {
    const name = freshName();
    const { storage, mem } = mapStorage();
    await pageGoneAfterAck(name, storage, null);
    const store = await open(name);
    // What the list saw before: the acknowledged edit counted as held.
    expect(await outboxSize(store, 'd')).toBe(1);
    expect(journaledClients(storage, 'd')).toEqual(['b-0']);
    expect(await applyLeftoverJournals(store, 'd', { storage })).toBe(1);
    expect(await outboxSize(store, 'd')).toBe(0);
    expect(mem.size).toBe(0);
    // Nothing left to apply: a second call changes nothing.
    expect(await applyLeftoverJournals(store, 'd', { storage })).toBe(0);
    store.close();
  });

  it('an edit typed after the ack, only in the journal, is counted once applied (never understated), and removal drops the journals', async () => {
    const name = freshName();
    const { storage, mem } = mapStorage();
    await pageGoneAfterAck(name, storage, ' world');
    mem.set('eventide.journal.other.x-0', '{}'); // another document's: untouched
    const store = await open(name);
    expect(await outboxSize(store, 'd')).toBe(1);
    expect(await applyLeftoverJournals(store, 'd', { storage })).toBe(1);
    // The acknowledged edit is gone from the outbox, the new one is in it.
    expect(await outboxSize(store, 'd')).toBe(1);
    const loaded = await store.load('d', 'b-0');
    if (!loaded.ok) throw new Error(loaded.error.message);
    expect(loaded.value.outbox.map((e) => e.id.clientSeq)).toEqual([2]);
    removeJournalsOf(storage, 'd');
    expect([...mem.keys()]).toEqual(['eventide.journal.other.x-0']);
    store.close();
  });
});
