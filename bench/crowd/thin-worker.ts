/**
 * One worker thread of the thin load generator (crowd-load.ts): a share of the clients
 * of one document, each a raw WebSocket that types one character at position 0 at a
 * fixed rate. Thin on purpose, so that the generator is not what is measured:
 *
 *   - no client state: the base of a submit is the last seq the client has seen, read
 *     from a live frame's header (its `end`) or an ack without decoding them; an insert at
 *     0 is valid at any base, so nothing needs rebasing here;
 *   - each event carries its send time (`meta.t`, ms on the process's shared clock), and
 *     only a few observer clients decode every frame, for the latency of others' events;
 *     the other typists decode a frame only when their name is in it (to count their own
 *     events), and watchers do nothing with it but drain their socket;
 *   - `slow-down` is obeyed: while it holds, a client keeps its keystrokes and sends them
 *     as one submit at most every `batchMs` and only when its previous submit is acked;
 *   - `behind` is counted; the stream resumes on its own when the socket drains.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { FRAME_EVENTS, decodeServerFrame, eventsFrameSpan } from '../../shared/src/protocol/frames.js';
import { RawWatcher } from './raw-watcher.js';

export interface WorkerInput {
  readonly url: string;
  readonly docId: string;
  readonly token: string;
  /** Client names this worker runs. */
  readonly names: readonly string[];
  /** Which of them parse frames for latency. */
  readonly observers: readonly string[];
  readonly rate: number;
  /** How many of `names` (the first ones) type; the others only watch. */
  readonly typists: number;
  /** Typists start within this many ms of `start` (default: one keystroke period). */
  readonly rampMs?: number;
  /** Watchers as `ws` clients that ignore what they read, instead of raw sockets (raw-watcher.ts): to compare the generator's cost. */
  readonly wsWatchers?: boolean;
  /** Only events of clients whose name starts with this count for latency (default: every other client's). */
  readonly latencyOf?: string;
}

export interface WorkerReport {
  readonly latencies: number[];
  /** Keystrokes made (the generator's own rate: its timers drift when its threads are busy). */
  readonly typed: number;
  readonly sent: number;
  readonly acked: number;
  readonly behind: number;
  readonly slowDowns: number;
  readonly errors: string[];
  /** This worker thread's event-loop delay since `measure`, ms: max and p99 (is the generator itself stalled?). */
  readonly eldMax: number;
  readonly eldP99: number;
  /** Keystrokes received more than 100 ms after they were made since `measure`: [receipt time (wall ms), latency ms, author's client]. */
  readonly late: [number, number, string][];
  /** Every `slow-down` the worker's first client heard: [when (wall ms), batchMs], to see the interval in force over time. */
  readonly paces: [number, number][];
}

const now = () => performance.timeOrigin + performance.now();

const ACK = Buffer.from('{"type":"ack"');
const SEQ = Buffer.from('"seq":');
const startsWith = (b: Buffer, prefix: Buffer) => b.length >= prefix.length && b.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** The non-negative integer written at `at` in `b`. */
function readInt(b: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < b.length; i++) {
    const c = b[i] - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
}

class ThinClient {
  ws!: WebSocket;
  seq = 0;
  clientSeq = 0;
  /** Keystrokes not yet sent (slow-down holds them). */
  held = 0;
  heldT = 0;
  inFlight = 0;
  /** Keystrokes of each submit in flight, oldest first. */
  private readonly flying: number[] = [];
  batchMs = 0;
  lastSubmit = 0;
  acked = 0;
  typed = 0;
  sent = 0;
  behind = 0;
  slowDowns = 0;
  constructor(
    readonly input: WorkerInput,
    readonly name: string,
    readonly observer: boolean,
    readonly latencies: number[],
    readonly errors: string[],
    readonly late: [number, number, string][],
    readonly typist: boolean,
  ) {
    this.needle = Buffer.from(name);
  }

  /** This client's name as it reads in a live frame's table of strings. */
  private readonly needle: Buffer;

