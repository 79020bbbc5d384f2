/**
 * The sync server's knobs, their defaults, and how the environment sets them. One
 * place, so main.ts stays wiring and tests can start a server with tight limits (a
 * flood test wants a small bucket; a fuzz test wants a large one) without touching code.
 *
 * Rate limits are token buckets per connection: `rate` tokens a second up to `burst`.
 * Events (what reaches the log) and frames (everything, presence and pings included)
 * are counted apart: a paste of a long outbox after a day offline is many events in few
 * frames, a cursor dragged around is many frames and no events.
 */

import { protocolLimits, CHECKPOINT_RETENTION } from '../../shared/src/index.js';
import type { Bucket } from './limits/token-bucket.js';

export type { Bucket } from './limits/token-bucket.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.log(`eventide: ${m}`),
  warn: (m) => console.warn(`eventide: ${m}`),
  error: (m) => console.error(`eventide: ${m}`),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };


export interface SyncOptions {
  /** Events a connection may submit. A batch over the limit is refused whole (rate-limited). */
  readonly events: Bucket;
  /**
   * Frames a connection may send. A frame over the limit is dropped (rate-limited);
   * a connection that keeps going until it owes another `burst` is closed (1008).
   */
  readonly frames: Bucket;
  /** Interval of WebSocket ping frames; a socket that missed the previous pong is dropped. */
  readonly heartbeatMs: number;
  /** How long submits are collected before one store transaction (0: until the event loop turns). */
  readonly commitWindowMs: number;
  /** A server checkpoint after this many committed events. */
  readonly checkpointEvery: number;
  /**
   * Older server checkpoints are kept only at multiples of this seq (the newest two always
   * are): the store's retention rule, spec R16. Used when the server opens its own store.
   */
  readonly checkpointKeepEvery: number;
  /** Largest document, UTF-16 units. */
  readonly maxDocLength: number;
  /** Recent events (and the forms their authors sent) the sequencer keeps in memory. */
  readonly sequencerWindow: number;
  /** A connection whose unsent output exceeds this many bytes is too slow and is dropped (K11: the last resort). */
  readonly maxBufferedBytes: number;
  /**
   * A connection's send budget (K15): once its unsent output passes this many bytes at a
   * commit turn, it is not fed frame by frame but told `behind`, and caught up with a
   * welcome when it has drained below half of it. Bounds the server's memory per slow reader.
   */
  readonly sendBudgetBytes: number;
  /** Median staleness of a document's submits (ms) past which its editors are asked to batch (K16, `slow-down`); 0: never. */
  readonly docTargetLagMs: number;
  /** Largest WebSocket frame, bytes; a bigger one closes the socket (1009). */
  readonly maxFrameBytes: number;
  /**
   * Frames from one remote address, all its connections together, so one address cannot
   * take the server's CPU from everyone else however many connections it opens. Over the
   * rate, reading from the address's sockets pauses until the bucket refills (backpressure,
   * nothing lost); frames `ws` had already read wait in order (bounded per connection,
   * beyond that dropped unparsed with rate-limited).
   */
  readonly addressFrames: Bucket;
  /**
   * Bytes of history pages served to one remote address a second, all its connections
   * together. Reads are budgeted by what they cost, and a page now costs what it weighs: it
   * is cached blocks copied into a frame (an encode the first time a chunk is asked for), so
   * its bytes measure the server's work and its bandwidth alike, where frames are no fair
   * measure. A page is charged the bytes it sent; over the budget it is still answered, then
   * reading from that connection pauses until the debt is repaid (backpressure, nothing
   * refused). The default lets an honest late joiner take a long log at once (automerge-paper,
   * 260,000 events with 259 checkpoints, is ~4.9 MB of pages) and then ~4 MiB a second.
   */
  readonly addressReads: Bucket;
  /** New WebSocket connections per remote address (a bucket: `rate` a second, `burst`); over it, 429 before the upgrade. */
  readonly connections: Bucket;
  /** New documents per remote address; over it, the creating hello is refused (too-many-documents). */
  readonly creates: Bucket;
  /**
   * Origins whose pages may open the WebSocket. null: only the app's own origin (the
   * Origin's host equals the request's Host). `['*']`: any. Others get 403 before the upgrade.
   */
  readonly allowedOrigins: readonly string[] | null;
  /** A connection that has not joined a document (sent a valid hello) by then is closed (hello-timeout). */
  readonly helloTimeoutMs: number;
  readonly log: Logger;
}

