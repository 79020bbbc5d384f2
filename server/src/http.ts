import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { WebSocketServer } from 'ws';
import type { LogStore } from './store/log-store.js';
import { SqliteLogStore } from './store/sqlite-log-store.js';
import { PgLogStore } from './store/pg-log-store.js';
import { SyncHub } from './hub.js';
import { defaultSyncOptions, type SyncOptions } from './options.js';
import { CHECKPOINT_RETENTION } from '../../shared/src/index.js';
import type { AccessStore } from './access/access-store.js';
import { MemoryAccessStore } from './access/access-store.js';
import { SqliteAccessStore, ACCESS_FILE } from './access/sqlite-access-store.js';
import { AddressBuckets } from './limits/address-buckets.js';
import { clientAddress } from './limits/trusted-proxies.js';
import { securityHeaders, originAllowed } from './security-headers.js';

export interface ServerOptions {
  /** TCP port; 0 picks a free one (tests). */
  port: number;
  /** Where documents are stored; created if missing. */
  dataDir: string;
  /** The built client (dist/client). */
  staticDir: string;
  /** Interface to listen on; by default all of them. */
  host?: string;
  /**
   * Where logs live; by default SQLite at `<dataDir>/eventide.sqlite`. A store passed in
   * stays the caller's to close; the default one is closed on shutdown.
   */
  store?: LogStore;
  /**
   * With no `store`: keep logs, checkpoints and access records in the PostgreSQL database
   * at this URL (DATABASE_URL) instead of SQLite in `dataDir`. Several servers may share it.
   */
  databaseUrl?: string;
  /**
   * Who may use which document; by default SQLite at `<dataDir>/access.sqlite` (or beside
   * the logs in PostgreSQL with `databaseUrl`), or in
   * memory when a store is passed in (tests). A store passed in stays the caller's.
   */
  access?: AccessStore;
  /** Limits and knobs of the sync endpoint (options.ts). */
  sync?: Partial<SyncOptions>;
}

export interface RunningServer {
  /** The port actually bound (useful with port 0). */
  port: number;
  /** The sync endpoint's state (rooms, commit queue), for tests and diagnostics. */
  hub: SyncHub;
  /**
   * Stops accepting connections and events, stores and acknowledges what was sequenced,
   * closes every socket with 1001, closes the store; resolves when the server is down.
   */
  close(): Promise<void>;
}

/** The WebSocket endpoint's path. */
export const WS_PATH = '/ws';


