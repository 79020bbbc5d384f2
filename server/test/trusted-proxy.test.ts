/**
 * Behind a trusted proxy (K14): the per-address budgets are charged to the client address
 * that X-Forwarded-For names, but only when the TCP peer is a configured trusted proxy;
 * from anyone else the header is ignored, so it cannot be used to pick a budget. First the
 * rule as a function (parsing TRUSTED_PROXIES, walking the header), then a real server
 * process with real WebSocket clients, all from 127.0.0.1: TRUSTED_PROXIES either contains
 * 127.0.0.1 (the clients are "the proxy") or does not.
 */
import { afterAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { PROTOCOL_VERSION } from '../../shared/src/index';
import { clientAddress, parseTrustedProxies } from '../src/limits/trusted-proxies';
import { syncOptionsFromEnv } from '../src/options';
import { ServerProcess } from './helpers/server-process';
import { RawSocket } from './helpers/raw-socket';
import { editAccess } from './helpers/tokens';

const servers: ServerProcess[] = [];
afterAll(async () => {
  for (const s of servers) await s.dispose();
});

describe('TRUSTED_PROXIES and X-Forwarded-For, as a rule (K14)', () => {
  const trusted = parseTrustedProxies(' 127.0.0.1, 10.0.0.0/8 ,fd00::/8,::1');

  it('parses addresses and CIDR ranges of both families; IPv4-mapped IPv6 peers match their IPv4 entry (K14)', () => {
    expect(trusted.spec).toEqual(['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1']);
    for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '10.1.2.3', '::FFFF:10.255.0.1', 'fd00::7', 'FD12:3456::1', '::1']) expect(trusted.has(a)).toBe(true);
    for (const a of ['127.0.0.2', '11.0.0.1', 'fe80::1', '::2', '', 'localhost', '::ffff:11.0.0.1']) expect(trusted.has(a)).toBe(false);
    expect(parseTrustedProxies('').spec).toEqual([]);
    expect(parseTrustedProxies('0.0.0.0/0').has('203.0.113.9')).toBe(true);
  });

  it('refuses a malformed list with an error naming the entry, as a startup error (K13, K14)', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.1/', '10.0.0.0/-1', '10.0.0/8', '1.2.3.4/8x', '::1/abc']) {
      expect(() => parseTrustedProxies(bad), bad).toThrow(/TRUSTED_PROXIES: ".*"/);
      expect(() => syncOptionsFromEnv({ TRUSTED_PROXIES: `127.0.0.1,${bad}` }), bad).toThrow(/TRUSTED_PROXIES/);
    }
    expect(syncOptionsFromEnv({}).trustedProxies).toBeUndefined();
    expect(syncOptionsFromEnv({ TRUSTED_PROXIES: ' ' }).trustedProxies).toBeUndefined();
    expect(syncOptionsFromEnv({ TRUSTED_PROXIES: '10.0.0.0/8' }).trustedProxies?.spec).toEqual(['10.0.0.0/8']);
  });

  it('believes the header only from a trusted peer, and only as far as the chain of trusted proxies goes (K14)', () => {
    // Not configured, or an untrusted peer: the header is ignored, whatever it says.
    expect(clientAddress('203.0.113.5', '198.51.100.1', null)).toBe('203.0.113.5');
    expect(clientAddress('203.0.113.5', '198.51.100.1', trusted)).toBe('203.0.113.5');
    expect(clientAddress('::ffff:203.0.113.5', '198.51.100.1', trusted)).toBe('203.0.113.5');
    // A trusted peer: the right-most entry that is not itself a trusted proxy.
    expect(clientAddress('127.0.0.1', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:127.0.0.1', '198.51.100.1, 10.0.0.2', trusted)).toBe('198.51.100.1');
    // What a client wrote to the left of what its proxy added is not believed.
    expect(clientAddress('127.0.0.1', '1.1.1.1, 198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(clientAddress('127.0.0.1', ['1.1.1.1', '198.51.100.1, 10.9.9.9'], trusted)).toBe('198.51.100.1');
    // Garbage ends the walk at the last trusted hop, never becomes a key.
    expect(clientAddress('127.0.0.1', 'random-junk', trusted)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '198.51.100.1, junk, 10.0.0.3', trusted)).toBe('10.0.0.3');
    expect(clientAddress('127.0.0.1', '', trusted)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', undefined, trusted)).toBe('127.0.0.1');
    // Every hop trusted: the left-most. Ports and brackets as some proxies write them; one form per address.
    expect(clientAddress('127.0.0.1', '10.0.0.1, 10.0.0.2', trusted)).toBe('10.0.0.1');
    expect(clientAddress('127.0.0.1', '198.51.100.1:4711', trusted)).toBe('198.51.100.1');
    expect(clientAddress('127.0.0.1', '[2001:DB8::1]:443', trusted)).toBe('2001:db8::1');
    expect(clientAddress('127.0.0.1', '::ffff:198.51.100.1', trusted)).toBe('198.51.100.1');
  });
});

/** Tries a WebSocket upgrade with these headers: 'open', or the refusal's status and body. */
function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((done) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      done('open');
      ws.close();
    });
    ws.once('unexpected-response', (_req, res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => done(`${res.statusCode} ${body}`));
      res.on('error', () => done(`${res.statusCode} ${body}`));
    });
    ws.once('error', (e) => done(`error ${e.message}`));
  });
}

