/**
 * Bad frames for the fuzz test (S1), each with the answer the protocol promises for
 * it: an `error` with a stable code, or a close with a stated code. Every frame is bad
 * by construction, never by luck: the submits that reach the sequencer carry ops that
 * cannot fit (a retain far beyond any document here, a delete of NUL characters no
 * honest client types) or break the id rules, so none of them can ever be appended.
 *
 * Frames come from kinds (below) and from mutating valid messages field by field with
 * values of the wrong type; `expectedFor` classifies arbitrary JSON the same way the
 * decoder must, so random garbage needs no hand-written answer.
 */
import { editAccess } from './tokens.js';
import { PROTOCOL_VERSION } from '../../../shared/src/index.js';
import type { Random } from '../../../shared/test/sim/random.js';

export type Expect = { error: string } | { close: number; error?: string };

export interface BadFrame {
  readonly kind: string;
  readonly data: string | Buffer;
  readonly binary?: boolean;
  readonly expect: Expect;
}

/** What a joined connection's server must answer to arbitrary JSON text. */
export function expectedFor(text: string): string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'bad-json';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'bad-message';
  const type = (v as { type?: unknown }).type;
  if (typeof type !== 'string') return 'bad-message';
  if (!['hello', 'submit', 'presence', 'history', 'ping'].includes(type)) return 'unknown-type';
  return 'needs-a-rule';
}

const BROKEN_JSON = ['{', '}', '{"type":', '{"type":"submit"', "{'type':'ping'}", '[1,2', 'nul', 'tru', '"abc', '{"a":1,}', '01', '.5', '{"type":"ping","t":NaN}', '\u0000', '   '];
const WRONG_VALUES: unknown[] = [null, true, false, -1, 1.5, 1e300, '', 'x', [], [1], {}, { a: 1 }, 'x'.repeat(300)];
const BAD_OPS: unknown[] = [
  [1, 2],
  [0, 'a'],
  [''],
  [{ d: '' }],
  [{ d: 'x', e: 1 }],
  [5],
  [{ d: 'a' }, 'b'],
  'abc',
  null,
  [1.5, 'a'],
  [-1, 'a'],
  [[1]],
  ['a', 'b'],
  [{ d: 'a' }, { d: 'b' }],
  [true],
  {},
  [2 ** 31, 'x'],
];

export class BadFrames {
  /** The last seq this connection has seen (kept up to date by the test). */
  head = 0;
  constructor(
    private readonly rnd: Random,
    readonly client: string,
    readonly docId: string,
  ) {}

  private event(clientSeq: number, op: unknown, client = this.client): Record<string, unknown> {
    return { id: { client, clientSeq }, author: 'mallory', op, kind: 'edit' };
  }

  private submit(events: unknown[], base = this.head): string {
    return JSON.stringify({ type: 'submit', base, events });
  }

