/**
 * The history panel's model: it loads the whole log through the event source (pages in
 * flight at once, pages cut short by holes in the local store, the server for the rest),
 * follows live events, and turns failures into a message and a retry. The index it fills
 * answers every version exactly as a replay of the log (T1).
 */
import { describe, expect, it } from 'vitest';
import { opFromSplice, replay, type CodedError, type DocEvent, type Result } from '../../../shared/src/index.js';
import { EventSource, type LocalEvents, type RemoteHistory } from '../../src/history/event-source.js';
import { HistoryModel } from '../../src/history/history-model.js';

/** n events by two authors, alternating in runs, with a pause that splits sessions. */
function makeLog(n: number): DocEvent[] {
  const out: DocEvent[] = [];
  let len = 0;
  for (let i = 1; i <= n; i++) {
    const author = Math.floor(i / 700) % 2 === 0 ? 'ann' : 'bob';
    const del = i % 5 === 0 && len > 0;
    const op = del ? opFromSplice(len - 1, 'x', '') : opFromSplice(len, '', 'x');
    len += del ? -1 : 1;
    out.push({ id: { client: author, clientSeq: i }, seq: i, base: i - 1, author, time: i < 2000 ? i * 1000 : 3_600_000 + i * 1000, op, kind: 'edit' });
  }
  return out;
}

function fakeLocal(log: readonly DocEvent[], has: (seq: number) => boolean): LocalEvents {
  return {
    async events(_doc: string, from: number, to: number, limit = 1000): Promise<Result<DocEvent[], CodedError>> {
      return { ok: true, value: log.filter((e) => e.seq > from && e.seq <= to && has(e.seq)).slice(0, limit) };
    },
  };
}

function fakeRemote(log: readonly DocEvent[], online: () => boolean): RemoteHistory & { pages: number } {
  const f = Object.assign(
    async (from: number, to: number, limit: number) => {
      f.pages++;
      await new Promise((r) => setTimeout(r, 1));
      if (!online()) return { ok: false as const, error: { code: 'offline', message: 'not connected' } };
      const events = log.filter((e) => e.seq > from && e.seq <= to).slice(0, Math.min(limit, 1000));
      const last = events.length > 0 ? events[events.length - 1].seq : to;
      return { ok: true as const, value: { events, next: last >= to ? null : last, checkpoints: [] } };
    },
    { pages: 0 },
  );
  return f;
}

async function until(f: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('HistoryModel', () => {
  it('loads a long log from the local store (with holes) and the server, then follows live events; every version equals a replay (T1)', async () => {
    const log = makeLog(4600);
    let head = 4000;
    // The local store holds 1..1500 and 2201..3000: pages come back cut short at the holes.
    const local = fakeLocal(log, (s) => s <= 1500 || (s > 2200 && s <= 3000));
    const remote = fakeRemote(log, () => true);
    const source = new EventSource({ docId: 'd', head: () => head, local, remote });
    const cached: number[] = [];
    const model = new HistoryModel(source, (events) => cached.push(...events.map((e) => e.seq)));
    model.start();
    await until(() => !model.getSnapshot().loading && model.getSnapshot().loaded === 4000, 'the first load');
    expect(model.getSnapshot().problem).toBeNull();
    // What came from the server went to the cache: at least everything the local store lacked (a page
    // fetched ahead and dropped is cached too), nothing the server was not asked for.
    const got = new Set(cached);
    for (let q = 1; q <= 4000; q++) if ((q > 1500 && q <= 2200) || q > 3000) expect(got.has(q), `seq ${q} cached`).toBe(true);
    expect([...got].every((q) => q > 1500 && q <= 4000)).toBe(true);
    for (const v of [4000, 0, 1500, 1501, 2200, 2201, 3999, 17]) expect(model.index.textAt(v), `version ${v}`).toBe(replay(null, log.slice(0, v)).toString());

    // Live events extend the head; a run arriving with a gap is fetched.
    head = 4300;
    source.add(log.slice(4000, 4300));
    await until(() => model.getSnapshot().loaded === 4300, 'live events');
    head = 4600;
    source.add(log.slice(4500, 4600)); // 4301..4500 missed: memory restarts, the model asks for them
    await until(() => model.getSnapshot().loaded === 4600, 'the gap');
    expect(model.index.textAt(4600)).toBe(replay(null, log).toString());
    expect(model.index.textAt(4400)).toBe(replay(null, log.slice(0, 4400)).toString());

    // Sessions: a pause over 10 minutes splits one author's work; runs alternate by author.
    const s = model.getSnapshot().sessions;
    expect(s[0]).toMatchObject({ author: 'ann', from: 1, to: 699 });
    expect(s[1]).toMatchObject({ author: 'bob', from: 700 });
    expect(s.every((x) => x.from <= x.to)).toBe(true);
    // Jump to a time: the last event at or before it.
    expect(model.versionAtTime(1500 * 1000 + 500)).toBe(1500);
    expect(model.versionAtTime(0)).toBe(0);
    model.close();
  });

  it('offline: a message and what was loaded stays usable; retry loads the rest (H7)', async () => {
    const log = makeLog(2500);
    let online = false;
    const source = new EventSource({ docId: 'd', head: () => 2500, local: fakeLocal(log, (s) => s <= 1200), remote: fakeRemote(log, () => online) });
    const model = new HistoryModel(source);
    model.start();
    await until(() => model.getSnapshot().problem !== null, 'the problem');
    expect(model.getSnapshot().loaded).toBe(1200);
    expect(model.getSnapshot().problem).toMatch(/after version 1200\) is not on this device/);
    expect(model.index.textAt(1200)).toBe(replay(null, log.slice(0, 1200)).toString());
    online = true;
    model.retry();
    await until(() => model.getSnapshot().loaded === 2500 && !model.getSnapshot().loading, 'the retry');
    expect(model.getSnapshot().problem).toBeNull();
    expect(model.index.textAt(2500)).toBe(replay(null, log).toString());
    model.close();
  });
});
