import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { opFromSplice, type Op } from '../../shared/src/index.js';
import { eventSourceFor } from '../src/history/event-source.js';
import { UndoController } from '../src/undo/undo-controller.js';
import { StepGrouper } from '../src/undo/step-grouper.js';
import type { SyncClient } from '../src/sync/sync-client.js';
import type { LocalStore } from '../src/local/local-store.js';
import { Harness, Network, settled, waitFor } from './helpers/sync-harness.js';

/** A client with its undo controller, applying undo ops as the editor binding does (to the document). */
function withUndo(c: SyncClient, store: LocalStore | null) {
  const source = eventSourceFor(c, store);
  const undo = new UndoController({ client: c, source, local: store, scanPage: 7 });
  undo.attach((op, kind, meta) => c.edit(op, kind, meta));
  undo.start();
  const grouper = new StepGrouper();
  let t = 0;
  return {
    undo,
    source,
    /** Types `s` at `pos`, one event per character, as one typing run (unless `gap`). */
    type(pos: number, s: string, gap = 10) {
      for (let i = 0; i < s.length; i++) {
        t += gap;
        const op: Op = opFromSplice(pos + i, '', s[i]);
        const step = grouper.stepFor({ cls: 'type', multi: false, replacedSelection: false, time: t }, c.nextEventKey());
        const r = c.edit(op, 'edit', { step });
        if (!r.ok) throw new Error(r.error.message);
      }
    },
    jump() {
      grouper.breakRun();
    },
    close() {
      undo.close();
      source.close();
    },
  };
}

