/**
 * What sequencing costs a submit in a crowded document, without a server: the room core over
 * a memory log, 500 editors each submitting one keystroke at a time, its base `lag` events
 * behind the head (never before the client's own last event: one submit in flight, as under
 * slow-down, P22), committed in turns of 100. Prints µs a submit (sequence + commit), the
 * median of three rounds of 10,000 submits after one to warm up.
 *
 * Run: `tsx bench/crowd/sequence-cost.ts [--lag=100,500,1000]`
 */
import { RoomCore, MemoryLog, type RoomPeer, type CommitItem } from '../../shared/src/index.js';

function costAt(lag: number): number {
  const log = new MemoryLog();
  const room = new RoomCore<RoomPeer>('d', log, { checkpointEvery: 1000 });
  const N = 500;
  const peers: RoomPeer[] = Array.from({ length: N }, (_, i) => ({ client: `c${i}`, role: 'edit', user: { name: 'x', color: '#000000' }, cursor: null }));
  for (const p of peers) room.join(p, 0);
  const clientSeq = new Array<number>(N).fill(0);
  const own = new Array<number>(N).fill(0);
  const round = (): number => {
    const t0 = performance.now();
    let n = 0;
    for (let r = 0; r < 20; r++) {
      const items: CommitItem<RoomPeer>[] = [];
      const commit = () => {
        for (const it of items) log.append(it.appended);
        room.committed(items);
        items.length = 0;
      };
      for (let i = 0; i < N; i++) {
        const base = Math.max(own[i], room.committedHead - lag);
        const s = room.submit(peers[i], { base, events: [{ id: { client: `c${i}`, clientSeq: ++clientSeq[i] }, author: `c${i}`, op: ['x'], kind: 'edit' }] }, 1000 + r);
        if (!s.ok) throw new Error(s.error.message);
        items.push(s.value);
        own[i] = s.value.appended[0].seq;
        n++;
        if (items.length === 100) commit();
      }
      commit();
    }
    return ((performance.now() - t0) / n) * 1000;
  };
  round();
  const xs = [round(), round(), round()].sort((a, b) => a - b);
  return Math.round(xs[1] * 10) / 10;
}

const lagArg = process.argv.find((a) => a.startsWith('--lag='));
const lags = lagArg !== undefined ? lagArg.slice(6).split(',').map(Number) : [100, 500, 1000];
for (const lag of lags) console.log(JSON.stringify({ editors: 500, lag, usPerSubmit: costAt(lag) }));
