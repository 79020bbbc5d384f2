/**
 * The protocol's shapes and its decoder (S1): every client message round-trips, every
 * kind of bad frame gets its stable code, the op goes through the codec, the decoder
 * never throws on anything, and its cost per keystroke-sized submit is measured
 * (printed; the assertion is only a loose ceiling so a slow CI box does not flake).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  PROTOCOL_VERSION,
  decodeClientMessage,
  decodeServerMessage,
  encodeClientMessage,
  encodeServerMessage,
  errorCodes,
  presenceEntries,
  protocolLimits,
  type ClientMessage,
  type ServerMessage,
} from '../../src/index.js';

const hello: ClientMessage = {
  type: 'hello',
  protocol: PROTOCOL_VERSION,
  docId: 'doc-1',
  client: 'c-1',
  user: { name: 'Ann', color: '#f00' },
  last: 0,
};
const submit: ClientMessage = {
  type: 'submit',
  base: 3,
  events: [{ id: { client: 'c-1', clientSeq: 1 }, author: 'Ann', op: [3, 'x', { d: 'y' }], kind: 'edit' }],
};
const valid: ClientMessage[] = [
  hello,
  { ...hello, token: 'abcdefghijklmnopqrstuvwxyz_-0123' } as ClientMessage,
  { ...hello, token: 'abcdefghijklmnopqrstuvwxyz_-0123', create: true } as ClientMessage,
  submit,
  { type: 'submit', base: 0, events: [{ id: { client: 'c', clientSeq: 9 }, author: 'a', op: ['hi'], kind: 'undo', meta: { t: 1, ok: true, s: 'x', n: null } }] },
  { type: 'presence', cursor: { anchor: 1, head: 4 } },
  { type: 'presence', cursor: null },
  { type: 'history', reqId: 7, from: 0, to: 100, limit: 50 },
  { type: 'ping', t: 123.5 },
];

function code(raw: string): string {
  const r = decodeClientMessage(raw);
  return r.ok ? 'ok' : r.error.code;
}

describe('decodeClientMessage', () => {
  it('accepts every client message and returns it as sent', () => {
    for (const m of valid) {
      const r = decodeClientMessage(encodeClientMessage(m));
      expect(r).toEqual({ ok: true, value: m });
    }
  });

  it('names what is wrong with a stable code (P12, K2, K12)', () => {
    expect(code('{')).toBe('bad-json');
    expect(code('')).toBe('bad-json');
    expect(code('null')).toBe('bad-message');
    expect(code('[1,2]')).toBe('bad-message');
    expect(code('"hello"')).toBe('bad-message');
    expect(code('{}')).toBe('bad-message');
    expect(code('{"type":5}')).toBe('bad-message');
    expect(code('{"type":"nope"}')).toBe('unknown-type');
    expect(code('{"type":"__proto__"}')).toBe('unknown-type');
    expect(code('{"type":"toString"}')).toBe('unknown-type');
    expect(code(JSON.stringify({ ...hello, protocol: PROTOCOL_VERSION + 1 }))).toBe('protocol-version');
    expect(code(JSON.stringify({ ...hello, token: 'short' }))).toBe('bad-message');
    expect(code(JSON.stringify({ ...hello, token: 'x'.repeat(22) + '%' }))).toBe('bad-message');
    expect(code(JSON.stringify({ ...hello, create: 'yes' }))).toBe('bad-message');
    expect(code(JSON.stringify({ ...hello, protocol: undefined }))).toBe('protocol-version');
    expect(code(JSON.stringify({ ...hello, docId: '../etc' }))).toBe('bad-message');
    expect(code(JSON.stringify({ ...hello, last: -1 }))).toBe('bad-message');
    expect(code(JSON.stringify({ ...hello, last: 1.5 }))).toBe('bad-message');
    expect(code(JSON.stringify({ ...hello, client: '' }))).toBe('bad-message');
    expect(code(JSON.stringify({ ...hello, user: { name: 'x'.repeat(65), color: '' } }))).toBe('bad-message');
    expect(code(JSON.stringify({ type: 'submit', base: 0, events: [] }))).toBe('bad-message');
    const many = Array.from({ length: protocolLimits.maxEventsPerSubmit + 1 }, (_, i) => ({
      id: { client: 'c', clientSeq: i + 1 },
      author: 'a',
      op: ['x'],
      kind: 'edit',
    }));
    expect(code(JSON.stringify({ type: 'submit', base: 0, events: many }))).toBe('bad-message');
    expect(code(JSON.stringify({ type: 'history', reqId: 1, from: 5, to: 4, limit: 1 }))).toBe('bad-message');
    expect(code(JSON.stringify({ type: 'history', reqId: 1, from: 0, to: 4, limit: 0 }))).toBe('bad-message');
    expect(code(JSON.stringify({ type: 'presence', cursor: { anchor: -1, head: 0 } }))).toBe('bad-message');
    expect(code(JSON.stringify({ type: 'ping' }))).toBe('bad-message');
  });

  it('sends ops through the codec: a bad op is op-malformed, naming the component (E1)', () => {
    const withOp = (op: unknown) => JSON.stringify({ ...submit, events: [{ ...(submit as { events: object[] }).events[0], op }] });
    for (const op of [[1, 2], [0, 'a'], [''], [{ d: '' }], [{ d: 'x', e: 1 }], [5], [{ d: 'a' }, 'b'], 'abc', null, [1.5, 'a'], [-1, 'a'], [[1]]]) {
      const r = decodeClientMessage(withOp(op));
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('op-malformed');
        expect(r.error.message).toContain('events.0.op');
      }
    }
    // The wrong-kind error of another field stays bad-message.
    const r = decodeClientMessage(JSON.stringify({ ...submit, events: [{ ...(submit as { events: object[] }).events[0], kind: 'x' }] }));
    expect(r.ok || r.error.code).toBe('bad-message');
  });

  it('strips unknown fields instead of passing them on', () => {
    const r = decodeClientMessage(JSON.stringify({ ...submit, extra: 1, events: [{ ...(submit as { events: object[] }).events[0], junk: 'x' }] }));
    expect(r.ok).toBe(true);
    if (r.ok) expect(JSON.stringify(r.value)).toBe(JSON.stringify(submit));
  });

  it('never throws, whatever the input (fast-check: strings and mutated JSON) (S1)', () => {
    const mutated = fc.constantFrom(...valid).chain((m) =>
      fc.tuple(fc.constant(m), fc.string(), fc.jsonValue()).map(([msg, key, value]) => {
        const copy = JSON.parse(JSON.stringify(msg)) as Record<string, unknown>;
        const keys = Object.keys(copy);
        copy[keys[key.length % keys.length] ?? key] = value;
        return JSON.stringify(copy);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), mutated), (raw) => {
        const r = decodeClientMessage(raw);
        expect(typeof r.ok).toBe('boolean');
        if (!r.ok) expect(errorCodes).toContain(r.error.code);
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  it('costs a few microseconds per one-event submit (measured, printed)', () => {
    const raw = JSON.stringify({
      type: 'submit',
      base: 123_456,
      events: [{ id: { client: 'k3v9x2m8q1', clientSeq: 4711 }, author: 'Ann', op: [98_765, 'e'], kind: 'edit' }],
    });
    const time = (f: () => void, n: number) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) f();
      return Number(process.hrtime.bigint() - t0) / n / 1000;
    };
    for (let i = 0; i < 20_000; i++) decodeClientMessage(raw); // warm up
    const n = 100_000;
    const parse = Math.min(time(() => JSON.parse(raw), n), time(() => JSON.parse(raw), n));
    const full = Math.min(time(() => decodeClientMessage(raw), n), time(() => decodeClientMessage(raw), n));
    console.log(`decodeClientMessage(submit of 1 event): ${full.toFixed(2)} µs (JSON.parse alone ${parse.toFixed(2)} µs)`);
    expect(full).toBeLessThan(100);
  });
});

describe('server messages', () => {
  it('round-trip through decodeServerMessage', () => {
    const ev = { id: { client: 'c', clientSeq: 1 }, seq: 1, base: 0, author: 'a', time: 5, op: ['hi'], kind: 'edit' as const };
    const cp = { docId: 'd', seq: 1, text: 'hi', authorship: [{ author: 'a', length: 2 }] };
    const msgs: ServerMessage[] = [
      { type: 'welcome', protocol: PROTOCOL_VERSION, docId: 'd', role: 'edit', head: 1, checkpoint: cp, events: [] },
      { type: 'welcome', protocol: PROTOCOL_VERSION, docId: 'd', role: 'edit', head: 1, checkpoint: null, events: [ev] },
      { type: 'events', events: [ev] },
      { type: 'ack', id: { client: 'c', clientSeq: 1 }, seq: 1 },
      { type: 'presence', client: 'c', user: { name: 'a', color: '#000' }, cursor: { anchor: 0, head: 2 } },
      { type: 'presence-leave', client: 'c' },
      { type: 'presence-batch', entries: [{ client: 'c', user: { name: 'a', color: '#000' }, cursor: null }, { client: 'd', user: { name: 'b', color: '#111' }, cursor: { anchor: 3, head: 3 } }] },
      { type: 'history-page', reqId: 1, events: [ev], checkpoints: [cp], next: null },
      { type: 'error', code: 'rate-limited', message: 'slow down', fatal: false },
      { type: 'pong', t: 1 },
    ];
    for (const m of msgs) expect(decodeServerMessage(encodeServerMessage(m))).toEqual({ ok: true, value: m });
    const badCp = { ...cp, authorship: [{ author: 'a', length: 3 }] };
    expect(decodeServerMessage(JSON.stringify({ type: 'history-page', reqId: 1, events: [], checkpoints: [badCp], next: null })).ok).toBe(false);
  });
});

describe('presenceEntries (P24)', () => {
  it('gives what a client applies of a presence or a batch, without its own client, and nothing of other messages', () => {
    const u = { name: 'a', color: '#000' };
    expect(presenceEntries({ type: 'presence', client: 'x', user: u, cursor: null }, 'me')).toEqual([{ client: 'x', user: u, cursor: null }]);
    expect(presenceEntries({ type: 'presence', client: 'me', user: u, cursor: null }, 'me')).toEqual([]);
    const batch = { type: 'presence-batch' as const, entries: [{ client: 'me', user: u, cursor: null }, { client: 'y', user: u, cursor: { anchor: 1, head: 2 } }] };
    expect(presenceEntries(batch, 'me')).toEqual([{ client: 'y', user: u, cursor: { anchor: 1, head: 2 } }]);
    expect(presenceEntries({ type: 'presence-leave', client: 'y' }, 'me')).toEqual([]);
    // An empty batch is not a message.
    expect(decodeServerMessage(JSON.stringify({ type: 'presence-batch', entries: [] })).ok).toBe(false);
  });
});
