/**
 * One worker thread of the thin Yjs load generator against Hocuspocus (crowd-load.ts's
 * peer run), as thin as thin-worker.ts is for ours: each client keeps a Y.Doc of its own
 * insertions only (so its updates are real Yjs updates, made without integrating anyone
 * else's), speaks Hocuspocus's framing over a raw WebSocket (auth, sync step 1, then
 * one update a keystroke) and never applies what it receives. A keystroke inserts
 * "<send time>;" at position 0 of the shared Y.Text; a few observers decode the updates
 * they receive and take each stamp of another client's keystroke as a latency sample.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import * as Y from 'yjs';
import * as encoding from 'lib0/encoding';
import * as decoding from 'lib0/decoding';
import type { WorkerInput, WorkerReport } from './thin-worker.js';

const now = () => performance.timeOrigin + performance.now();
const SYNC = 0;
const AUTH = 2;

function frame(doc: string, type: number, body: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, doc);
  encoding.writeVarUint(e, type);
  body(e);
  return encoding.toUint8Array(e);
}

class YClient {
  ws!: WebSocket;
  readonly doc = new Y.Doc();
  sent = 0;
  received = 0;
  constructor(
    readonly input: WorkerInput,
    readonly name: string,
    readonly observer: boolean,
    readonly latencies: number[],
    readonly errors: string[],
  ) {
    this.doc.on('update', (u: Uint8Array) => {
      if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(frame(this.input.docId, SYNC, (e) => (encoding.writeVarUint(e, 2), encoding.writeVarUint8Array(e, u))));
    });
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const ws = (this.ws = new WebSocket(this.input.url, { perMessageDeflate: false }));
      ws.binaryType = 'nodebuffer';
      ws.on('error', (e) => {
        this.errors.push(`${this.name}: ${e.message}`);
        reject(e);
      });
      ws.on('open', () => {
        const d = this.input.docId;
        ws.send(frame(d, AUTH, (e) => (encoding.writeVarUint(e, 0), encoding.writeVarString(e, ''))));
        ws.send(frame(d, SYNC, (e) => (encoding.writeVarUint(e, 0), encoding.writeVarUint8Array(e, Y.encodeStateVector(new Y.Doc())))));
      });
      let synced = false;
      ws.on('message', (data: Buffer) => {
        const dec = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.length));
        decoding.readVarString(dec);
        const type = decoding.readVarUint(dec);
        if (type !== SYNC) return;
        const sub = decoding.readVarUint(dec);
        if (sub === 1 && !synced) {
          // Step 2: the document so far; connected.
          synced = true;
          resolve();
          return;
        }
        if (sub !== 2) return;
        this.received++;
        if (!this.observer) return;
        const t = now();
        const update = decoding.readVarUint8Array(dec);
        for (const s of Y.decodeUpdate(update).structs) {
          const c = (s as { content?: { str?: string } }).content;
          if (c?.str === undefined) continue;
          for (const stamp of c.str.split(';')) if (stamp !== '') this.latencies.push(t - parseInt(stamp, 36) / 10);
        }
      });
    });
  }

  type(): void {
    this.sent++;
    this.doc.getText('t').insert(0, `${Math.round(now() * 10).toString(36)};`);
  }
}

const input = workerData as WorkerInput;
const latencies: number[] = [];
const errors: string[] = [];
const clients = input.names.map((n) => new YClient(input, n, input.observers.includes(n), latencies, errors));
const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
let timers: NodeJS.Timeout[] = [];

function snapshot(): WorkerReport {
  // Hocuspocus acknowledges nothing: "acked" is what the observers received of others' keystrokes.
  const obs = clients.filter((c) => c.observer);
  return {
    latencies: latencies.slice(),
    typed: clients.reduce((n, c) => n + c.sent, 0), // each keystroke is sent as it is made
    sent: clients.reduce((n, c) => n + c.sent, 0),
    acked: obs.reduce((n, c) => n + c.received, 0),
    behind: 0,
    slowDowns: 0,
    errors: errors.slice(0, 20),
    eldMax: Math.round(eld.max / 1e5) / 10,
    eldP99: Math.round(eld.percentile(99) / 1e5) / 10,
    late: [],
    paces: [],
  };
}

parentPort!.on('message', async (m: { cmd: string }) => {
  if (m.cmd === 'open') {
    for (let i = 0; i < clients.length; i += 20) await Promise.all(clients.slice(i, i + 20).map((c) => c.open()));
    parentPort!.postMessage({ opened: clients.length });
  } else if (m.cmd === 'start') {
    const period = 1000 / input.rate;
    timers = clients.slice(0, input.typists).map((c, i) =>
      setTimeout(() => timers.push(setInterval(() => c.type(), period)), (i * period) / clients.length + Math.random() * period),
    );
    parentPort!.postMessage({ started: true });
  } else if (m.cmd === 'measure') {
    latencies.length = 0;
    eld.reset();
    parentPort!.postMessage({ measuring: true });
  } else if (m.cmd === 'stop') {
    for (const t of timers) clearTimeout(t), clearInterval(t);
    timers = [];
    parentPort!.postMessage({ report: snapshot() });
  } else if (m.cmd === 'snapshot') {
    parentPort!.postMessage({ report: snapshot() });
  } else if (m.cmd === 'close') {
    for (const c of clients) c.ws.terminate();
    parentPort!.postMessage({ closed: true });
  }
});
