import { describe, expect, it } from 'vitest';
import { SnapshotStore, type SyncSnapshot } from '../src/sync/sync-snapshot.js';
import type { PeerInfo } from '../src/sync/presence.js';

// What React reads of a sync client. A keystroke changes the outbox size (and the status) and
// nothing else; whatever a component takes from the snapshot besides must keep its identity then,
// or the component redoes its work inside the keystroke's handling (the editor redrew its carets).

const peer = (client: string): PeerInfo => ({ client, user: { name: client, color: '#123456' }, cursor: { anchor: 1, head: 1 } });

function store(initial: SyncSnapshot) {
  let current = initial;
  const s = new SnapshotStore(() => current);
  return {
    s,
    set(next: Partial<SyncSnapshot>) {
      current = { ...current, ...next };
      s.changed();
    },
  };
}

const base: SyncSnapshot = { status: 'online', pending: 0, storageError: null, unstored: 0, errors: [], peers: [], fatal: null, fatalCode: null, role: 'edit' };

describe('SnapshotStore', () => {
  it('keeps the peers list itself while its entries are the same, when the outbox size changes (C22)', () => {
    const a = peer('a');
    const b = peer('b');
    const { s, set } = store({ ...base, peers: [a, b] });
    const first = s.get();
    // The client builds a new list on every read: same entries, new array.
    set({ pending: 1, status: 'syncing', peers: [a, b] });
    const second = s.get();
    expect(second).not.toBe(first);
    expect(second.pending).toBe(1);
    expect(second.peers).toBe(first.peers);
    set({ pending: 0, status: 'online', peers: [a, b] });
    expect(s.get().peers).toBe(first.peers);
  });

  it('gives a new peers list when someone comes, goes or moves (C22)', () => {
    const a = peer('a');
    const { s, set } = store({ ...base, peers: [a] });
    const first = s.get();
    const moved = { ...a, cursor: { anchor: 5, head: 5 } };
    set({ peers: [moved] });
    const second = s.get();
    expect(second.peers).not.toBe(first.peers);
    expect(second.peers).toEqual([moved]);
    set({ peers: [moved, peer('b')] });
    expect(s.get().peers.map((p) => p.client)).toEqual(['a', 'b']);
    set({ peers: [] });
    expect(s.get().peers).toEqual([]);
  });

  it('keeps the whole snapshot when nothing shown changed (C22)', () => {
    const { s, set } = store({ ...base, peers: [peer('a')] });
    const first = s.get();
    set({});
    expect(s.get()).toBe(first);
  });
});
