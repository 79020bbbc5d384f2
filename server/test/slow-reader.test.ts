/**
 * A connection that cannot keep up (K11): its unsent output is bounded. The server does
 * not buffer without end for a client that stops reading; once more than
 * `maxBufferedBytes` wait unsent, the next message drops the connection (the client
 * re-syncs like after any lost connection), and everyone else is served as before.
 *
 * The slow reader is real: a WebSocket whose TCP socket stops being read, so the
 * kernel's buffers fill and `ws` starts holding the server's output in memory. The
 * bound is lowered to 256 KiB (the default is 64 MiB) so that a few history pages of a
 * document with large events exceed it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { startServer, type RunningServer } from '../src/http';
import { MemoryLogStore } from '../src/store/memory-log-store';
import { silentLogger } from '../src/options';
import { RawSocket } from './helpers/raw-socket';

let servers: RunningServer[] = [];
let socks: RawSocket[] = [];
afterEach(async () => {
  for (const s of socks) s.terminate();
  socks = [];
  for (const s of servers) await s.close();
  servers = [];
});

describe('unsent output per connection', () => {
  it('drops a connection whose unsent output passes the bound; the others keep being served (K11)', async () => {
    const maxBufferedBytes = 256 * 1024;
    const srv = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir: '/tmp',
      staticDir: '/nonexistent',
      store: new MemoryLogStore(),
      sync: { log: silentLogger, maxBufferedBytes },
    });
    servers.push(srv);
    const url = `ws://127.0.0.1:${srv.port}/ws`;

    // 40 events of 20,000 CJK characters each, drawn from a seeded generator so that deflate
    // cannot shrink them away: every full history page is a binary frame of over 1 MB of blocks.
    const { sock: editor } = await RawSocket.join(url, 'slow', 'editor');
    socks.push(editor);
    let x = 0x51e7;
    const chunk = Array.from({ length: 20_000 }, () => String.fromCharCode(0x4e00 + ((x = (x * 1103515245 + 12345) % 2 ** 31) % 20_000))).join('');
    const events = Array.from({ length: 40 }, (_, i) => ({
      id: { client: 'editor', clientSeq: i + 1 },
      author: 'editor',
      op: i === 0 ? [chunk] : [i * chunk.length, chunk],
      kind: 'edit',
    }));
    // One a submit: a submit frame stays under 1 MiB.
    for (let i = 0; i < events.length; i++) {
      editor.sendJson({ type: 'submit', base: i, events: [events[i]] });
      await editor.next('ack');
    }

    // The reader joins, then its side stops reading from the TCP socket.
    const { sock: reader } = await RawSocket.join(url, 'slow', 'reader');
    socks.push(reader);
    await editor.next('presence');
    const tcp = (reader.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();
    for (let i = 0; i < 30; i++) reader.sendJson({ type: 'history', reqId: i, from: 0, to: 40, limit: 1000 });

    // The server gives up on it: the others hear that it left.
    const leave = await editor.next('presence-leave', 30_000);
    expect(leave.client).toBe('reader');

    // Reading again, the reader finds its connection gone, having received less than it asked.
    tcp.resume();
    const code = await reader.waitClose(30_000);
    expect(code).toBe(1006);
    expect(reader.messages.filter((m) => m.type === 'history-page').length).toBeLessThan(30);

    // The editor is served as before.
    editor.sendJson({ type: 'submit', base: 40, events: [{ id: { client: 'editor', clientSeq: 41 }, author: 'editor', op: [40 * chunk.length, '!'], kind: 'edit' }] });
    expect(await editor.next('ack')).toMatchObject({ seq: 41 });
  });
});
