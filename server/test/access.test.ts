/**
 * Access control against the real server process (issue 7, S1).
 *
 * The authorization matrix: credentials {none, view token, edit token, the other
 * document's edit token, the other document's view token} × every client message type
 * (hello, submit, presence, history, ping). Each cell has one expected outcome, checked
 * on the wire, and at the end the stored logs (read with plain SQL after the server has
 * stopped) hold exactly the events of the documents' editors: nothing from a view
 * connection, nothing across documents.
 *
 * Then the WebSocket origin rule (403 before the upgrade), and every limit with its code:
 * connections a minute per address (429), new documents a minute per address, frame
 * size (1009), events a second, document size, and the hello timeout; then the two that
 * push back instead of refusing: frames and history events per address.
 */
import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type ServerMessage } from '../../shared/src/index';
import { ServerProcess, readLog } from './helpers/server-process';
import { RawSocket } from './helpers/raw-socket';
import { editAccess, testToken, testViewToken } from './helpers/tokens';
import { defaultSyncOptions, syncOptionsFromEnv } from '../src/options';
import { AddressBuckets } from '../src/limits/address-buckets';

const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.dispose();
});

const A = 'matrix-a';
const B = 'matrix-b';

function hello(docId: string, client: string, access: { token?: string; create?: boolean }): Record<string, unknown> {
  return { type: 'hello', protocol: PROTOCOL_VERSION, docId, client, user: { name: client, color: '#123' }, last: 0, ...access };
}

function submit(client: string, clientSeq: number, base: number, text: string): Record<string, unknown> {
  return { type: 'submit', base, events: [{ id: { client, clientSeq }, author: client, op: [text], kind: 'edit' }] };
}

type Cred = 'none' | 'view' | 'edit' | 'other-edit' | 'other-view';
const CREDS: Record<Cred, { token?: string; create?: boolean }> = {
  none: {},
  view: { token: testViewToken(A) },
  edit: { token: testToken(A) },
  'other-edit': { token: testToken(B) },
  'other-view': { token: testViewToken(B) },
};

/** Waits a little and returns what arrived (for "nothing else happened" checks). */
async function drain(sock: RawSocket, ms = 150): Promise<ServerMessage[]> {
  await new Promise((r) => setTimeout(r, ms));
  return sock.messages.splice(0);
}