/** The store file inside DATA_DIR. */
export const STORE_FILE = 'eventide.sqlite';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function contentTypeFor(filePath: string): string {
  return CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * Maps a request pathname to a file inside `root`, or null when it would leave `root` (or is not a
 * valid path at all). `pathname` is the raw, still percent-encoded path of the request URL.
 */
export function resolveStaticPath(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  const base = path.resolve(root);
  const resolved = path.resolve(base, '.' + path.posix.normalize('/' + decoded));
  const rel = path.relative(base, resolved);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
  return resolved;
}

function sendJson(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...securityHeaders,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(head ? undefined : text);
}

function sendText(res: ServerResponse, status: number, text: string, head: boolean): void {
  res.writeHead(status, {
    ...securityHeaders,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(head ? undefined : text);
}

async function isFile(p: string): Promise<number | null> {
  try {
    const s = await stat(p);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

function sendFile(
  res: ServerResponse,
  root: string,
  filePath: string,
  size: number,
  head: boolean,
): void {
  const isHtml = path.extname(filePath).toLowerCase() === '.html';
  // Vite's build puts content-hashed files under assets/: those never change.
  const hashed = path.relative(root, filePath).split(path.sep)[0] === 'assets';
  res.writeHead(200, {
    ...securityHeaders,
    'Content-Type': contentTypeFor(filePath),
    'Content-Length': size,
    'Cache-Control': hashed && !isHtml ? 'public, max-age=31536000, immutable' : 'no-cache',
  });
  if (head) {
    res.end();
    return;
  }
  const stream = createReadStream(filePath);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  staticDir: string,
  pathname: string,
): Promise<void> {
  const head = req.method === 'HEAD';
  const root = path.resolve(staticDir);
  const filePath = resolveStaticPath(root, pathname);
  if (filePath === null) {
    sendText(res, 404, 'Not found', head);
    return;
  }
  const size = await isFile(filePath);
  if (size !== null) {
    sendFile(res, root, filePath, size, head);
    return;
  }
  // SPA fallback: app routes such as /d/<docId> get index.html; a missing file (a path whose last
  // segment has an extension, e.g. /assets/x.js) is a plain 404.
  if (path.posix.extname(pathname) !== '') {
    sendText(res, 404, 'Not found', head);
    return;
  }
  const indexPath = path.join(root, 'index.html');
  const indexSize = await isFile(indexPath);
  if (indexSize === null) {
    sendText(res, 404, 'Client not built: run `npm run build` (npm start does it).', head);
    return;
  }
  sendFile(res, root, indexPath, indexSize, head);
}

function requestPathname(req: IncomingMessage): string | null {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return null;
  }
}

/**
 * A log store passed in without an access store gets one in memory that lives as long
 * as that store object, so a server restarted on the same store (tests) still knows who
 * may use its documents.
 */
const memoryAccess = new WeakMap<LogStore, AccessStore>();
function memoryAccessFor(store: LogStore): AccessStore {
  let a = memoryAccess.get(store);
  if (a === undefined) {
    a = new MemoryAccessStore();
    memoryAccess.set(store, a);
  }
  return a;
}

/** Starts the HTTP server (static client, /healthz) with the WebSocket endpoint on /ws. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { dataDir, staticDir } = options;
  await mkdir(dataDir, { recursive: true });
  const ownsStore = options.store === undefined;
  const sync = { ...defaultSyncOptions, ...options.sync };
  const checkpointRetention = { keepNewest: CHECKPOINT_RETENTION.keepNewest, thinEvery: sync.checkpointKeepEvery };
  let store: LogStore;
  let ownAccess: () => AccessStore;
  if (options.store !== undefined) {
    store = options.store;
    ownAccess = () => memoryAccessFor(store);
  } else if (options.databaseUrl !== undefined) {
    const log = sync.log;
    const pg = await PgLogStore.open(options.databaseUrl, { checkpointRetention, onError: (m) => log.warn(m) });
    store = pg;
    ownAccess = () => pg.accessStore();
  } else {
    store = SqliteLogStore.open(path.join(dataDir, STORE_FILE), { checkpointRetention, sealEvery: sync.sealEvery, compactEvents: sync.compactEvents });
    ownAccess = () => SqliteAccessStore.open(path.join(dataDir, ACCESS_FILE));
  }
  const access = options.access ?? ownAccess();
  const hub = new SyncHub(store, options.sync, ownsStore, access);
  await hub.startCluster();
  const connectionsByAddress = new AddressBuckets(sync.connections);

  const server = http.createServer((req, res) => {
    const head = req.method === 'HEAD';
    const pathname = requestPathname(req);
    if (pathname === null) {
      sendText(res, 400, 'Bad request', head);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      for (const [k, v] of Object.entries(securityHeaders)) res.setHeader(k, v);
      res.setHeader('Allow', 'GET, HEAD');
      sendText(res, 405, 'Method not allowed', false);
      return;
    }
    if (pathname === '/healthz') {
      sendJson(res, 200, { ok: true }, head);
      return;
    }
    serveStatic(req, res, staticDir, pathname).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'Internal server error', head);
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: sync.maxFrameBytes });
  /** The address a request is charged to: its TCP peer, or the client a trusted proxy names (K14). */
  const addressOf = (req: IncomingMessage) => clientAddress(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], sync.trustedProxies);
  wss.on('connection', (ws, req: IncomingMessage) => hub.accept(ws, addressOf(req)));

  /** Refuses an upgrade before it happens; the body names the error code. */
  const refuse = (socket: Duplex, status: string, code: string) => {
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${code.length}\r\n\r\n${code}`);
  };

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, headBuf: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (hub.shuttingDown) {
      socket.once('finish', () => socket.destroy());
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (requestPathname(req) !== WS_PATH) {
      socket.once('finish', () => socket.destroy());
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // Cross-site WebSocket hijacking: a page elsewhere must not open our socket with the
    // user's network position. (Non-browser clients can send any Origin; tokens guard those.)
    if (!originAllowed(req.headers.origin, req.headers.host, sync.allowedOrigins)) {
      sync.log.info(`refused a WebSocket from origin ${JSON.stringify(req.headers.origin).slice(0, 200)}`);
      refuse(socket, '403 Forbidden', 'origin-forbidden');
      return;
    }
    if (!connectionsByAddress.take(addressOf(req))) {
      refuse(socket, '429 Too Many Requests', 'too-many-connections');
      return;
    }
    wss.handleUpgrade(req, socket, headBuf, (ws) => wss.emit('connection', ws, req));
  });

  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    socket.destroy();
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await hub.shutdown();
    throw e;
  }

  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;

  return {
    port,
    hub,
    close() {
      closing ??= (async () => {
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await hub.shutdown();
        wss.close();
        server.closeAllConnections();
        await httpClosed;
      })();
      return closing;
    },
  };
}
