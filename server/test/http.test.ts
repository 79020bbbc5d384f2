import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { resolveStaticPath, startServer, type RunningServer } from '../src/http';
import { PROTOCOL_VERSION, decodeServerFrame } from '../../shared/src/index';
import { frameData } from './helpers/ws-client';
import { editAccess } from './helpers/tokens';

const INDEX_HTML = '<!doctype html><title>Eventide test</title><div id="root"></div>';
const ASSET_JS = 'console.log("asset");';
const SECRET = 'secret-outside-static-dir';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let tmp: string;
let staticDir: string;
let dataDir: string;
let server: RunningServer;

/** A GET with the path sent exactly as given (no URL normalisation, unlike fetch). */
function get(rawPath: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: server.port, path: rawPath, method, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and returns everything the server writes back before closing. */
function raw(request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error('raw request timed out'));
    });
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'eventide-http-'));
  // A secret file beside the static dir: traversal must never reach it.
  staticDir = path.join(tmp, 'static');
  dataDir = path.join(tmp, 'data', 'nested');
  await mkdir(path.join(staticDir, 'assets'), { recursive: true });
  await writeFile(path.join(staticDir, 'index.html'), INDEX_HTML);
  await writeFile(path.join(staticDir, 'assets', 'app-123.js'), ASSET_JS);
  await writeFile(path.join(staticDir, 'style.css'), 'body{}');
  await writeFile(path.join(tmp, 'package.json'), SECRET);
  await writeFile(path.join(tmp, 'secret.txt'), SECRET);
  server = await startServer({ port: 0, dataDir, staticDir, host: '127.0.0.1' });
});

afterAll(async () => {
  await server?.close();
  await rm(tmp, { recursive: true, force: true });
});

describe('http', () => {
  it('binds a real port and creates DATA_DIR', async () => {
    expect(server.port).toBeGreaterThan(0);
    expect((await stat(dataDir)).isDirectory()).toBe(true);
  });

  it('GET /healthz returns {"ok":true} (W1)', async () => {
    const r = await get('/healthz');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(r.body)).toEqual({ ok: true });
  });

  it('serves static files with their content type (W1)', async () => {
    const js = await get('/assets/app-123.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.body).toBe(ASSET_JS);

    const css = await get('/style.css?v=1');
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);

    const index = await get('/');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    expect(index.body).toBe(INDEX_HTML);
  });

  it('answers HEAD without a body', async () => {
    const r = await get('/assets/app-123.js', 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(ASSET_JS)));
    expect(r.body).toBe('');
  });

  it('falls back to index.html for app routes like /d/xyz (W1)', async () => {
    const r = await get('/d/xyz');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.body).toBe(INDEX_HTML);
  });

  it('gives 404 for a missing file with an extension', async () => {
    const r = await get('/assets/missing.js');
    expect(r.status).toBe(404);
  });

  it('rejects other methods', async () => {
    const r = await get('/healthz', 'POST');
    expect(r.status).toBe(405);
  });

  it.each([
    '/../package.json',
    '/%2e%2e/package.json',
    '/%2E%2E/package.json',
    '/..%2fpackage.json',
    '/assets/..%2f..%2fpackage.json',
    '/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%5csecret.txt',
    '/%00/../secret.txt',
  ])('does not escape the static dir: %s', async (p) => {
    const r = await get(p);
    expect([400, 404, 200]).toContain(r.status);
    if (r.status === 200) expect(r.body).toBe(INDEX_HTML);
    expect(r.body).not.toContain(SECRET);
  });

  it('does not escape the static dir with a raw (unnormalised) request line (W2)', async () => {
    for (const p of ['/../package.json', '/../../secret.txt', '/assets/../../secret.txt']) {
      const reply = await raw(`GET ${p} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
      expect(reply).not.toContain(SECRET);
    }
  });

  it('resolveStaticPath keeps every path inside the root (W2)', () => {
    const root = path.join(tmp, 'static');
    expect(resolveStaticPath(root, '/assets/app-123.js')).toBe(path.join(root, 'assets', 'app-123.js'));
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/a/../../secret.txt', '/..%2f..%2fx']) {
      const r = resolveStaticPath(root, p);
      if (r !== null) expect(r.startsWith(root + path.sep) || r === root).toBe(true);
    }
    expect(resolveStaticPath(root, '/%E0%A4%A')).toBeNull();
    expect(resolveStaticPath(root, '/a%00b')).toBeNull();
  });
});

describe('websocket', () => {
  it('speaks the sync protocol on /ws: garbage gets a coded error, a hello gets a welcome (P12)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // Text frames are JSON; the welcome is a binary frame, which decodeServerFrame reads.
    const next = () =>
      new Promise<unknown>((resolve) =>
        ws.once('message', (d, isBinary) => {
          const r = decodeServerFrame(frameData(d, isBinary));
          resolve(r.ok ? r.value : r.error);
        }),
      );
    let reply = next();
    ws.send('not json at all');
    expect(await reply).toMatchObject({ type: 'error', code: 'bad-json', fatal: false });

    // The socket stays usable.
    reply = next();
    ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: 'http-test', client: 'c1', user: { name: 'a', color: '#000' }, last: 0, ...editAccess('http-test') }));
    expect(await reply).toMatchObject({ type: 'welcome', protocol: PROTOCOL_VERSION, docId: 'http-test', role: 'edit', head: 0, checkpoint: null, events: [] });
    ws.close();
  });

  it('refuses an upgrade on any other path (W3)', async () => {
    for (const p of ['/', '/other', '/ws/extra', '/wsx']) {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}${p}`);
      const outcome = await new Promise<string>((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('unexpected-response', (_req, res) => {
          resolve(`refused ${res.statusCode}`);
          ws.terminate();
        });
        ws.once('error', () => resolve('refused'));
      });
      expect(outcome).not.toBe('open');
      expect(outcome.startsWith('refused')).toBe(true);
    }
    // The server still serves after those refusals.
    expect((await get('/healthz')).status).toBe(200);
  });
});
