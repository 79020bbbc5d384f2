/**
 * A watcher of the crowd bench (issue 15) that costs the generator next to nothing per frame:
 * a plain TCP socket that does the WebSocket handshake and sends its hello itself, then reads
 * every byte the server sends and walks only the frame headers (to answer pings and to see
 * its welcome, and a short text frame's start to count `behind`), never the payloads. With 800 watchers of a document that flushes 20 times a
 * second, `ws` built and emitted 16,000 messages a second that nothing looked at; this reads
 * the same bytes off the socket in the chunks the kernel hands over.
 *
 * What the server sees is a normal view of the stream: the socket is drained as fast as
 * the generator's thread runs, so a watcher falls behind (K15, P21) exactly when a `ws` one
 * would. Bench-only.
 */
import net from 'node:net';
import { randomBytes } from 'node:crypto';

const OP_TEXT = 0x1;
const OP_CLOSE = 0x8;
const BEHIND = Buffer.from('{"type":"behind"');
const OP_PING = 0x9;
const OP_BINARY = 0x2;

/** A masked client frame (RFC 6455 5.3: every client frame is masked). */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(len, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(len), 2);
  }
  const mask = randomBytes(4);
  mask.copy(out, head);
  for (let i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ mask[i & 3];
  return out;
}

export class RawWatcher {
  private socket: net.Socket | null = null;
  /** Bytes of the current frame's payload still to skip. */
  private skip = 0;
  /** A frame header split across chunks, until the rest arrives. */
  private partial: Buffer | null = null;
  private upgraded = false;
  private handshake = '';
  /** Frames read (all kinds), for the report. */
  frames = 0;
  /** `behind` messages read (K15, P21): the only text frames whose payload is looked at, and only when short. */
  behind = 0;

  constructor(
    private readonly url: string,
    private readonly hello: string,
    private readonly onError: (message: string) => void,
  ) {}

  /** Connects, sends the hello, and resolves at the welcome (the first binary frame). */
  open(): Promise<void> {
    const u = new URL(this.url);
    return new Promise((resolve, reject) => {
      const s = (this.socket = net.connect(Number(u.port), u.hostname));
      s.setNoDelay(true);
      s.on('error', (e) => {
        this.onError(`raw watcher: ${e.message}`);
        reject(e);
      });
      s.on('connect', () =>
        s.write(
          `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ),
      );
      s.on('data', (chunk: Buffer) => {
        if (!this.upgraded) {
          this.handshake += chunk.toString('latin1');
          const end = this.handshake.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!this.handshake.startsWith('HTTP/1.1 101')) {
            const e = new Error(`raw watcher: upgrade refused: ${this.handshake.slice(0, 80)}`);
            this.onError(e.message);
            return reject(e);
          }
          this.upgraded = true;
          s.write(clientFrame(0x1, Buffer.from(this.hello)));
          chunk = Buffer.from(this.handshake.slice(end + 4), 'latin1');
          this.handshake = '';
        }
        this.read(chunk, resolve);
      });
    });
  }

  /** Walks the frame headers in `chunk`, skipping payloads; answers pings. */
  private read(chunk: Buffer, welcomed: () => void): void {
    let b = chunk;
    if (this.partial !== null) {
      b = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let pos = 0;
    while (pos < b.length) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, b.length - pos);
        pos += take;
        this.skip -= take;
        continue;
      }
      if (b.length - pos < 2) break;
      const opcode = b[pos] & 0x0f;
      const len7 = b[pos + 1] & 0x7f;
      const head = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
      if (b.length - pos < head) break;
      const len = len7 < 126 ? len7 : len7 === 126 ? b.readUInt16BE(pos + 2) : Number(b.readBigUInt64BE(pos + 2));
      pos += head;
      this.skip = len;
      this.frames++;
      if (opcode === OP_TEXT && len < 126 && b.length - pos >= BEHIND.length && b.compare(BEHIND, 0, BEHIND.length, pos, pos + BEHIND.length) === 0) this.behind++;
      if (opcode === OP_BINARY) welcomed();
      else if (opcode === OP_PING) this.socket?.write(clientFrame(0xa, Buffer.alloc(0)));
      else if (opcode === OP_CLOSE) this.socket?.end();
    }
    if (pos < b.length) this.partial = b.subarray(pos);
  }

  /** Drops the connection at once. */
  terminate(): void {
    this.socket?.destroy();
  }
}
