/**
 * Sequencer.rewind (R26): after an append lost a race to another node, taking back what
 * was sequenced and not committed must leave the sequencer exactly as if those batches had
 * never come: the same text, the same next seqs, the same clients' clientSeqs, the same
 * rebases of the batches sequenced again over the other node's events. Checked against a
 * twin sequencer that saw the same committed history and never the lost batches.
 */
import { describe, it, expect } from 'vitest';
import { Sequencer, type SubmitBatch } from '../../src/sync/sequencer.js';
import { MemoryLog } from '../../src/log/memory-log.js';
import { replay } from '../../src/log/replay.js';
import type { DocEvent, LocalEvent } from '../../src/log/event.js';
import type { Op } from '../../src/op/op.js';
import { applyToString } from '../../src/op/apply.js';
import { Random } from '../sim/random.js';

const SEEDS = 200;
const firstSeed = Number(process.env.EVENTIDE_SEED ?? 1);

function word(r: Random): string {
  let s = '';
  for (let i = 0, n = 1 + r.int(4); i < n; i++) s += String.fromCharCode(97 + r.int(26));
  return s;
}

/** An insert or a delete that applies to `text`. */
function randomOp(r: Random, text: string): Op {
  const pos = r.int(text.length + 1);
  const head: Op = pos > 0 ? [pos] : [];
  if (pos < text.length && r.chance(0.4)) {
    const n = 1 + r.int(Math.min(3, text.length - pos));
    return [...head, { d: text.slice(pos, pos + n) }];
  }
  return [...head, word(r)];
}

/** One run: returns a failure description, or null. */
function run(seed: number): string | null {
  const r = new Random(seed);
  const log = new MemoryLog();
  const node = new Sequencer('d', log, replay(null, []), 0, { window: 1 + r.int(40) });
  const twin = new Sequencer('d', log, replay(null, []), 0, { window: 1 + r.int(40) });
  const clients = ['a', 'b', 'c', 'd'];
  const cs = new Map<string, number>(clients.map((c) => [c, 0]));
  let now = 1;
  const batch = (client: string, base: number, text: string): SubmitBatch => {
    const events: LocalEvent[] = [];
    let t = text;
    for (let i = 0, n = 1 + r.int(3); i < n; i++) {
      const op = randomOp(r, t);
      // Each event of a batch applies after the one before it (the client's own view).
      const applied = applyToString(t, op);
      if (!applied.ok) throw new Error(`seed ${seed}: a generated op does not apply: ${applied.error.message}`);
      t = applied.value;
      const k = (cs.get(client) ?? 0) + 1;
      cs.set(client, k);
      events.push({ id: { client, clientSeq: k }, author: client, op, kind: 'edit' });
    }
    return { base, events };
  };
  const committedText = () => replay(null, log.events).toString();

  // A committed history both sequencers saw (the twin first: it must not find the events in the log yet).
  for (let i = 0, n = r.int(30); i < n; i++) {
    const b = batch(r.pick(clients), log.head, committedText());
    const t = twin.submit(b.events[0].id.client, b, now);
    const s = node.submit(b.events[0].id.client, b, now++);
    if (!s.ok || !t.ok) return `history batch refused: ${!s.ok ? s.error.message : ''} ${!t.ok ? t.error.message : ''}`;
    log.append(s.value.appended);
  }
  const committed = log.head;

  // Batches only `node` sequenced: its append of them lost the race.
  const lost: SubmitBatch[] = [];
  for (const client of clients) if (r.chance(0.7)) lost.push(batch(client, committed, committedText()));
  for (const b of lost) {
    const s = node.submit(b.events[0].id.client, b, now);
    if (!s.ok) return `lost batch refused: ${s.error.message}`;
  }
  node.rewind(committed);
  if (node.head !== committed) return `head ${node.head} after rewind, want ${committed}`;
  if (node.text.toString() !== committedText()) return `text after rewind ${JSON.stringify(node.text.toString())}, want ${JSON.stringify(committedText())}`;

  // The other node's events, committed meanwhile; both adopt them.
  const other = new Sequencer('d', log, replay(null, log.events), log.head);
  const remote: DocEvent[] = [];
  for (let i = 0, n = 1 + r.int(4); i < n; i++) {
    const client = `r${i}`;
    const op = randomOp(r, other.text.toString());
    const s = other.submit(client, { base: other.head, events: [{ id: { client, clientSeq: 1 }, author: client, op, kind: 'edit' }] }, now);
    if (!s.ok) return `remote event refused: ${s.error.message}`;
    remote.push(...s.value.appended);
  }
  log.append(remote);
  node.adopt(remote);
  twin.adopt(remote);

  // The lost batches again, as their clients sent them: the same outcome as on the twin.
  for (const b of lost) {
    const client = b.events[0].id.client;
    const t = twin.submit(client, b, now);
    const s = node.submit(client, b, now);
    if (JSON.stringify(s) !== JSON.stringify(t)) return `batch of ${client} again: ${JSON.stringify(s)}, twin ${JSON.stringify(t)}`;
    if (s.ok) log.append(s.value.appended);
  }
  if (node.text.toString() !== twin.text.toString()) return `text ${JSON.stringify(node.text.toString())}, twin ${JSON.stringify(twin.text.toString())}`;
  if (node.text.toString() !== committedText()) return `text differs from the log's replay`;
  return null;
}

describe('sequencer rewind after a lost race (R26)', () => {
  it(`takes back what was sequenced as if it never came: text, seqs, clientSeqs and rebases match a twin that never saw it (${SEEDS} seeds from ${firstSeed})`, () => {
    for (let seed = firstSeed; seed < firstSeed + SEEDS; seed++) {
      const failure = run(seed);
      expect(failure, `seed ${seed} (rerun with EVENTIDE_SEED=${seed})`).toBeNull();
    }
  });

  it('refuses to take back a committed event', () => {
    const log = new MemoryLog();
    const s = new Sequencer('d', log, replay(null, []), 0);
    const a = s.submit('a', { base: 0, events: [{ id: { client: 'a', clientSeq: 1 }, author: 'a', op: ['x'], kind: 'edit' }] }, 1);
    if (a.ok) log.append(a.value.appended);
    expect(() => s.rewind(0)).toThrow(/cannot rewind/);
  });
});
