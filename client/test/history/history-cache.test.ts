/**
 * The history cache (IndexedDB 'eventide-history', fake-indexeddb here): events and server
 * checkpoints of a document, kept forever; a cache written by the first version (events
 * only) is upgraded in place and keeps what it had; failures are values.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { deleteDB, openDB } from 'idb';
import { checkpointOf, replay, traceToEvents, type Checkpoint } from '../../../shared/src/index.js';
import { checkpointsOf, HistoryCache } from '../../src/history/history-cache.js';

const events = traceToEvents([
  [0, 0, 'hello'],
  [5, 0, ' world'],
  [0, 1, 'H'],
  [11, 0, '!'],
  [0, 0, '> '],
]);
const cp = (seq: number): Checkpoint => checkpointOf('d', seq, replay(null, events.slice(0, seq)));

describe('HistoryCache', () => {
  it('upgrades a version 1 cache (events only) in place, then keeps checkpoints: the newest at or before a seq, and those in a range (R5, H5)', async () => {
    const v1 = await openDB('eventide-history', 1, {
      upgrade(db) {
        db.createObjectStore('events');
      },
    });
    await v1.put('events', events[0], ['d', 1]);
    v1.close();

    const cache = await HistoryCache.open();
    expect(cache).not.toBeNull();
    const old = await cache!.events('d', 0, 5);
    expect(old).toEqual({ ok: true, value: [events[0]] });
    expect(await cache!.checkpointAtOrBefore('d', 5)).toEqual({ ok: true, value: null });

    expect(await cache!.put('d', events.slice(1), [cp(2), cp(4)])).toEqual({ ok: true, value: null });
    // Another document's checkpoint under this document is not kept.
    expect((await cache!.put('d', [], [{ ...cp(3), docId: 'other' }])).ok).toBe(true);
    expect(await cache!.events('d', 0, 5)).toEqual({ ok: true, value: events });
    expect(await cache!.checkpointAtOrBefore('d', 5)).toEqual({ ok: true, value: cp(4) });
    expect(await cache!.checkpointAtOrBefore('d', 3)).toEqual({ ok: true, value: cp(2) });
    expect(await cache!.checkpointAtOrBefore('d', 1)).toEqual({ ok: true, value: null });
    expect(await cache!.checkpointAtOrBefore('other', 5)).toEqual({ ok: true, value: null });
    expect(await cache!.checkpoints('d', 2, 4)).toEqual({ ok: true, value: [cp(4)] });
    expect(await cache!.checkpoints('d', 0, 5)).toEqual({ ok: true, value: [cp(2), cp(4)] });
    const lookup = checkpointsOf(cache, 'd')!;
    expect(await lookup.atOrBefore(4)).toEqual({ ok: true, value: cp(4) });
    expect(await lookup.inRange(1, 3)).toEqual({ ok: true, value: [cp(2)] });
    expect(checkpointsOf(null, 'd')).toBeNull();

    // A closed database: every call is a value with the 'storage' code, none throws.
    cache!.close();
    for (const r of [await cache!.checkpointAtOrBefore('d', 5), await cache!.checkpoints('d', 0, 5), await cache!.put('d', events, [cp(2)]), await cache!.events('d', 0, 5)]) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('storage');
    }
  });
  it('upgrades a version 2 cache (event rows, checkpoint objects) in place: every event and checkpoint reads back, from blocks and bytes or marks (L5)', async () => {
    const name = 'eventide-history';
    await deleteDB(name);
    const v2 = await openDB(name, 2, {
      upgrade(db) {
        db.createObjectStore('events');
        db.createObjectStore('checkpoints');
      },
    });
    for (const e of events) await v2.put('events', e, ['d', e.seq]);
    await v2.put('events', events[0], ['other', 1]);
    for (const c of [cp(2), cp(4)]) await v2.put('checkpoints', c, ['d', c.seq]);
    v2.close();

    const cache = await HistoryCache.open();
    expect(cache).not.toBeNull();
    expect(await cache!.events('d', 0, 5)).toEqual({ ok: true, value: events });
    expect(await cache!.events('other', 0, 5)).toEqual({ ok: true, value: [events[0]] });
    expect(await cache!.checkpoints('d', 0, 5)).toEqual({ ok: true, value: [cp(2), cp(4)] });
    expect(await cache!.checkpointAtOrBefore('d', 3)).toEqual({ ok: true, value: cp(2) });
    cache!.close();
    const raw = await openDB(name);
    expect([...raw.objectStoreNames].sort()).toEqual(['blocks', 'checkpoints']);
    const records = (await raw.getAll('checkpoints')) as { seq: number; bytes: Uint8Array | null }[];
    // The first is whole, the second (within CHECKPOINT_SPACING) a mark.
    expect(records.map((r) => [r.seq, r.bytes instanceof Uint8Array])).toEqual([
      [2, true],
      [4, false],
    ]);
    raw.close();
  });

  it('a damaged block is a gap, not an error or a wrong event; a mark that needs it is not offered (S1)', async () => {
    await deleteDB('eventide-history');
    const cache = await HistoryCache.open();
    expect((await cache!.put('d', events, [cp(2), cp(4)])).ok).toBe(true);
    cache!.close();
    const raw = await openDB('eventide-history');
    const [key] = (await raw.getAllKeys('blocks')) as [string, number][];
    const b = (await raw.get('blocks', key)) as { first: number; last: number; bytes: Uint8Array };
    const bytes = b.bytes.slice();
    bytes[bytes.length - 3] ^= 0x55;
    await raw.put('blocks', { ...b, bytes }, key);
    raw.close();
    const again = await HistoryCache.open();
    expect(await again!.events('d', 0, 5)).toEqual({ ok: true, value: [] });
    expect(await again!.checkpoints('d', 0, 5)).toEqual({ ok: true, value: [cp(2)] });
    // Fetched again, the events replace the damaged block.
    expect((await again!.put('d', events)).ok).toBe(true);
    expect(await again!.events('d', 0, 5)).toEqual({ ok: true, value: events });
    again!.close();
  });
  it('forget drops every cached event and checkpoint of one document, and only of that one (C20)', async () => {
    await deleteDB('eventide-history');
    const cache = await HistoryCache.open();
    const other = (seq: number): Checkpoint => ({ ...cp(seq), docId: 'e' });
    expect((await cache!.put('d', events, [cp(2), cp(4)])).ok).toBe(true);
    expect((await cache!.put('e', events, [other(2), other(4)])).ok).toBe(true);
    expect(await cache!.forget('d')).toEqual({ ok: true, value: null });
    expect(await cache!.events('d', 0, 5)).toEqual({ ok: true, value: [] });
    expect(await cache!.checkpoints('d', 0, 5)).toEqual({ ok: true, value: [] });
    expect(await cache!.events('e', 0, 5)).toEqual({ ok: true, value: events });
    expect(await cache!.checkpoints('e', 0, 5)).toEqual({ ok: true, value: [other(2), other(4)] });
    cache!.close();
    // Nothing of 'd' is left in the database at all, keys included.
    const raw = await openDB('eventide-history');
    for (const store of ['blocks', 'checkpoints']) {
      const keys = (await raw.getAllKeys(store)) as [string, number][];
      expect(keys.length).toBeGreaterThan(0);
      expect(keys.filter((k) => k[0] === 'd')).toEqual([]);
    }
    raw.close();
    // A closed database: a value, not a throw.
    const r = await cache!.forget('e');
    expect(r.ok).toBe(false);
  });
});
