import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { ClientState, opFromSplice } from '../../shared/src/index.js';
import { DocPersister, afterPaint } from '../src/local/persister.js';
import { restoreState } from '../src/local/restore.js';
import { open, load } from './helpers/local-store-open.js';

// Where a keystroke's write starts (C23): in the browser after the frame that paints the key,
// not in the key's own handling; and still nothing is sendable before it is stored (O1).

let dbCount = 0;
const freshName = () => `eventide-start-test-${++dbCount}`;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function typeOne(st: ClientState, p: DocPersister, pos: number, s: string): void {
  const r = st.edit(opFromSplice(pos, '', s));
  if (!r.ok) throw new Error(r.error.message);
  p.noteEdit();
}

describe('DocPersister: when a lone keystroke is written', () => {
  it('starts the write only when startSoon runs it, and holds sending until it is stored (C23, O1)', async () => {
    const name = freshName();
    const store = await open(name);
    const st = new ClientState({ client: 'me', author: 'me' });
    const soon: (() => void)[] = [];
    const p = new DocPersister({ store, docId: 'd', client: 'me', state: () => st, startSoon: (f) => void soon.push(f), schedule: () => undefined });
    typeOne(st, p, 0, 'a');
    // The key's task and everything after it: no write yet, so nothing sendable.
    await wait(30);
    expect(soon.length).toBe(1);
    expect(p.sendableUpTo()).toBe(0);
    expect((await load(store, 'd', 'me')).outbox).toHaveLength(0);
    soon.splice(0).forEach((f) => f());
    await p.flush();
    expect(p.sendableUpTo()).toBe(1);
    const restored = restoreState(await load(store, 'd', 'me'), 'me', 'me');
    expect(restored.state.live.toString()).toBe('a');
    p.close();
    store.close();
  });

  it('without startSoon starts it after the current task, as before (C23)', async () => {
    const store = await open(freshName());
    const st = new ClientState({ client: 'me', author: 'me' });
    const p = new DocPersister({ store, docId: 'd', client: 'me', state: () => st, schedule: () => undefined });
    typeOne(st, p, 0, 'a');
    await wait(30);
    expect(p.sendableUpTo()).toBe(1);
    p.close();
    store.close();
  });

  it('afterPaint runs its function once, after the current task (no frames here: the timer stands in) (C23)', async () => {
    const runs: string[] = [];
    afterPaint(() => runs.push('after'));
    runs.push('task');
    await Promise.resolve();
    expect(runs).toEqual(['task']);
    await wait(120);
    expect(runs).toEqual(['task', 'after']);
  });
});