  terminate(): void {
    this.ws.terminate();
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = (this.ws = new WebSocket(this.input.url, { perMessageDeflate: false }));
      ws.on('error', (e) => {
        this.errors.push(`${this.name}: ${e.message}`);
        reject(e);
      });
      ws.on('open', () =>
        ws.send(
          JSON.stringify({ type: 'hello', protocol: 4, docId: this.input.docId, client: this.name, user: { name: this.name, color: '#888888' }, last: 0, token: this.input.token }),
        ),
      );
      ws.on('message', (data: Buffer, isBinary) => {
        if (!isBinary) return this.text(data);
        if (data[0] === FRAME_EVENTS) return this.events(data);
        // The welcome: decoded once, for the head.
        const r = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.length));
        if (r.ok && r.value.type === 'welcome') {
          // The first, or the catch-up after `behind`: own events in it are acks.
          for (const e of r.value.events) if (e.id.client === this.name && e.seq > this.seq) this.ackOne();
          this.seq = r.value.head;
          resolve();
        }
      });
    });
  }

  /**
   * A live events frame (P25), looked at as bytes: a watcher does nothing with it (it only
   * drains its socket); a typist reads the stream's end from the header, and looks for its
   * own name (a block names each client once, in its table of strings): with one submit in
   * flight that is its ack, with more it decodes the frame to count them (rare: slow-down
   * allows one in flight). The observers decode every frame, for the others' latency.
   */
  private events(b: Buffer): void {
    if (!this.typist) return;
    const bytes = new Uint8Array(b.buffer, b.byteOffset, b.length);
    const span = eventsFrameSpan(bytes);
    if (span !== null && span.end > this.seq) this.seq = span.end;
    if (!this.observer) {
      if (this.inFlight === 0 || b.indexOf(this.needle) < 0) return this.maybeFlush();
      // Each submit is one event, and only own events name this client: with one in flight,
      // the name is that one. With more, the frame may hold several: decode it to count.
      if (this.inFlight === 1) {
        this.ackOne();
        return this.maybeFlush();
      }
    }
    const t = now();
    const r = decodeServerFrame(bytes);
    if (!r.ok || r.value.type !== 'events') {
      this.errors.push(`${this.name}: undecodable events frame: ${r.ok ? r.value.type : r.error.message}`);
      return;
    }
    for (const e of r.value.events) {
      if (e.id.client === this.name) this.ackOne();
      else if (this.observer && typeof e.meta?.t === 'number' && (this.input.latencyOf === undefined || e.id.client.startsWith(this.input.latencyOf))) {
        const l = t - e.meta.t;
        this.latencies.push(l);
        if (l > 100 && this.late.length < 20_000) this.late.push([Math.round(t), Math.round(l), e.id.client]);
      }
    }
    this.maybeFlush();
  }

  /** A text frame: an ack (of a duplicate), slow-down, behind or an error. */
  private text(b: Buffer): void {
    if (startsWith(b, ACK)) {
      if (!this.typist) return;
      const at = b.lastIndexOf(SEQ);
      if (at >= 0) {
        const seq = readInt(b, at + SEQ.length);
        if (seq > this.seq) this.seq = seq;
      }
      this.ackOne();
      this.maybeFlush();
      return;
    }
    const s = b.toString('utf8');
    if (s.startsWith('{"type":"slow-down"')) {
      this.slowDowns++;
      this.batchMs = (JSON.parse(s) as { batchMs: number }).batchMs;
      if (this === clients[0] && paces.length < 1000) paces.push([Math.round(now()), this.batchMs]);
      return;
    }
    if (s.startsWith('{"type":"behind"')) {
      this.behind++;
      return;
    }
    if (s.startsWith('{"type":"error"')) this.errors.push(`${this.name}: ${s.slice(0, 200)}`);
  }

  private ackOne(): void {
    this.acked += this.flying.shift() ?? 0;
    this.inFlight = this.flying.length;
  }

  type(): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.typed++;
    if (this.held === 0) this.heldT = now();
    this.held++;
    this.maybeFlush();
  }

  private timer: NodeJS.Timeout | null = null;

  /** Sends what is held unless slow-down holds it: then once nothing is in flight and `batchMs` has passed. */
  private maybeFlush(): void {
    if (this.held === 0 || this.timer !== null) return;
    if (this.batchMs === 0) return this.flush();
    if (this.inFlight > 0) return; // the ack calls again
    const wait = this.lastSubmit + this.batchMs - now();
    if (wait <= 0) return this.flush();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.maybeFlush();
    }, wait);
  }

  /** One submit with every held keystroke (one event of n characters: the latency is the first one's). */
  private flush(): void {
    const n = this.held;
    if (n === 0) return;
    this.held = 0;
    this.lastSubmit = now();
    this.flying.push(n);
    this.inFlight = this.flying.length;
    this.sent += n;
    const op = ['x'.repeat(n)];
    this.ws.send(
      `{"type":"submit","base":${this.seq},"events":[{"id":{"client":"${this.name}","clientSeq":${++this.clientSeq}},"author":"${this.name}","op":${JSON.stringify(op)},"kind":"edit","meta":{"t":${this.heldT}}}]}`,
    );
  }
}

