/**
 * What a live `events` frame costs (P25): its bytes as JSON text (protocol 3) and as a binary
 * frame of one undeflated block (protocol 4), and the time to encode it once and to decode it
 * (each receiver decodes it), for the frames a commit turn makes: one keystroke alone, and the
 * 5, 20 and 100 events of a turn in a crowded document, each from another typist.
 *
 * Two kinds of log: the crowd bench's (bench/crowd: `x` at position 0, a `meta.t` stamp with
 * a fraction of a millisecond, author = client) and the editor's (block-logs.ts `appLog`: typists at
 * carets of their own in a shared text, undo-step meta).
 *
 * Run: `tsx bench/live-frames.ts` (one JSON line per row).
 */
import { encodeServerMessage, encodeEventsFrame, decodeServerFrame, decodeServerMessage, type DocEvent } from '../shared/src/index.js';
import { appLog } from './block-logs.js';

function crowdFrame(n: number, seq0: number): DocEvent[] {
  const out: DocEvent[] = [];
  for (let i = 0; i < n; i++) {
    const client = `cmxbaqmec-t${String((i * 37) % 500).padStart(5, '0')}`;
    out.push({ id: { client, clientSeq: 100 + i }, seq: seq0 + i, base: seq0 - 20 - (i % 7), author: client, time: 1765000000000 + (i >> 3), op: ['x'], kind: 'edit', meta: { t: 1765000000000.123 + i * 0.37 } });
  }
  return out;
}

/** `n` consecutive events of a 50-author editing session, renumbered from `seq0`. */
function appFrame(log: readonly DocEvent[], n: number, seq0: number): DocEvent[] {
  return log.slice(1000, 1000 + n).map((e, i) => ({ ...e, seq: seq0 + i, base: Math.min(e.base, seq0 + i - 1) }));
}

/** Median µs of `f` over `runs` batches of `k` calls. */
function time(f: () => unknown, k: number, runs = 15): number {
  for (let i = 0; i < k; i++) f();
  const xs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    for (let i = 0; i < k; i++) f();
    xs.push(((performance.now() - t) / k) * 1000);
  }
  return Math.round(xs.sort((a, b) => a - b)[Math.floor(runs / 2)] * 10) / 10;
}

const app = appLog({ clients: 50, rate: 5, seconds: 20, seed: 7 });
for (const kind of ['crowd', 'editor'] as const) {
  for (const n of [1, 5, 20, 100]) {
    const events = kind === 'crowd' ? crowdFrame(n, 90_001) : appFrame(app, n, 90_001);
    const json = encodeServerMessage({ type: 'events', events });
    const binary = encodeEventsFrame(events);
    const k = Math.max(20, Math.round(2000 / n));
    console.log(
      JSON.stringify({
        log: kind,
        events: n,
        jsonBytes: json.length,
        binaryBytes: binary.length,
        jsonPerEvent: Math.round(json.length / n),
        binaryPerEvent: Math.round(binary.length / n),
        encodeJsonUs: time(() => encodeServerMessage({ type: 'events', events }), k),
        encodeBinaryUs: time(() => encodeEventsFrame(events), k),
        decodeJsonUs: time(() => decodeServerMessage(json), k),
        decodeBinaryUs: time(() => decodeServerFrame(binary), k),
      }),
    );
  }
}
