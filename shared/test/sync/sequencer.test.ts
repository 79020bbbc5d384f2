/** Named cases for the sequencer (L1, L3, S1) and the client state's guards. */
import { describe, it, expect } from 'vitest';
import { Sequencer, type SubmitBatch } from '../../src/sync/sequencer.js';
import { ClientState } from '../../src/sync/client-state.js';
import { MemoryLog } from '../../src/log/memory-log.js';
import { replay } from '../../src/log/replay.js';
import type { DocEvent, LocalEvent } from '../../src/log/event.js';
import type { Op } from '../../src/op/op.js';

function ev(client: string, clientSeq: number, op: Op, author = client): LocalEvent {
  return { id: { client, clientSeq }, author, op, kind: 'edit' };
}

function fresh(window?: number) {
  const log = new MemoryLog();
  const seq = new Sequencer('d', log, replay(null, []), 0, window ? { window } : {});
  const submit = (client: string, batch: SubmitBatch, now = 1) => {
    const r = seq.submit(client, batch, now);
    if (r.ok) log.append(r.value.appended);
    return r;
  };
  return { log, seq, submit };
}

describe('sequencer', () => {
  it('assigns contiguous seqs, the server time and the sent base (L1, P11)', () => {
    const { log, submit } = fresh();
    expect(submit('a', { base: 0, events: [ev('a', 1, ['hi']), ev('a', 2, [2, '!'])] }, 1000).ok).toBe(true);
    expect(submit('b', { base: 2, events: [ev('b', 1, ['>'])] }, 2000).ok).toBe(true);
    expect(log.events.map((e) => [e.seq, e.base, e.time])).toEqual([[1, 0, 1000], [2, 0, 1000], [3, 2, 2000]]);
    expect(replay(null, log.events).toString()).toBe('>hi!');
  });

  it('transforms an event made at an older base over what its author had not seen (P6)', () => {
    const { seq, submit } = fresh();
    submit('a', { base: 0, events: [ev('a', 1, ['hello'])] });
    submit('a', { base: 1, events: [ev('a', 2, [5, ' world'])] });
    // b saw only "hello" and capitalises it: its delete and insert land where it meant.
    const r = submit('b', { base: 1, events: [ev('b', 1, ['H', { d: 'h' }])] });
    expect(r.ok && r.value.appended[0].op).toEqual(['H', { d: 'h' }]);
    // c saw nothing and types at 0: goes before (the later-sequenced insert is first at a tie).
    submit('c', { base: 0, events: [ev('c', 1, ['> '])] });
    expect(seq.text.toString()).toBe('> Hello world');
  });

  it('answers a resent id with its original seq and appends nothing, also after a restart (L3)', () => {
    const { log, seq, submit } = fresh();
    submit('a', { base: 0, events: [ev('a', 1, ['x']), ev('a', 2, [1, 'y'])] });
    submit('b', { base: 2, events: [ev('b', 1, ['z'])] });
    const again = submit('a', { base: 0, events: [ev('a', 1, ['x']), ev('a', 2, [1, 'y'])] });
    expect(again.ok && again.value).toEqual({ appended: [], duplicates: [{ id: { client: 'a', clientSeq: 1 }, seq: 1 }, { id: { client: 'a', clientSeq: 2 }, seq: 2 }] });
    expect(log.head).toBe(3);
    const restarted = new Sequencer('d', log, replay(null, log.events), log.head);
    const r = restarted.submit('a', { base: 3, events: [ev('a', 2, [1, 'y'])] }, 5);
    expect(r.ok && r.value).toEqual({ appended: [], duplicates: [{ id: { client: 'a', clientSeq: 2 }, seq: 2 }] });
    expect(seq.head).toBe(3);
  });

  it('keeps sequenced events in memory until the log holds them, whatever the window (L4; found by the fuzz, seed 17)', () => {
    // The room commits in groups: until it does, the log lacks what the sequencer appended.
    // A small window used to drop those events from memory, and a later walk read the log
    // over a hole: an old-base submit came out in another form than its author computed.
    const log = new MemoryLog();
    const seq = new Sequencer('d', log, replay(null, []), 0, { window: 2 });
    const first = seq.submit('a', { base: 0, events: [ev('a', 1, ['x'])] }, 1);
    if (first.ok) log.append(first.value.appended);
    // a types at the start seven times; none of it is committed yet.
    const uncommitted: DocEvent[] = [];
    for (let k = 2; k <= 8; k++) {
      const r = seq.submit('a', { base: k - 1, events: [ev('a', k, [String(k)])] }, k);
      if (r.ok) uncommitted.push(...r.value.appended);
    }
    // b saw "x" and types after it; its client will see a's events and rebase the same way.
    const b = seq.submit('b', { base: 1, events: [ev('b', 1, [1, '>'])] }, 9);
    const client = new ClientState({ client: 'b', author: 'b', tail: log.events });
    client.edit([1, '>']);
    expect(client.receive(uncommitted).ok).toBe(true);
    expect(b.ok && b.value.appended[0].op).toEqual(client.pending[0].event.op);
    expect(b.ok && b.value.appended[0].op).toEqual([8, '>']);
    if (b.ok) log.append([...uncommitted, ...b.value.appended]);
    expect(replay(null, log.events).toString()).toBe(seq.text.toString());
    expect(seq.text.toString()).toBe('8765432x>');
  });

  it("refuses a replaced connection's batch at an older base than its author's previous event (L4; found by the fuzz, seed 644)", () => {
    const { log, seq, submit } = fresh();
    submit('a', { base: 0, events: [ev('a', 1, ['ab'])] });
    // c, on its old connection, typed twice at base 0; the frames wait in the server's buffer.
    const stale = [ev('c', 1, ['x']), ev('c', 2, [1, 'y'])];
    // Its new connection caught up (seq 1) and resent event 1 in its new form first.
    expect(submit('c', { base: 1, events: [ev('c', 1, ['x'])] }).ok).toBe(true);
    // The old connection's event 2 was made on event 1's base-0 form: walked from base 1 it would land wrongly.
    const late = submit('c', { base: 0, events: stale });
    expect(late.ok ? 'appended' : late.error.code).toBe('out-of-order');
    expect(log.head).toBe(2);
    // The current connection's resend of it is taken, in the form its client computed.
    const r = submit('c', { base: 1, events: [ev('c', 1, ['x']), ev('c', 2, [1, 'y'])] });
    expect(r.ok && r.value.appended.map((e) => e.op)).toEqual([[1, 'y']]);
    expect(seq.text.toString()).toBe('xyab');
  });

    it('refuses a batch with a bad op whole: nothing appended, text and authorship unchanged (S1, P7)', () => {
    const { log, seq, submit } = fresh();
    submit('a', { base: 0, events: [ev('a', 1, ['abcdef'])] });
    const before = [seq.text.toString(), JSON.stringify(seq.text.authorship())];
    const outside = submit('b', { base: 1, events: [ev('b', 1, [{ d: 'ab' }]), ev('b', 2, ['Q']), ev('b', 3, [99, 'x'])] });
    expect(!outside.ok && outside.error.code).toBe('op-out-of-range');
    const mismatch = submit('b', { base: 1, events: [ev('b', 1, [2, 'QQ']), ev('b', 2, [{ d: 'zz' }])] });
    expect(!mismatch.ok && mismatch.error.code).toBe('op-delete-mismatch');
    expect([seq.text.toString(), JSON.stringify(seq.text.authorship())]).toEqual(before);
    expect(log.head).toBe(1);
    expect(seq.head).toBe(1);
    // The refused clientSeqs are still free.
    expect(submit('b', { base: 1, events: [ev('b', 1, [6, '!'])] }).ok).toBe(true);
  });

  it('refuses a base beyond the head, events of another client, and gaps in clientSeq (P7, P15)', () => {
    const { submit } = fresh();
    submit('a', { base: 0, events: [ev('a', 1, ['x'])] });
    const ahead = submit('a', { base: 5, events: [ev('a', 2, ['y'])] });
    expect(!ahead.ok && ahead.error.code).toBe('base-ahead');
    const other = submit('a', { base: 1, events: [ev('b', 1, ['y'])] });
    expect(!other.ok && other.error.code).toBe('wrong-client');
    const gap = submit('a', { base: 1, events: [ev('a', 3, ['y'])] });
    expect(!gap.ok && gap.error.code).toBe('out-of-order');
    expect(!gap.ok && gap.error.message).toContain('resend from 2');
  });

  it('refuses growth past the size limit and rolls back (K10, P7)', () => {
    const log = new MemoryLog();
    const seq = new Sequencer('d', log, replay(null, []), 0, { maxDocLength: 5 });
    const r = seq.submit('a', { base: 0, events: [ev('a', 1, ['abc']), ev('a', 2, [3, 'def'])] }, 1);
    expect(!r.ok && r.error.code).toBe('doc-too-large');
    expect(seq.text.toString()).toBe('');
  });

  it('takes pipelined batches: a second batch sent before the first was acknowledged (P6)', () => {
    const { seq, submit } = fresh();
    const a = new ClientState({ client: 'a', author: 'a' });
    a.edit(['one']);
    const b1 = a.takeBatch() as SubmitBatch;
    submit('b', { base: 0, events: [ev('b', 1, ['B'])] }); // lands between
    a.edit([3, ' two']);
    const b2 = a.takeBatch() as SubmitBatch;
    expect(b2.base).toBe(0);
    expect(submit('a', b1).ok).toBe(true);
    expect(submit('a', b2).ok).toBe(true);
    expect(seq.text.toString()).toBe('one twoB');
  });

  it('asks for a re-sync when a restart lost the forms of in-flight events, then accepts the resend (P6, P8)', () => {
    const { log, submit } = fresh();
    const a = new ClientState({ client: 'a', author: 'a' });
    a.edit(['one']);
    const b1 = a.takeBatch() as SubmitBatch;
    a.edit([3, ' two']);
    const b2 = a.takeBatch() as SubmitBatch;
    expect(submit('a', b1).ok).toBe(true);
    const restarted = new Sequencer('d', log, replay(null, log.events), log.head);
    const r = restarted.submit('a', b2, 2);
    expect(!r.ok && r.error.code).toBe('rebase-required');
    // Re-sync: the client takes in the log it missed, then resends from its new base.
    a.disconnected();
    expect(a.receive(log.range(0, log.head).slice()).ok).toBe(true);
    const again = a.takeBatch() as SubmitBatch;
    expect(again.base).toBe(1);
    const ok = restarted.submit('a', again, 3);
    expect(ok.ok).toBe(true);
    expect(restarted.text.toString()).toBe('one two');
  });

  it('reads older events from the log once they leave its memory window', () => {
    const { seq, submit } = fresh(10);
    for (let i = 1; i <= 50; i++) submit('a', { base: i - 1, events: [ev('a', i, ['a'])] });
    const r = submit('b', { base: 0, events: [ev('b', 1, ['B'])] });
    expect(r.ok).toBe(true);
    expect(seq.text.toString()).toBe(`B${'a'.repeat(50)}`);
    expect(seq.seqOf({ client: 'a', clientSeq: 1 })).toBe(1);
  });
});

