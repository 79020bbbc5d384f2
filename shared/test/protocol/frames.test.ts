/**
 * The binary frames (frames.ts): a welcome and a history page go out as blocks and come back
 * as exactly the messages they were made of; text frames stay JSON; a frame cut off anywhere
 * or with any bit flipped is refused with `bad-frame`, never decoded into other events
 * (seeded fast-check: a failure prints its seed, replay it with FC_SEED=<seed>).
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { DocEvent } from '../../src/log/event.js';
import type { Checkpoint } from '../../src/log/checkpoint.js';
import { encodeBlock, encodeCheckpointBlock } from '../../src/log/block/index.js';
import {
  FRAME_HISTORY_PAGE,
  FRAME_WELCOME,
  decodeServerFrame,
  encodeHistoryFrame,
  encodeServerFrame,
  encodeWelcomeFrame,
  encodeEventsFrame,
  eventsFrameSpan,
  FRAME_EVENTS,
} from '../../src/protocol/frames.js';
import { ByteReader, ByteWriter } from '../../src/log/block/bytes.js';
import { crc32 } from '../../src/log/block/index.js';
import { PROTOCOL_VERSION, encodeServerMessage, type HistoryPageMessage, type ServerMessage, type WelcomeMessage } from '../../src/protocol/messages.js';
import { seed } from '../op/arbitraries.js';
import { logArb } from '../log/log-arbitraries.js';

const SEED = 0x3f4a;

const cp = (seq: number, text = 'héllo 😀 wörld'): Checkpoint => ({ docId: 'doc-1', seq, text, authorship: [{ author: 'Ann', length: 6 }, { author: 'Bob #x1', length: text.length - 6 }] });
/** A log from the arbitraries, its seqs moved to start after `from`. */
const shifted = (log: readonly DocEvent[], from: number): DocEvent[] => log.map((e, i) => ({ ...e, seq: from + i + 1, base: Math.min(e.base, from + i) }));

function welcome(events: DocEvent[], checkpoint: Checkpoint | null, head: number): WelcomeMessage {
  return { type: 'welcome', protocol: PROTOCOL_VERSION, docId: 'doc-1', role: 'view', head, checkpoint, events };
}

/** `frame` with another kind byte and JSON header, its block lengths and blocks kept, the header checksum made anew. */
function rekind(frame: Uint8Array, kind: number, header: object): Uint8Array {
  const r = new ByteReader(frame, 1);
  r.take(r.uint());
  const counts: number[] = [r.uint(), r.uint()];
  const lengths: number[] = [];
  for (let i = 0; i < counts[0] + counts[1]; i++) lengths.push(r.uint());
  const blocks = frame.subarray(r.pos + 4);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const w = new ByteWriter();
  w.byte(kind);
  w.uint(json.length);
  w.bytes(json);
  w.uint(counts[0]);
  w.uint(counts[1]);
  for (const n of lengths) w.uint(n);
  const sum = crc32(w.view());
  for (let i = 0; i < 4; i++) w.byte((sum >>> (8 * i)) & 0xff);
  w.bytes(blocks);
  return w.view().slice();
}

