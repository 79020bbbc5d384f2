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

  it('moves a reader that stops reading behind, keeps its unsent output near the budget, and resumes its stream exactly when it reads again; the others are unaffected (P21, K15)', async () => {
    const sendBudgetBytes = 64 * 1024;
    const srv = await startServer({
      port: 0,
      host: '127.0.0.1',
      dataDir: '/tmp',
      staticDir: '/nonexistent',
      store: new MemoryLogStore(),
      sync: { log: silentLogger, sendBudgetBytes, maxBufferedBytes: 1024 * 1024 * 1024, heartbeatMs: 0 },
    });
    servers.push(srv);
    const url = `ws://127.0.0.1:${srv.port}/ws`;
    const { sock: editor } = await RawSocket.join(url, 'behind', 'editor');
    const { sock: other } = await RawSocket.join(url, 'behind', 'other');
    const { sock: reader } = await RawSocket.join(url, 'behind', 'reader');
    socks.push(editor, other, reader);
    const readerConn = [...srv.hub.connections].find((c) => c.client === 'reader')!;

    // The reader's side stops reading its TCP socket.
    const tcp = (reader.ws as unknown as { _socket: Socket })._socket;
    tcp.pause();

    // Events of 20,000 seeded CJK characters (~60 kB a frame), one per submit, until the
    // kernel's buffers are full and the reader has been moved behind.
    let x = 0xbe41;
    const chunk = Array.from({ length: 20_000 }, () => String.fromCharCode(0x4e00 + ((x = (x * 1103515245 + 12345) % 2 ** 31) % 20_000))).join('');
    let seq = 0;
    let peak = 0;
    const submitOne = async () => {
      editor.sendJson({ type: 'submit', base: seq, events: [{ id: { client: 'editor', clientSeq: seq + 1 }, author: 'editor', op: seq === 0 ? [chunk] : [seq * chunk.length, chunk], kind: 'edit' }] });
      expect(await editor.next('ack')).toMatchObject({ seq: seq + 1 });
      seq++;
      peak = Math.max(peak, readerConn.backlog);
    };
    while (seq < 600 && !srv.hub.rooms.get('behind')!.isBehind(readerConn)) await submitOne();
    expect(seq).toBeLessThan(600);
    const behindAt = seq - 1;
    // Behind, it is fed nothing more: its unsent output stays at about the budget plus one frame.
    for (let i = 0; i < 20; i++) await submitOne();
    expect(peak).toBeLessThan(sendBudgetBytes + 2 * 64 * 1024);

    // The others got every event, in order, at once.
    const seqsOf = (s: RawSocket) => s.messages.flatMap((m) => (m.type === 'events' ? m.events.map((e) => e.seq) : m.type === 'welcome' ? m.events.map((e) => e.seq) : []));
    await expect.poll(() => seqsOf(other).length, { timeout: 10_000 }).toBe(seq);
    expect(seqsOf(other)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));

    // Reading again: `behind` at the seq its stream stopped after, then a welcome with exactly
    // the rest, and the stream goes on.
    tcp.resume();
    await expect.poll(() => reader.messages.some((m) => m.type === 'welcome' && m.head >= behindAt + 1), { timeout: 20_000 }).toBe(true);
    await submitOne();
    await expect.poll(() => seqsOf(reader).at(-1), { timeout: 10_000 }).toBe(seq);
    const behind = reader.messages.filter((m) => m.type === 'behind');
    expect(behind).toEqual([{ type: 'behind', at: behindAt }]);
    // Every event exactly once, in seq order, across stream and catch-up welcome (the join welcome had none).
    expect(seqsOf(reader)).toEqual(Array.from({ length: seq }, (_, i) => i + 1));
    expect(reader.open).toBe(true);
  });
});