describe('authorization matrix (real server process)', () => {
  it('gives each credential exactly its rights on every message type, and nothing crosses documents (A4, A6, A7, P1, S1)', async () => {
    const sp = await ServerProcess.start({ env: { EVENTIDE_HELLO_TIMEOUT_MS: '0' } });
    servers.push(sp);
    // The creators: A's editor writes "a0", B's editor writes "b0".
    const { sock: edA, welcome: wA } = await RawSocket.join(sp.url, A, 'editor-a');
    expect(wA.role).toBe('edit');
    edA.sendJson(submit('editor-a', 1, 0, 'a0'));
    expect(await edA.next('ack')).toMatchObject({ seq: 1 });
    const { sock: edB } = await RawSocket.join(sp.url, B, 'editor-b');
    edB.sendJson(submit('editor-b', 1, 0, 'b0'));
    expect(await edB.next('ack')).toMatchObject({ seq: 1 });
    await drain(edA);

    const outcomes: Record<string, string> = {};
    for (const [cred, access] of Object.entries(CREDS) as [Cred, { token?: string }][]) {
      const client = `x-${cred}`;
      const sock = await RawSocket.open(sp.url);
      // Before any hello, whatever the credential: nothing but ping is served.
      sock.sendJson(submit(client, 1, 0, 'early'));
      expect((await sock.next('error')).code, cred).toBe('not-joined');
      sock.sendJson({ type: 'presence', cursor: { anchor: 0, head: 0 } });
      expect((await sock.next('error')).code, cred).toBe('not-joined');
      sock.sendJson({ type: 'history', reqId: 1, from: 0, to: 10, limit: 10 });
      expect((await sock.next('error')).code, cred).toBe('not-joined');
      sock.sendJson({ type: 'ping', t: 1 });
      expect(await sock.next('pong'), cred).toMatchObject({ t: 1 });

      // The hello (also trying to create A afresh with a foreign token: no hijack).
      sock.sendJson(hello(A, client, { ...access, create: true }));
      if (cred === 'none' || cred === 'other-edit' || cred === 'other-view') {
        const e = await sock.next('error');
        expect([e.code, e.fatal], cred).toEqual(['access-denied', true]);
        expect(await sock.waitClose(), cred).toBe(1008);
        expect(sock.messages.filter((m) => m.type === 'welcome'), cred).toEqual([]);
        outcomes[cred] = 'denied';
        continue;
      }
      const welcome = await sock.next('welcome');
      expect(welcome.role, cred).toBe(cred);
      expect(welcome.docId).toBe(A);
      expect(welcome.events.map((e) => e.id.client)).toEqual(['editor-a']);

      // submit
      sock.sendJson(submit(client, 1, 1, cred === 'edit' ? 'e' : 'v'));
      if (cred === 'view') {
        const e = await sock.next('error');
        expect([e.code, e.fatal]).toEqual(['read-only', false]);
      } else {
        expect(await sock.next('ack')).toMatchObject({ seq: 2 });
      }
      // presence: relayed to the editor (a viewer is someone who is here, too)
      sock.sendJson({ type: 'presence', cursor: { anchor: 1, head: 1 } });
      await expect.poll(() => edA.messages.some((m) => m.type === 'presence' && m.client === client && m.cursor !== null)).toBe(true);
      // history: the document's own log only
      sock.sendJson({ type: 'history', reqId: 9, from: 0, to: 100, limit: 100 });
      const page = await sock.next('history-page');
      expect(page.events.every((e) => e.id.client === 'editor-a' || e.id.client === 'x-edit')).toBe(true);
      expect(page.events.length).toBe(cred === 'edit' ? 2 : 1);
      // ping
      sock.sendJson({ type: 'ping', t: 2 });
      expect(await sock.next('pong')).toMatchObject({ t: 2 });
      // a second hello, even for another document with its own valid token: refused, still bound to A
      sock.sendJson(hello(B, client, editAccess(B)));
      expect((await sock.next('error')).code).toBe('already-joined');
      sock.sendJson({ type: 'history', reqId: 10, from: 0, to: 100, limit: 100 });
      expect((await sock.next('history-page')).events.every((e) => e.id.client !== 'editor-b')).toBe(true);
      // the view connection stays read-only on every later submit, whatever it claims
      if (cred === 'view') {
        for (let i = 2; i <= 5; i++) {
          sock.sendJson(submit(client, i, 1, 'v'));
          expect((await sock.next('error')).code).toBe('read-only');
        }
        sock.sendJson({ type: 'submit', base: 1, events: [{ id: { client: 'editor-a', clientSeq: 2 }, author: 'editor-a', op: [1, 'z'], kind: 'edit' }] });
        expect((await sock.next('error')).code).toBe('read-only');
      }
      outcomes[cred] = cred;
      sock.close();
      await drain(edA);
    }
    expect(outcomes).toEqual({ none: 'denied', view: 'view', edit: 'edit', 'other-edit': 'denied', 'other-view': 'denied' });

    // A document nobody created cannot be joined without create, and create needs a well-formed token.
    const ghost = await RawSocket.open(sp.url);
    ghost.sendJson(hello('never-made', 'g', { token: testToken('never-made') }));
    expect((await ghost.next('error')).code).toBe('access-denied');
    const bad = await RawSocket.open(sp.url);
    bad.sendJson(hello('never-made', 'g', { token: 'short', create: true }));
    expect((await bad.next('error')).code).toBe('bad-message');

    edA.close();
    edB.close();
    await sp.stop();
    expect(readLog(sp.dbFile, A).map((e) => e.id.client)).toEqual(['editor-a', 'x-edit']);
    expect(readLog(sp.dbFile, B).map((e) => e.id.client)).toEqual(['editor-b']);
    expect(readLog(sp.dbFile, 'never-made')).toEqual([]);
  });
});

/** Opens a WebSocket with `origin` (or none); resolves with 'open' or the refusal's status and body. */
function tryUpgrade(url: string, origin?: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin === undefined ? {} : { origin });
    ws.once('open', () => {
      resolve('open');
      ws.close();
    });
    ws.once('unexpected-response', (_req, res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
      res.on('error', () => resolve(`${res.statusCode} ${body}`));
    });
    ws.once('error', (e) => resolve(`error ${e.message}`));
  });
}