describe('binary frames', () => {
  it('a welcome and a history page come back exactly, in one block or split into several (P19, R11)', () => {
    fc.assert(
      fc.property(logArb(40), fc.integer({ min: 0, max: 5000 }), fc.boolean(), (log, at, withCp) => {
        const events = shifted(log, at);
        const head = at + events.length;
        const w = welcome(events, withCp ? cp(at) : null, head);
        const frame = encodeServerFrame(w);
        expect(frame).toBeInstanceOf(Uint8Array);
        expect((frame as Uint8Array)[0]).toBe(FRAME_WELCOME);
        expect(decodeServerFrame(frame)).toEqual({ ok: true, value: w });

        const page: HistoryPageMessage = { type: 'history-page', reqId: 7, events, checkpoints: events.length > 2 ? [cp(at + 1), cp(at + 3)] : [], next: events.length > 0 ? head : null };
        expect(decodeServerFrame(encodeServerFrame(page))).toEqual({ ok: true, value: page });

        // The server's way: the same run as several blocks back to back.
        const cut = Math.floor(events.length / 2);
        const split = encodeHistoryFrame(
          { reqId: 7, next: page.next, from: at, end: head },
          { events: [encodeBlock(events.slice(0, cut)), encodeBlock(events.slice(cut))], checkpoints: page.checkpoints.map(encodeCheckpointBlock) },
        );
        expect(split[0]).toBe(FRAME_HISTORY_PAGE);
        expect(decodeServerFrame(split)).toEqual({ ok: true, value: page });
      }),
      { seed: seed(SEED), numRuns: 200 },
    );
  });

  it('live events go out as one binary frame whose header names their seqs, and come back exactly (P25)', () => {
    fc.assert(
      fc.property(logArb(40, 1), fc.integer({ min: 0, max: 5000 }), (log, at) => {
        const events = shifted(log, at);
        const msg: ServerMessage = { type: 'events', events };
        const frame = encodeServerFrame(msg) as Uint8Array;
        expect(frame).toBeInstanceOf(Uint8Array);
        expect(frame[0]).toBe(FRAME_EVENTS);
        expect(frame).toEqual(encodeEventsFrame(events));
        expect(decodeServerFrame(frame)).toEqual({ ok: true, value: msg });
        expect(eventsFrameSpan(frame)).toEqual({ from: at, end: at + events.length });
      }),
      { seed: seed(SEED + 2), numRuns: 200 },
    );
    expect(() => encodeEventsFrame([])).toThrow(/at least one event/);
    // Only a live frame has a span.
    const page = encodeServerFrame({ type: 'history-page', reqId: 1, events: [], checkpoints: [], next: null }) as Uint8Array;
    expect(eventsFrameSpan(page)).toBeNull();
    expect(eventsFrameSpan(new Uint8Array([FRAME_EVENTS, 200]))).toBeNull();
  });

  it('a live frame is a few bytes an event where JSON was ~150: many typists at once, one block (P25)', () => {
    const events: DocEvent[] = [];
    for (let i = 0; i < 100; i++) {
      const client = `typist-${String((i * 37) % 60).padStart(3, '0')}`;
      events.push({ id: { client, clientSeq: 50 + i }, seq: 9001 + i, base: 8990 + i - (i % 7), author: client, time: 1765000000000 + (i >> 2), op: [1 + ((i * 131) % 4000), 'e'], kind: 'edit' });
    }
    const json = encodeServerMessage({ type: 'events', events }).length;
    const binary = (encodeServerFrame({ type: 'events', events }) as Uint8Array).length;
    expect(json / events.length).toBeGreaterThan(120);
    expect(binary / events.length).toBeLessThan(30);
  });

  it('text frames stay the JSON messages; acks and errors never go binary, and a JSON events frame still decodes (P19, P25)', () => {
    const events = shifted([{ id: { client: 'c', clientSeq: 1 }, seq: 1, base: 0, author: 'Ann', time: 1, op: ['hi'], kind: 'edit' }], 4);
    const json: ServerMessage = { type: 'events', events };
    expect(decodeServerFrame(encodeServerMessage(json))).toEqual({ ok: true, value: json });
    const msgs: ServerMessage[] = [
      { type: 'ack', id: { client: 'a', clientSeq: 1 }, seq: 3, time: 5 },
      { type: 'error', code: 'bad-json', message: 'x', fatal: false },
      { type: 'pong', t: 1 },
      { type: 'presence-leave', client: 'b' },
    ];
    for (const m of msgs) {
      expect(encodeServerFrame(m)).toBe(encodeServerMessage(m));
      expect(decodeServerFrame(encodeServerMessage(m))).toEqual({ ok: true, value: m });
    }
    expect(decodeServerFrame('{"type":"ack"').ok).toBe(false);
  });

  it('refuses a frame cut off anywhere with bad-frame (P19, S1)', () => {
    const events = shifted([{ id: { client: 'c', clientSeq: 1 }, seq: 1, base: 0, author: 'Ann', time: 1.5, op: ['hi'], kind: 'edit' }, { id: { client: 'c', clientSeq: 2 }, seq: 2, base: 1, author: 'Ann', time: 2, op: [2, '!'], kind: 'edit', meta: { t: 3 } }], 999);
    const frames = [encodeServerFrame(welcome(events, cp(999), 1001)), encodeServerFrame({ type: 'history-page', reqId: 1, events, checkpoints: [cp(1000)], next: null }), encodeEventsFrame(events)];
    for (const frame of frames as Uint8Array[]) {
      for (let n = 0; n < frame.length; n++) {
        const r = decodeServerFrame(frame.subarray(0, n));
        expect(r.ok, `cut at ${n}`).toBe(false);
        if (!r.ok) expect(r.error.code).toBe('bad-frame');
      }
      const longer = new Uint8Array(frame.length + 1);
      longer.set(frame);
      expect(decodeServerFrame(longer)).toMatchObject({ ok: false, error: { code: 'bad-frame' } });
    }
  });

  it('refuses every single flipped bit, and random damage, with bad-frame, never other events (P19, S1)', () => {
    const events = shifted([{ id: { client: 'c', clientSeq: 1 }, seq: 1, base: 0, author: 'Ann', time: 1.5, op: ['hi'], kind: 'edit' }, { id: { client: 'c', clientSeq: 2 }, seq: 2, base: 1, author: 'Ann', time: 2, op: [2, '!'], kind: 'undo' }], 40);
    for (const frame of [encodeServerFrame({ type: 'history-page', reqId: 12, events, checkpoints: [cp(41)], next: 42 }) as Uint8Array, encodeEventsFrame(events)]) {
      for (let bit = 0; bit < frame.length * 8; bit++) {
        const bad = frame.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        const r = decodeServerFrame(bad);
        expect(r.ok, `kind ${frame[0]} bit ${bit}`).toBe(false);
        if (!r.ok) expect(r.error.code).toBe('bad-frame');
      }
    }
    fc.assert(
      fc.property(logArb(30, 1), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (log, flips) => {
        const f = encodeServerFrame(welcome(log, null, log.length)) as Uint8Array;
        const bad = f.slice();
        for (const [at, x] of flips) bad[at % bad.length] ^= x;
        const r = decodeServerFrame(bad);
        // Damage can cancel out (two flips of one byte): then it must be the same message.
        if (r.ok) expect(r.value).toEqual(welcome(log, null, log.length));
        else expect(r.error.code).toBe('bad-frame');
      }),
      { seed: seed(SEED + 1), numRuns: 300 },
    );
  });

  it('refuses frames whose parts disagree: events that are not the header\'s seqs, a checkpoint elsewhere, another kind (P19, S1)', () => {
    const events = shifted([{ id: { client: 'c', clientSeq: 1 }, seq: 1, base: 0, author: 'A', time: 1, op: ['x'], kind: 'edit' }], 10);
    const block = encodeBlock(events);
    const code = (f: Uint8Array) => {
      const r = decodeServerFrame(f);
      return r.ok ? 'ok' : r.error.code;
    };
    expect(code(encodeHistoryFrame({ reqId: 1, next: null, from: 10, end: 11 }, { events: [block], checkpoints: [] }))).toBe('ok');
    expect(code(encodeHistoryFrame({ reqId: 1, next: null, from: 9, end: 11 }, { events: [block], checkpoints: [] }))).toBe('bad-frame');
    expect(code(encodeHistoryFrame({ reqId: 1, next: null, from: 10, end: 12 }, { events: [block], checkpoints: [] }))).toBe('bad-frame');
    expect(code(encodeHistoryFrame({ reqId: 1, next: null, from: 10, end: 12 }, { events: [block, block], checkpoints: [] }))).toBe('bad-frame');
    expect(code(encodeHistoryFrame({ reqId: 1, next: 5, from: 10, end: 11 }, { events: [block], checkpoints: [] }))).toBe('bad-frame');
    expect(code(encodeHistoryFrame({ reqId: 1, next: null, from: 10, end: 11 }, { events: [block], checkpoints: [encodeCheckpointBlock(cp(12))] }))).toBe('bad-frame');
    expect(code(encodeWelcomeFrame({ protocol: PROTOCOL_VERSION, docId: 'doc-1', role: 'edit', head: 11, from: 10 }, { events: [block], checkpoints: [encodeCheckpointBlock(cp(9))] }))).toBe('bad-frame');
    expect(code(encodeWelcomeFrame({ protocol: PROTOCOL_VERSION, docId: 'doc-1', role: 'edit', head: 11, from: 10 }, { events: [block], checkpoints: [block] }))).toBe('bad-frame');
    // A welcome of another protocol version says so.
    expect(code(encodeWelcomeFrame({ protocol: 2 as typeof PROTOCOL_VERSION, docId: 'doc-1', role: 'edit', head: 11, from: 10 }, { events: [block], checkpoints: [] }))).toBe('protocol-version');
    // A live frame: exactly the header's seqs, at least one, no checkpoint.
    expect(code(encodeEventsFrame(events))).toBe('ok');
    const live = (from: number, end: number, blocks: { events: Uint8Array[]; checkpoints: Uint8Array[] }) => {
      const f = encodeHistoryFrame({ reqId: 1, next: null, from, end }, blocks);
      // The same layout under another kind and header: rebuilt, so the header checksum is right.
      return rekind(f, FRAME_EVENTS, { from, end });
    };
    expect(code(live(10, 11, { events: [block], checkpoints: [] }))).toBe('ok');
    expect(code(live(9, 11, { events: [block], checkpoints: [] }))).toBe('bad-frame');
    expect(code(live(10, 10, { events: [], checkpoints: [] }))).toBe('bad-frame');
    expect(code(live(10, 11, { events: [block], checkpoints: [encodeCheckpointBlock(cp(11))] }))).toBe('bad-frame');
    const other = encodeHistoryFrame({ reqId: 1, next: null, from: 10, end: 11 }, { events: [block], checkpoints: [] });
    other[0] = 0x7b;
    expect(code(other)).toBe('bad-frame');
    expect(code(new Uint8Array(0))).toBe('bad-frame');
  });
});