const input = workerData as WorkerInput;
const latencies: number[] = [];
const errors: string[] = [];
const late: [number, number, string][] = [];
const paces: [number, number][] = [];
const clients = input.names.slice(0, input.typists).map((n) => new ThinClient(input, n, input.observers.includes(n), latencies, errors, late, true));
// Watchers only drain their sockets: raw ones (raw-watcher.ts), unless a `ws` client is asked for.
const hello = (n: string) => JSON.stringify({ type: 'hello', protocol: 4, docId: input.docId, client: n, user: { name: n, color: '#888888' }, last: 0, token: input.token });
const watchers: { open(): Promise<void>; terminate(): void; behind: number }[] = input.names
  .slice(input.typists)
  .map((n) => (input.wsWatchers === true ? new ThinClient(input, n, false, latencies, errors, late, false) : new RawWatcher(input.url, hello(n), (m) => errors.push(`${n}: ${m}`))));
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
let timers: NodeJS.Timeout[] = [];
let measuring = false;

parentPort!.on('message', async (m: { cmd: 'open' | 'start' | 'measure' | 'stop' | 'snapshot' | 'close' }) => {
  if (m.cmd === 'open') {
    const all = [...clients, ...watchers];
    for (let i = 0; i < all.length; i += 20) await Promise.all(all.slice(i, i + 20).map((c) => c.open()));
    parentPort!.postMessage({ opened: all.length });
  } else if (m.cmd === 'start') {
    const period = 1000 / input.rate;
    timers = clients.slice(0, input.typists).map((c, i) => {
      const t = setTimeout(() => {
        timers.push(setInterval(() => c.type(), period));
      }, Math.random() * (input.rampMs ?? period));
      return t;
    });
    parentPort!.postMessage({ started: true });
  } else if (m.cmd === 'measure') {
    measuring = true;
    latencies.length = 0;
    late.length = 0;
    eld.reset();
    parentPort!.postMessage({ measuring });
  } else if (m.cmd === 'stop') {
    for (const t of timers) clearTimeout(t), clearInterval(t);
    timers = [];
    parentPort!.postMessage({ report: snapshot() });
  } else if (m.cmd === 'snapshot') {
    parentPort!.postMessage({ report: snapshot() });
  } else if (m.cmd === 'close') {
    for (const c of clients) c.ws.terminate();
    for (const w of watchers) w.terminate();
    parentPort!.postMessage({ closed: true });
  }
});

function snapshot(): WorkerReport {
    const report: WorkerReport = {
      latencies: latencies.slice(),
      typed: clients.reduce((n, c) => n + c.typed, 0),
      sent: clients.reduce((n, c) => n + c.sent, 0),
      acked: clients.reduce((n, c) => n + c.acked, 0),
      behind: clients.reduce((n, c) => n + c.behind, 0) + watchers.reduce((n, w) => n + w.behind, 0),
      slowDowns: clients.reduce((n, c) => n + c.slowDowns, 0),
      errors: errors.slice(0, 20),
      eldMax: Math.round(eld.max / 1e5) / 10,
      eldP99: Math.round(eld.percentile(99) / 1e5) / 10,
      late: late.slice(),
      paces: paces.slice(),
    };
  return report;
}