describe('client state guards', () => {
  it('refuses an edit that does not fit the live text, changing nothing', () => {
    const c = new ClientState({ client: 'c', author: 'c' });
    c.edit(['abc']);
    const r = c.edit([5, 'x']);
    expect(!r.ok && r.error.code).toBe('op-out-of-range');
    expect(c.live.toString()).toBe('abc');
    expect(c.pending).toHaveLength(1);
  });

  it('reports a gap in the stream and an ack that does not match the outbox head (P5)', () => {
    const c = new ClientState({ client: 'c', author: 'c' });
    const gap = c.receive([{ id: { client: 'x', clientSeq: 1 }, seq: 2, base: 0, author: 'x', time: 0, op: ['a'], kind: 'edit' }]);
    expect(!gap.ok && gap.error.code).toBe('gap');
    c.edit(['a']);
    const wrong = c.ack({ client: 'c', clientSeq: 9 }, 1);
    expect(!wrong.ok && wrong.error.code).toBe('unexpected-ack');
    expect(c.ack({ client: 'c', clientSeq: 1 }, 1).ok).toBe(true);
    expect(c.confirmedSeq).toBe(1);
  });

  it('restores from a checkpoint, a tail and an outbox, and never reuses a clientSeq', () => {
    const c = new ClientState({
      client: 'c',
      author: 'c',
      checkpoint: { docId: 'd', seq: 1, text: 'ab', authorship: [{ author: 'x', length: 2 }] },
      tail: [{ id: { client: 'x', clientSeq: 2 }, seq: 2, base: 1, author: 'x', time: 0, op: [2, 'c'], kind: 'edit' }],
      outbox: [ev('c', 7, [3, '!'])],
      nextClientSeq: 3,
    });
    expect(c.confirmedSeq).toBe(2);
    expect(c.confirmed.toString()).toBe('abc');
    expect(c.live.toString()).toBe('abc!');
    expect(c.nextClientSeq).toBe(8);
    expect(c.takeBatch()).toEqual({ base: 2, events: [ev('c', 7, [3, '!'])] });
  });
});