describe('UndoController with a real server and local store', () => {
  const h = new Harness();
  afterEach(() => h.close());

  it('undoes only its own step (U1), redoes it, survives a reload, and walks the stored steps offline (U2)', async () => {
    const url = await h.serve();
    const annStore = await h.store();
    const annNet = new Network();
    let ann = await h.open(url, { name: 'ann', store: annStore, network: annNet });
    const bob = await h.open(url, { name: 'bob' });
    let a = withUndo(ann, annStore);
    await waitFor(() => a.undo.getSnapshot().ready, 'ann ready');
    expect(a.undo.getSnapshot().canUndo).toBe(false);

    a.type(0, 'hello');
    await waitFor(() => settled(ann), 'ann settles');
    await waitFor(() => bob.text() === 'hello', 'bob sees hello');
    for (let i = 0; i < 6; i++) expect(bob.edit(opFromSplice(5 + i, '', ' world'[i])).ok).toBe(true);
    await waitFor(() => settled(bob) && ann.text() === 'hello world', 'ann sees world');
    expect(a.undo.history().depth).toEqual({ undo: 1, redo: 0 });

    expect(await a.undo.undo()).toBe('done');
    expect(ann.text()).toBe(' world');
    await waitFor(() => settled(ann) && bob.text() === ' world', 'bob sees the undo');
    expect(a.undo.getSnapshot()).toMatchObject({ canUndo: false, canRedo: true });

    // Reload: a new client on the same store; the stacks come back from the stored log.
    a.close();
    await ann.flushStorage();
    await ann.close();
    ann = await h.open(url, { name: 'ann', store: annStore, network: annNet });
    a = withUndo(ann, annStore);
    await waitFor(() => a.undo.getSnapshot().ready, 'ann ready after reload');
    expect(a.undo.getSnapshot()).toMatchObject({ canUndo: false, canRedo: true });
    expect(await a.undo.redo()).toBe('done');
    expect(ann.text()).toBe('hello world');
    await waitFor(() => settled(ann) && bob.text() === 'hello world', 'bob sees the redo');

    // Two more steps, then offline: undo both from what is stored here. Typing and its
    // acks extend the fold; they never rebuild it.
    const rebuilds = a.undo.rebuilds;
    a.jump();
    a.type(11, '!');
    a.jump();
    a.type(0, '> ');
    await waitFor(() => settled(ann) && bob.text() === '> hello world!', 'bob sees both');
    expect(a.undo.history().depth).toEqual({ undo: 3, redo: 0 });
    expect(a.undo.rebuilds).toBe(rebuilds);
    annNet.set(false);
    await waitFor(() => ann.getSnapshot().status === 'offline', 'ann offline');
    expect(await a.undo.undo()).toBe('done');
    expect(await a.undo.undo()).toBe('done');
    expect(ann.text()).toBe('hello world');
    expect(await a.undo.undo()).toBe('done'); // the redone hello
    expect(ann.text()).toBe(' world');
    expect(a.undo.getSnapshot().canUndo).toBe(false);
    annNet.set(true);
    await waitFor(() => settled(ann) && bob.text() === ' world', 'converged after going online');
    a.close();
  });

  it('undo of a step still in the outbox, rebased over another person typing into it, takes back only that step (U1)', async () => {
    const url = await h.serve();
    const store = await h.store();
    const net = new Network();
    const ann = await h.open(url, { name: 'ann', store, network: net });
    const bob = await h.open(url, { name: 'bob' });
    const a = withUndo(ann, store);
    await waitFor(() => a.undo.getSnapshot().ready, 'ready');
    a.type(0, '[]');
    await waitFor(() => settled(ann) && bob.text() === '[]', 'bob sees []');
    net.set(false);
    await waitFor(() => ann.getSnapshot().status === 'offline', 'offline');
    a.jump();
    a.type(1, 'abcd'); // ann, offline: "[abcd]"
    // Bob, meanwhile, types inside the same brackets.
    for (const [i, ch] of [...'XY'].entries()) expect(bob.edit(opFromSplice(1 + i, '', ch)).ok).toBe(true);
    await waitFor(() => settled(bob), 'bob settles');
    // Back online: ann's outbox is rebased over bob's XY. Then undo the outbox step.
    net.set(true);
    await waitFor(() => settled(ann) && ann.text() === bob.text(), 'converged');
    expect(ann.text()).toMatch(/^\[(XYabcd|abcdXY)\]$/);
    expect(await a.undo.undo()).toBe('done');
    expect(ann.text()).toBe('[XY]');
    // Offline again, undo the brackets: bob's XY stays.
    net.set(false);
    await waitFor(() => ann.getSnapshot().status === 'offline', 'offline 2');
    expect(await a.undo.undo()).toBe('done');
    expect(ann.text()).toBe('XY');
    expect(await a.undo.redo()).toBe('done');
    expect(await a.undo.redo()).toBe('done');
    expect(ann.text()).toMatch(/^\[(XYabcd|abcdXY)\]$/);
    net.set(true);
    await waitFor(() => settled(ann) && settled(bob) && bob.text() === ann.text(), 'converged again');
    a.close();
  });

  it('undo while the step is only in the outbox (offline, never sent) reverts it there', async () => {
    const url = await h.serve();
    const store = await h.store();
    const net = new Network();
    net.online = false;
    const ann = await h.open(url, { name: 'ann', store, network: net });
    const a = withUndo(ann, store);
    await waitFor(() => a.undo.getSnapshot().ready, 'ready');
    a.type(0, 'draft');
    a.jump();
    a.type(5, '!');
    expect(await a.undo.undo()).toBe('done');
    expect(ann.text()).toBe('draft');
    expect(await a.undo.undo()).toBe('done');
    expect(ann.text()).toBe('');
    expect(a.undo.getSnapshot()).toMatchObject({ canUndo: false, canRedo: true });
    net.set(true);
    await waitFor(() => settled(ann), 'sent');
    const log = await a.source.events(0, ann.state.confirmedSeq);
    expect(log.ok && log.value.map((e) => e.kind)).toEqual(['edit', 'edit', 'edit', 'edit', 'edit', 'edit', 'undo', 'undo']);
    a.close();
  });

  it('an undo whose step was deleted by others still appends an (empty) undo event, and the server takes it', async () => {
    const url = await h.serve();
    const store = await h.store();
    const ann = await h.open(url, { name: 'ann', store });
    const bob = await h.open(url, { name: 'bob' });
    const a = withUndo(ann, store);
    await waitFor(() => a.undo.getSnapshot().ready, 'ready');
    a.type(0, 'abc');
    await waitFor(() => settled(ann) && bob.text() === 'abc', 'bob sees abc');
    expect(bob.edit(opFromSplice(0, 'abc', 'XY')).ok).toBe(true);
    await waitFor(() => settled(bob) && ann.text() === 'XY', 'ann sees XY');
    const before = ann.state.confirmedSeq;
    expect(await a.undo.undo()).toBe('done');
    expect(ann.text()).toBe('XY');
    await waitFor(() => settled(ann) && ann.state.confirmedSeq === before + 1, 'the empty undo is confirmed');
    const last = await a.source.events(before, before + 1);
    expect(last.ok && last.value[0].kind).toBe('undo');
    expect(last.ok && last.value[0].op).toEqual([]);
    expect(a.undo.getSnapshot()).toMatchObject({ canUndo: false, canRedo: true });
    a.close();
  });

  it('offline, with the step not stored here and not in memory, undo says so instead of doing nothing (U6)', async () => {
    const url = await h.serve();
    const store = await h.store();
    const net = new Network();
    const ann = await h.open(url, { name: 'ann', store, network: net });
    const a = withUndo(ann, store);
    await waitFor(() => a.undo.getSnapshot().ready, 'ready');
    a.type(0, 'abc');
    await waitFor(() => settled(ann), 'settles');
    a.close();
    // A fresh controller without a local store and with memory starting at the head
    // knows the step (from the stream it folds) only if it saw it: feed it nothing local,
    // so the fold has nothing. Instead: a controller whose source has neither store nor server.
    const noStore = eventSourceFor({ ...ann, docId: ann.docId, state: ann.state, onConfirmed: (f) => ann.onConfirmed(f), history: (x, y, l) => ann.history(x, y, l) }, null);
    const u = new UndoController({ client: ann, source: noStore, local: store });
    u.attach((op, kind, meta) => ann.edit(op, kind, meta));
    u.start();
    await waitFor(() => u.getSnapshot().ready, 'ready 2');
    expect(u.getSnapshot().canUndo).toBe(true); // the fold read the stored events
    net.set(false);
    await waitFor(() => ann.getSnapshot().status === 'offline', 'offline');
    expect(await u.undo()).toBe('failed');
    expect(u.getSnapshot().message).toMatch(/not on this device/);
    expect(ann.text()).toBe('abc');
    net.set(true);
    await waitFor(() => settled(ann), 'online again');
    expect(await u.undo()).toBe('done'); // fetched from the server
    expect(ann.text()).toBe('');
    expect(u.getSnapshot().message).toBe(null);
    u.close();
    noStore.close();
  });
});