describe('WebSocket origin', () => {
  it('refuses other origins with 403 before the upgrade; the own origin and origin-less clients pass (A8, A11)', async () => {
    const sp = await ServerProcess.start();
    servers.push(sp);
    expect(await tryUpgrade(sp.url, 'http://evil.example')).toBe('403 origin-forbidden');
    expect(await tryUpgrade(sp.url, `http://127.0.0.1:${sp.port + 1}`)).toBe('403 origin-forbidden');
    expect(await tryUpgrade(sp.url, 'null')).toBe('403 origin-forbidden');
    expect(await tryUpgrade(sp.url, `http://127.0.0.1:${sp.port}`)).toBe('open');
    expect(await tryUpgrade(sp.url)).toBe('open');
    expect(await sp.healthy()).toBe(true);
    // Every HTTP response carries the security headers (the app's pages are checked in e2e/access.spec.ts).
    for (const p of ['/healthz', '/d/some-doc', '/missing.js']) {
      const headers = await new Promise<http.IncomingHttpHeaders>((resolve, reject) =>
        http.get({ host: '127.0.0.1', port: sp.port, path: p }, (res) => {
          res.resume();
          resolve(res.headers);
        }).on('error', reject),
      );
      expect(headers['content-security-policy'], p).toMatch(/default-src 'self'.*script-src 'self';.*frame-ancestors 'none'/);
      expect(headers['x-content-type-options'], p).toBe('nosniff');
      expect(headers['x-frame-options'], p).toBe('DENY');
      expect(headers['referrer-policy'], p).toBe('no-referrer');
    }
  });

  it('follows EVENTIDE_ALLOWED_ORIGINS when set (A8)', async () => {
    const sp = await ServerProcess.start({ env: { EVENTIDE_ALLOWED_ORIGINS: 'https://app.example, https://other.example:8443' } });
    servers.push(sp);
    expect(await tryUpgrade(sp.url, 'https://app.example')).toBe('open');
    expect(await tryUpgrade(sp.url, 'https://other.example:8443')).toBe('open');
    expect(await tryUpgrade(sp.url, `http://127.0.0.1:${sp.port}`)).toBe('403 origin-forbidden');
    expect(await tryUpgrade(sp.url, 'https://evil.example')).toBe('403 origin-forbidden');
  });
});

describe('limits, each with its code', () => {
  it('connections a minute per address (429), new documents a minute, frame size, events a second, document size, hello timeout (K1, K3, K7, K8, K9, K10)', async () => {
    const sp = await ServerProcess.start({
      env: {
        EVENTIDE_CONNECTIONS_PER_MINUTE: '12',
        EVENTIDE_CREATES_PER_MINUTE: '2',
        EVENTIDE_MAX_FRAME_BYTES: '4096',
        EVENTIDE_RATE_EVENTS: '1/5',
        EVENTIDE_MAX_DOC_LENGTH: '20',
        EVENTIDE_HELLO_TIMEOUT_MS: '300',
      },
    });
    servers.push(sp);
    // New documents: two, then too-many-documents (fatal).
    const { sock: one } = await RawSocket.join(sp.url, 'lim-1', 'c1');
    await RawSocket.join(sp.url, 'lim-2', 'c2');
    const third = await RawSocket.open(sp.url);
    third.sendJson(hello('lim-3', 'c3', editAccess('lim-3')));
    expect(await third.next('error')).toMatchObject({ code: 'too-many-documents', fatal: true });
    expect(await third.waitClose()).toBe(1008);
    // Joining an existing document is not a creation.
    const again = await RawSocket.join(sp.url, 'lim-1', 'c4');
    // Events a second (burst 5): a batch of 6 is refused whole.
    const six = Array.from({ length: 6 }, (_, i) => ({ id: { client: 'c1', clientSeq: i + 1 }, author: 'c1', op: ['x'], kind: 'edit' }));
    one.sendJson({ type: 'submit', base: 0, events: six });
    expect(await one.next('error')).toMatchObject({ code: 'rate-limited', fatal: false });
    // Document size: 20 units at most.
    one.sendJson({ type: 'submit', base: 0, events: [{ id: { client: 'c1', clientSeq: 1 }, author: 'c1', op: ['x'.repeat(21)], kind: 'edit' }] });
    expect(await one.next('error')).toMatchObject({ code: 'doc-too-large' });
    // Frame size: over 4096 bytes closes with 1009.
    again.sock.send('x'.repeat(5000));
    expect(await again.sock.waitClose()).toBe(1009);
    // Hello timeout: a socket that never joins is closed.
    const idle = await RawSocket.open(sp.url);
    expect(await idle.next('error', 3000)).toMatchObject({ code: 'hello-timeout', fatal: true });
    expect(await idle.waitClose()).toBe(1008);
    // Connections a minute: 6 used so far; the rest of the 12 (plus what refilled at 0.2 a
    // second while the test ran), then 429, and 429 again at once.
    const outcomes: string[] = [];
    while (outcomes.length < 20 && !outcomes.includes('429 too-many-connections')) outcomes.push(await tryUpgrade(sp.url));
    const opened = outcomes.filter((o) => o === 'open').length;
    expect(opened).toBeGreaterThanOrEqual(6);
    expect(opened).toBeLessThanOrEqual(8);
    expect(outcomes.at(-1)).toBe('429 too-many-connections');
    expect(await tryUpgrade(sp.url)).toBe('429 too-many-connections');
    expect(await sp.healthy()).toBe(true);
  });
});