  hello(extra: Record<string, unknown> = {}): string {
    return JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: this.docId, client: this.client, user: { name: 'mallory', color: '#f00' }, last: 0, ...editAccess(this.docId), ...extra });
  }

  /** An op that can never fit: it reaches far beyond any document in these tests. */
  private outOfRangeOp(): unknown {
    const far = 100_000_000 + this.rnd.int(1000);
    return this.rnd.chance(0.5) ? [far, 'x'] : [far, { d: 'abc' }];
  }

  /** A frame for a connection that has joined; never one that closes it. */
  joined(): BadFrame {
    const r = this.rnd;
    switch (r.int(16)) {
      case 0: {
        const data = r.chance(0.5) ? r.pick(BROKEN_JSON) : randomAscii(r);
        const code = expectedFor(data);
        return code === 'needs-a-rule' ? this.joined() : { kind: 'garbage', data, expect: { error: code } };
      }
      case 1:
        return { kind: 'not-an-object', data: JSON.stringify(r.pick([1, 'x', [1, 2], null, true, [{ type: 'ping', t: 1 }]])), expect: { error: 'bad-message' } };
      case 2:
        return { kind: 'no-type', data: JSON.stringify(r.pick([{}, { type: 5 }, { type: null }, { type: ['submit'] }, { t: 1 }])), expect: { error: 'bad-message' } };
      case 3:
        return { kind: 'unknown-type', data: JSON.stringify({ type: r.pick(['Submit', 'sumbit', 'ack', 'welcome', '__proto__', 'constructor', '']) + (r.chance(0.5) ? '' : 'x'), base: 0 }), expect: { error: 'unknown-type' } };
      case 4:
        return this.mutated();
      case 5:
        return { kind: 'bad-op', data: this.submit([this.event(1, r.pick(BAD_OPS))]), expect: { error: 'op-malformed' } };
      case 6:
        return { kind: 'out-of-range', data: this.submit([this.event(1, this.outOfRangeOp())]), expect: { error: 'op-out-of-range' } };
      case 7: {
        const op = [1 + r.int(100), { d: '\u0000'.repeat(200) }];
        return { kind: 'delete-mismatch', data: this.submit([this.event(1, op)]), expect: { error: 'op-delete-mismatch' } };
      }
      case 8:
        return { kind: 'wrong-client', data: this.submit([this.event(1, ['x'], `${this.client}-other`)]), expect: { error: 'wrong-client' } };
      case 9:
        return { kind: 'out-of-order', data: this.submit([this.event(2 + r.int(1000), ['x'])]), expect: { error: 'out-of-order' } };
      case 10:
        return { kind: 'base-ahead', data: this.submit([this.event(1, ['x'])], this.head + 1_000_000 + r.int(10)), expect: { error: 'base-ahead' } };
      case 11: {
        const events = Array.from({ length: r.chance(0.5) ? 0 : 1001 }, (_, i) => this.event(i + 1, this.outOfRangeOp()));
        return { kind: 'batch-size', data: this.submit(events), expect: { error: 'bad-message' } };
      }
      case 12:
        return { kind: 'binary', data: Buffer.from(r.chance(0.5) ? '{"type":"ping","t":1}' : randomAscii(r)), binary: true, expect: { error: 'bad-message' } };
      case 13:
        return { kind: 'already-joined', data: this.hello({ last: r.int(5) }), expect: { error: 'already-joined' } };
      case 14: {
        // Valid shape until the last event: the whole batch is refused, nothing appended.
        const good = this.event(1, ['x']);
        return { kind: 'bad-tail', data: this.submit([good, this.event(2, r.pick(BAD_OPS))]), expect: { error: 'op-malformed' } };
      }
      default: {
        const msg = r.pick([
          { type: 'history', reqId: 1, from: 5, to: 1, limit: 10 },
          { type: 'history', reqId: 1, from: 0, to: 1, limit: 0 },
          { type: 'history', reqId: -1, from: 0, to: 1, limit: 1 },
          { type: 'presence', cursor: { anchor: -1, head: 0 } },
          { type: 'presence', cursor: 'here' },
          { type: 'presence' },
          { type: 'ping' },
          { type: 'ping', t: 'now' },
        ]);
        return { kind: 'bad-field', data: JSON.stringify(msg), expect: { error: 'bad-message' } };
      }
    }
  }

  /** A valid message with one field replaced by a value of the wrong type. */
  private mutated(): BadFrame {
    const r = this.rnd;
    const templates: [Record<string, unknown>, string[]][] = [
      [{ type: 'submit', base: this.head, events: [this.event(1, this.outOfRangeOp())] }, ['base', 'events']],
      [{ type: 'history', reqId: 1, from: 0, to: 10, limit: 10 }, ['reqId', 'from', 'to', 'limit']],
      [{ type: 'ping', t: 1 }, ['t']],
      [{ type: 'presence', cursor: { anchor: 1, head: 2 } }, ['cursor']],
    ];
    const [msg, fields] = r.pick(templates);
    const field = r.pick(fields);
    let value = r.pick(WRONG_VALUES);
    // Values that would be right for the field are skipped (e.g. null is a valid cursor).
    if (field === 'cursor' && value === null) value = 'x';
    if (field === 't' && typeof value === 'number') value = 'x';
    if ((field === 'from' || field === 'reqId') && value === false) value = -1;
    if (field === 'to' && (value === 1e300 || value === false)) value = 'x';
    return { kind: `mutated-${msg.type}.${field}`, data: JSON.stringify({ ...msg, [field]: value }), expect: { error: 'bad-message' } };
  }

  /** A frame that ends the connection. */
  closing(): BadFrame {
    const r = this.rnd;
    switch (r.int(4)) {
      case 0:
        return { kind: 'huge', data: '{"type":"ping","t":1,"pad":"' + 'x'.repeat((1 << 20) + r.int(1000)) + '"}', expect: { close: 1009 } };
      case 1:
        return { kind: 'huge-garbage', data: Buffer.alloc((1 << 20) + 1 + r.int(100), 0x61), binary: r.chance(0.5), expect: { close: 1009 } };
      case 2:
        return { kind: 'protocol-version', data: this.hello({ protocol: r.pick([0, PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1, String(PROTOCOL_VERSION), null]) }), expect: { close: 1002, error: 'protocol-version' } };
      default:
        return { kind: 'invalid-utf8', data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), expect: { close: 1007 } };
    }
  }

  /** A frame before hello: everything but hello and ping is refused with not-joined. */
  beforeHello(): BadFrame {
    const r = this.rnd;
    const msg = r.pick([
      { type: 'submit', base: 0, events: [this.event(1, ['x'])] },
      { type: 'presence', cursor: null },
      { type: 'history', reqId: 1, from: 0, to: 1, limit: 1 },
    ]);
    return { kind: 'not-joined', data: JSON.stringify(msg), expect: { error: 'not-joined' } };
  }
}

function randomAscii(r: Random): string {
  const n = 1 + r.int(60);
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(32 + r.int(95));
  return s;
}
