/**
 * A bare WebSocket for tests that speak the protocol by hand (or break it on purpose):
 * it queues every decoded server message and the close code, and lets a test await
 * "the next message of this type" or "the close". No sync logic at all: that is
 * ws-client.ts.
 *
 * One convenience: a submitter's own events come back inside the shared `events` message
 * (P5), and that is its ack. After such a message the socket queues an `ack` for each own
 * event in it (with the event's seq and time), so that tests can await `next('ack')`.
 */
import WebSocket from 'ws';
import { PROTOCOL_VERSION, decodeServerFrame, type ServerMessage } from '../../../shared/src/index.js';
import { frameData } from './ws-client.js';
import { editAccess } from './tokens.js';

export class RawSocket {
  readonly messages: ServerMessage[] = [];
  closeCode: number | null = null;
  /** The size of each binary welcome and history page received, in order (live events frames are not counted). */
  readonly binarySizes: number[] = [];
  private readonly closed: Promise<number>;
  private wake: (() => void) | null = null;
  /** The client id this socket said hello with (sendJson), for the acks of its own events. */
  client: string | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('error', () => {});
    ws.on('message', (d, isBinary) => {
      // Text frames as they are (a test may send anything and read what comes back); binary
      // ones (welcomes, history pages, live events) through the frame decoder, which must accept them.
      let m: ServerMessage;
      if (isBinary) {
        const r = decodeServerFrame(frameData(d, true));
        if (!r.ok) throw new Error(`RawSocket: an undecodable binary frame: ${r.error.code}: ${r.error.message}`);
        m = r.value;
        if (m.type !== 'events') this.binarySizes.push((frameData(d, true) as Uint8Array).length);
      } else {
        m = JSON.parse(String(d)) as ServerMessage;
      }
      this.messages.push(m);
      if (m.type === 'events' && this.client !== null) {
        for (const e of m.events) if (e.id.client === this.client) this.messages.push({ type: 'ack', id: e.id, seq: e.seq, time: e.time });
      }
      this.wake?.();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code) => {
        this.closeCode = code;
        this.wake?.();
        resolve(code);
      }),
    );
  }

  /**
   * `localAddress`: connect from it (e.g. 127.0.0.2, another host than the other test clients' as the server sees it).
   * `headers`: extra request headers of the upgrade (e.g. X-Forwarded-For).
   */
  static open(url: string, localAddress?: string, headers?: Record<string, string>): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, {
        maxPayload: 256 * 1024 * 1024,
        ...(localAddress !== undefined ? { localAddress } : {}),
        ...(headers !== undefined ? { headers } : {}),
      });
      const s = new RawSocket(ws);
      ws.once('open', () => resolve(s));
      ws.once('error', reject);
    });
  }

  /** Opens a socket and joins `docId`; resolves with the welcome. */
  static async join(
    url: string,
    docId: string,
    client: string,
    last = 0,
    /** Token fields of the hello; by default the test edit token, creating the document if new. */
    access: { token?: string; create?: boolean } = editAccess(docId),
  ): Promise<{ sock: RawSocket; welcome: Extract<ServerMessage, { type: 'welcome' }> }> {
    const sock = await RawSocket.open(url);
    sock.sendJson({ type: 'hello', protocol: PROTOCOL_VERSION, docId, client, user: { name: client, color: '#123' }, last, ...access });
    const welcome = await sock.next('welcome');
    return { sock, welcome };
  }

  send(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  sendJson(v: unknown): void {
    const hello = v as { type?: unknown; client?: unknown };
    if (hello?.type === 'hello' && typeof hello.client === 'string') this.client = hello.client;
    this.ws.send(JSON.stringify(v));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Removes and returns the first queued message of `type` (waiting for it), dropping
   * nothing else. Rejects on close or after `ms`.
   */
  async next<T extends ServerMessage['type']>(type: T, ms = 10_000): Promise<Extract<ServerMessage, { type: T }>> {
    const t0 = Date.now();
    for (;;) {
      const i = this.messages.findIndex((m) => m.type === type);
      if (i >= 0) return this.messages.splice(i, 1)[0] as Extract<ServerMessage, { type: T }>;
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting for ${type}`);
      const left = ms - (Date.now() - t0);
      if (left <= 0) throw new Error(`timed out waiting for ${type}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  /** Resolves with the close code, or rejects after `ms`. */
  waitClose(ms = 10_000): Promise<number> {
    return Promise.race([
      this.closed,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error('timed out waiting for close')), ms).unref()),
    ]);
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }
}