describe('frames per address', () => {
  it('pauses reading over the rate instead of dropping: every frame of a burst is answered, later (K5)', async () => {
    const sp = await ServerProcess.start({ env: { EVENTIDE_RATE_ADDRESS_FRAMES: '100/20', EVENTIDE_RATE_FRAMES: '100000/100000' } });
    servers.push(sp);
    const sock = await RawSocket.open(sp.url);
    const t0 = Date.now();
    for (let i = 0; i < 200; i++) sock.sendJson({ type: 'ping', t: i });
    const pongs: number[] = [];
    while (pongs.length < 200) pongs.push((await sock.next('pong', 10_000)).t);
    const ms = Date.now() - t0;
    expect(pongs).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(sock.messages.filter((m) => m.type === 'error')).toEqual([]);
    // 200 frames at 100 a second after a burst of 20: at least ~1.8 s.
    expect(ms).toBeGreaterThan(1500);
    // Another address is not held up meanwhile (the burst again, at once).
    expect(await sp.healthy()).toBe(true);
  });
});

describe('history events per address (the read budget)', () => {
  it('parses EVENTIDE_RATE_ADDRESS_READS like the other buckets; the default lets a late joiner take automerge-paper at once unslowed (K6, K13)', () => {
    expect(defaultSyncOptions.addressReads).toEqual({ rate: 4 * 1024 * 1024, burst: 16 * 1024 * 1024 });
    expect(syncOptionsFromEnv({}).addressReads).toBeUndefined();
    expect(syncOptionsFromEnv({ EVENTIDE_RATE_ADDRESS_READS: '' }).addressReads).toBeUndefined();
    expect(syncOptionsFromEnv({ EVENTIDE_RATE_ADDRESS_READS: '2000/2000' }).addressReads).toEqual({ rate: 2000, burst: 2000 });
    expect(syncOptionsFromEnv({ EVENTIDE_RATE_ADDRESS_READS: '2.5/10' }).addressReads).toEqual({ rate: 2.5, burst: 10 });
    for (const bad of ['2000', '2000/', '/2000', 'a/b', '-1/5', '5/2.5', '0/100', '0.0/5']) {
      expect(() => syncOptionsFromEnv({ EVENTIDE_RATE_ADDRESS_READS: bad }), bad).toThrow(/EVENTIDE_RATE_ADDRESS_READS must look like RATE\/BURST/);
    }
    // automerge-paper's whole history as pages of blocks is ~4.9 MB (bench/results): all of it
    // at once, as 1 MiB pages back to back, never owes anything (so is never paused), and a
    // second late joiner from the same address a few seconds later neither.
    let t = 0;
    const reads = new AddressBuckets(defaultSyncOptions.addressReads, () => t);
    let lowest = Infinity;
    for (const joiner of [0, 1]) {
      for (let p = 0; p < 5; p++) lowest = Math.min(lowest, reads.owe('late-joiner', 1 << 20));
      t += 3000 * (joiner + 1);
    }
    expect(lowest).toBeGreaterThanOrEqual(0);
    // A flood of 1,000 pages of 1 MiB a second from one address is in debt within the second.
    t += 10_000;
    let owed = 0;
    for (let i = 0; i < 1000; i++, t += 1) owed = reads.owe('flood', 1 << 20);
    expect(owed).toBeLessThan(-900 * (1 << 20));
  });

  it('paces a viewer paging through history (all pages answered, exactly the log, none refused) while an editor on another address gets its acks at once (K6)', async () => {
    const DOC = 'reads-budget';
    const N = 10_000;
    // Pages are charged their bytes: 50,000 a second, bursts of 50,000 (the ten pages weigh
    // ~300 kB with their checkpoints, so pacing takes at least ~3 s).
    const RATE = 50_000;
    // Every checkpoint kept (R16 would keep only the newest two), so the pages weigh what this
    // test was sized for.
    const sp = await ServerProcess.start({
      env: { EVENTIDE_RATE_ADDRESS_READS: `${RATE}/${RATE}`, EVENTIDE_RATE_EVENTS: '1000000/1000000', EVENTIDE_CHECKPOINT_KEEP_EVERY: '1000' },
    });
    servers.push(sp);
    // The editor (127.0.0.1) writes N events, 1,000 a submit, each typing 8 letters from a
    // seeded generator (so a page of blocks weighs ~10 kB: deflate cannot make it nothing).
    const SEED = 0x6b36;
    let x = SEED;
    const letters = () => Array.from({ length: 8 }, () => String.fromCharCode(97 + ((x = (x * 1103515245 + 12345) % 2 ** 31) % 26))).join('');
    const { sock: editor } = await RawSocket.join(sp.url, DOC, 'ed');
    for (let b = 0; b < N / 1000; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ id: { client: 'ed', clientSeq: b * 1000 + i + 1 }, author: 'ed', op: [letters()], kind: 'edit' }));
      editor.sendJson({ type: 'submit', base: b * 1000, events });
      for (let i = 0; i < 1000; i++) await editor.next('ack');
    }
    // The viewer: two connections from 127.0.0.2 (one address, one budget), 5 pages each, all sent at once.
    const viewers: RawSocket[] = [];
    for (const client of ['v1', 'v2']) {
      const v = await RawSocket.open(sp.url, '127.0.0.2');
      v.sendJson(hello(DOC, client, { token: testViewToken(DOC) }));
      expect((await v.next('welcome')).role).toBe('view');
      viewers.push(v);
    }
    const t0 = Date.now();
    viewers.forEach((v, k) => {
      for (let p = 0; p < 5; p++) {
        const from = (k * 5 + p) * 1000;
        v.sendJson({ type: 'history', reqId: from, from, to: N, limit: 1000 });
      }
    });
    // Meanwhile the editor keeps typing, one event every 100 ms, and times each ack.
    const latencies: number[] = [];
    let typing = true;
    const typed = (async () => {
      for (let seq = N + 1; typing; seq++) {
        const sent = performance.now();
        editor.sendJson(submit('ed', seq, seq - 1, 'y'));
        expect(await editor.next('ack')).toMatchObject({ seq });
        latencies.push(performance.now() - sent);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const pages = (
      await Promise.all(
        viewers.map(async (v) => {
          const got: Extract<ServerMessage, { type: 'history-page' }>[] = [];
          for (let p = 0; p < 5; p++) got.push(await v.next('history-page', 30_000));
          return got;
        }),
      )
    ).flat();
    const ms = Date.now() - t0;
    typing = false;
    await typed;
    for (const v of viewers) expect(v.messages.filter((m) => m.type === 'error')).toEqual([]);
    // The pages' bytes at RATE a second after a burst of RATE (each connection may run one
    // page into debt): at least ~3 s here. Without the budget they take a few ms.
    const sizes = viewers.flatMap((v) => v.binarySizes.slice(1)); // after each one's welcome
    expect(sizes.length).toBe(10);
    const bytes = sizes.reduce((n, b) => n + b, 0);
    const biggest = Math.max(...sizes);
    const least = ((bytes - RATE - 2 * biggest) / RATE) * 1000;
    expect(bytes, `seed ${SEED}`).toBeGreaterThan(5 * RATE);
    expect(least, `seed ${SEED}`).toBeGreaterThan(2000);
    expect(ms, `seed ${SEED}: ${bytes} bytes`).toBeGreaterThan(least);
    expect(ms).toBeLessThan(20_000);
    expect(latencies.length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...latencies)).toBeLessThan(200);
    for (const v of viewers) v.close();
    editor.close();
    await sp.stop();
    const log = readLog(sp.dbFile, DOC).slice(0, N);
    expect(log.length).toBe(N);
    for (const page of pages) {
      const from = page.reqId;
      expect(page.next, `page ${from}`).toBe(from + 1000 < N ? from + 1000 : null);
      expect(page.events, `page ${from}`).toEqual(log.slice(from, from + 1000));
    }
  }, 60_000);
});