export const defaultSyncOptions: SyncOptions = {
  events: { rate: 1000, burst: 10_000 },
  frames: { rate: 500, burst: 1000 },
  heartbeatMs: 30_000,
  commitWindowMs: 0,
  checkpointEvery: 1000,
  checkpointKeepEvery: CHECKPOINT_RETENTION.thinEvery,
  maxDocLength: 64 * 1024 * 1024,
  sequencerWindow: 20_000,
  maxBufferedBytes: 64 * 1024 * 1024,
  sendBudgetBytes: 1024 * 1024,
  docTargetLagMs: 150,
  maxFrameBytes: protocolLimits.maxFrameBytes,
  addressFrames: { rate: 1000, burst: 200 },
  addressReads: { rate: 4 * 1024 * 1024, burst: 16 * 1024 * 1024 },
  connections: perMinute(600),
  creates: perMinute(60),
  allowedOrigins: null,
  helloTimeoutMs: 10_000,
  log: consoleLogger,
};

/** A bucket of `n` a minute that may all be spent at once. */
export function perMinute(n: number): Bucket {
  return { rate: n / 60, burst: n };
}

/** Knobs from the environment (all optional): EVENTIDE_RATE_EVENTS=rate/burst and so on. */
export function syncOptionsFromEnv(env: NodeJS.ProcessEnv): Partial<SyncOptions> {
  const out: { -readonly [K in keyof SyncOptions]?: SyncOptions[K] } = {};
  const bucket = (name: string): Bucket | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const m = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(v);
    // A rate of 0 would mean "never refills": a pause for the debt would be endless.
    if (!m || !(Number(m[1]) > 0)) throw new Error(`${name} must look like RATE/BURST with RATE > 0 (e.g. 1000/10000), got ${JSON.stringify(v)}`);
    return { rate: Number(m[1]), burst: Number(m[2]) };
  };
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const events = bucket('EVENTIDE_RATE_EVENTS');
  if (events) out.events = events;
  const frames = bucket('EVENTIDE_RATE_FRAMES');
  if (frames) out.frames = frames;
  const heartbeat = int('EVENTIDE_HEARTBEAT_MS');
  if (heartbeat !== undefined) out.heartbeatMs = heartbeat;
  const window = int('EVENTIDE_COMMIT_WINDOW_MS');
  if (window !== undefined) out.commitWindowMs = window;
  const every = int('EVENTIDE_CHECKPOINT_EVERY');
  if (every !== undefined && every > 0) out.checkpointEvery = every;
  const keepEvery = int('EVENTIDE_CHECKPOINT_KEEP_EVERY');
  if (keepEvery !== undefined && keepEvery > 0) out.checkpointKeepEvery = keepEvery;
  const maxDoc = int('EVENTIDE_MAX_DOC_LENGTH');
  if (maxDoc !== undefined && maxDoc > 0) out.maxDocLength = maxDoc;
  const budget = int('EVENTIDE_SEND_BUDGET_BYTES');
  if (budget !== undefined && budget > 0) out.sendBudgetBytes = budget;
  const targetLag = int('EVENTIDE_DOC_TARGET_LAG_MS');
  if (targetLag !== undefined) out.docTargetLagMs = targetLag;
  const maxFrame = int('EVENTIDE_MAX_FRAME_BYTES');
  if (maxFrame !== undefined && maxFrame > 0) out.maxFrameBytes = maxFrame;
  const addressFrames = bucket('EVENTIDE_RATE_ADDRESS_FRAMES');
  if (addressFrames) out.addressFrames = addressFrames;
  const addressReads = bucket('EVENTIDE_RATE_ADDRESS_READS');
  if (addressReads) out.addressReads = addressReads;
  const conns = int('EVENTIDE_CONNECTIONS_PER_MINUTE');
  if (conns !== undefined && conns > 0) out.connections = perMinute(conns);
  const creates = int('EVENTIDE_CREATES_PER_MINUTE');
  if (creates !== undefined && creates > 0) out.creates = perMinute(creates);
  const helloMs = int('EVENTIDE_HELLO_TIMEOUT_MS');
  if (helloMs !== undefined) out.helloTimeoutMs = helloMs;
  const origins = env.EVENTIDE_ALLOWED_ORIGINS;
  if (origins !== undefined && origins.trim() !== '') {
    const list = origins.split(',').map((o) => o.trim()).filter((o) => o !== '');
    for (const o of list) {
      if (o !== '*' && !/^https?:\/\/[^/\s]+$/.test(o)) {
        throw new Error(`EVENTIDE_ALLOWED_ORIGINS must be a comma-separated list of origins (https://host[:port]) or *, got ${JSON.stringify(o)}`);
      }
    }
    out.allowedOrigins = list;
  }
  return out;
}