const xff = (a: string) => ({ 'X-Forwarded-For': a });

/** Joins `docId` (creating it) through a socket sent with these headers; the first reply's type and code. */
async function create(url: string, docId: string, headers: Record<string, string>): Promise<string> {
  const sock = await RawSocket.open(url, undefined, headers);
  sock.sendJson({ type: 'hello', protocol: PROTOCOL_VERSION, docId, client: `c-${docId}`, user: { name: 'x', color: '#123' }, last: 0, ...editAccess(docId) });
  for (let waited = 0; waited < 10_000; waited += 20) {
    const m = sock.messages.find((x) => x.type === 'welcome' || x.type === 'error');
    if (m !== undefined) {
      sock.close();
      return m.type === 'error' ? `error ${m.code}` : 'welcome';
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  sock.close();
  return 'no answer';
}

describe('a real server behind a trusted proxy (K14)', () => {
  it('from a trusted proxy: each forwarded client has its own connection and creation budgets; a client cannot pick another one (K7, K8, K14)', async () => {
    const sp = await ServerProcess.start({ env: { TRUSTED_PROXIES: '127.0.0.1,::1', EVENTIDE_CONNECTIONS_PER_MINUTE: '2', EVENTIDE_CREATES_PER_MINUTE: '1' } });
    servers.push(sp);
    // Connections a minute (the upgrade): two for 198.51.100.1, then 429; 198.51.100.2 has its own two.
    expect(await create(sp.url, 'p-one', xff('198.51.100.1'))).toBe('welcome');
    expect(await create(sp.url, 'p-two', xff('198.51.100.1'))).toBe('error too-many-documents'); // creations: one a minute (in the hub)
    expect(await tryUpgrade(sp.url, xff('198.51.100.1'))).toBe('429 too-many-connections');
    expect(await create(sp.url, 'p-three', xff('198.51.100.2'))).toBe('welcome');
    // A client that writes another address in front of what its proxy added is still itself.
    expect(await tryUpgrade(sp.url, xff('198.51.100.9, 198.51.100.1'))).toBe('429 too-many-connections');
    // The proxy's own requests (no header) are the proxy's budget, not any client's.
    expect(await tryUpgrade(sp.url)).toBe('open');
    expect(await sp.healthy()).toBe(true);
  });

  it('from a peer that is not a trusted proxy: the header is ignored, so it cannot spread one address over many budgets (K7, K14)', async () => {
    const sp = await ServerProcess.start({ env: { TRUSTED_PROXIES: '10.0.0.0/8', EVENTIDE_CONNECTIONS_PER_MINUTE: '2', EVENTIDE_CREATES_PER_MINUTE: '1' } });
    servers.push(sp);
    expect(await create(sp.url, 'u-one', xff('198.51.100.1'))).toBe('welcome');
    expect(await create(sp.url, 'u-two', xff('198.51.100.2'))).toBe('error too-many-documents');
    expect(await tryUpgrade(sp.url, xff('198.51.100.3'))).toBe('429 too-many-connections');
    expect(await tryUpgrade(sp.url)).toBe('429 too-many-connections');
  });

  it('a malformed TRUSTED_PROXIES stops the server at start with a message naming it (K13, K14)', () => {
    const root = resolve(__dirname, '..', '..');
    const dir = mkdtempSync(join(tmpdir(), 'eventide-proxies-'));
    try {
      const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
        cwd: root,
        env: { ...process.env, PORT: '0', DATA_DIR: dir, TRUSTED_PROXIES: '10.0.0.0/8,10.0.0.0/40' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('TRUSTED_PROXIES: "10.0.0.0/40" has a prefix length that is not 0-32');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 70_000);
});
