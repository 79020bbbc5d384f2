/**
 * The cluster's one LISTEN session. PostgreSQL delivers a NOTIFY to the sessions that
 * LISTEN on its channel, and a LISTEN lasts only as long as its session: so it needs a
 * connection of its own, held open, never one borrowed from a pool (a pooled connection
 * goes back and the LISTEN with it), and never through PgBouncer in transaction or
 * statement mode, which hands each transaction a different server session (docs/scale.md).
 *
 * When the session breaks (the database restarted, the network cut, the node paused past
 * TCP's patience) notices sent meanwhile are gone. So the listener reconnects with backoff
 * (`min · 2^attempt` up to `max`, jittered) and, once LISTENing again, calls `onConnected`:
 * the owner re-reads every open document's head, which covers whatever it missed.
 *
 * NOTIFY goes over the same session (`notify`): a node also hears its own notices, which the
 * owner skips by node id. A notice that cannot be sent (no session right now) is dropped:
 * notices are hints, the log is the truth.
 */
import pg from 'pg';
import type { Logger } from '../options.js';

export interface ListenerOptions {
  readonly url: string;
  readonly channels: readonly string[];
  readonly log: Logger;
  /** A notice arrived on one of `channels`. */
  readonly onNotice: (channel: string, payload: string) => void;
  /** LISTENing (again): whatever was sent while not is lost, re-read what matters. */
  readonly onConnected: () => void;
  /** Backoff between reconnects, ms. */
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Randomness for the jitter (in [0, 1)). */
  readonly random?: () => number;
}

export class NotifyListener {
  private client: pg.Client | null = null;
  private ready = false;
  private closed = false;
  private attempt = 0;
  private timer: NodeJS.Timeout | null = null;
  /** How many times a session started LISTENing (tests and the log). */
  connects = 0;

  constructor(private readonly opts: ListenerOptions) {}

  /** Connects in the background; resolves after the first attempt (connected or not: it keeps trying). */
  start(): Promise<void> {
    return this.connect();
  }

  get listening(): boolean {
    return this.ready;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.opts.url, connectionTimeoutMillis: 5000, keepAlive: true, application_name: 'eventide-listen' });
    this.client = client;
    let failed = false;
    const fail = (why: string) => {
      if (failed || this.closed) return;
      failed = true;
      if (this.client === client) {
        this.client = null;
        this.ready = false;
      }
      client.end().catch(() => {});
      this.opts.log.warn(`cluster listener: ${why}; reconnecting`);
      this.schedule();
    };
    client.on('error', (e) => fail(`session error: ${e.message}`));
    client.on('end', () => fail('session ended'));
    client.on('notification', (n) => {
      if (n.payload !== undefined) this.opts.onNotice(n.channel, n.payload);
    });
    try {
      await client.connect();
      for (const ch of this.opts.channels) await client.query(`LISTEN ${pg.escapeIdentifier(ch)}`);
    } catch (e) {
      fail(`cannot listen: ${(e as Error).message}`);
      return;
    }
    if (failed || this.closed) return;
    this.ready = true;
    this.attempt = 0;
    this.connects++;
    this.opts.onConnected();
  }

  private schedule(): void {
    if (this.closed || this.timer !== null) return;
    const min = this.opts.minBackoffMs ?? 100;
    const max = this.opts.maxBackoffMs ?? 5000;
    const jitter = 0.5 + (this.opts.random ?? Math.random)();
    const delay = Math.min(max, min * 2 ** this.attempt) * jitter;
    this.attempt++;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, delay);
    this.timer.unref();
  }

  /**
   * Queues a notice (pg_notify) for the session. Notices queued while one round trip is
   * under way go together in the next, in order: one query at a time on the session, and
   * a burst of commits costs one round trip. Dropped if no session is up (notices are
   * hints); never throws.
   */
  notify(channel: string, payload: string): void {
    if (this.client === null || !this.ready) return;
    this.outbox.push([channel, payload]);
    if (!this.sending) void this.send();
  }

  private outbox: [string, string][] = [];
  private sending = false;

  private async send(): Promise<void> {
    this.sending = true;
    try {
      while (this.outbox.length > 0) {
        const c = this.client;
        const batch = this.outbox;
        this.outbox = [];
        if (c === null || !this.ready) return;
        try {
          await c.query('SELECT pg_notify(ch, p) FROM unnest($1::text[], $2::text[]) AS t(ch, p)', [batch.map((b) => b[0]), batch.map((b) => b[1])]);
        } catch {
          // The session broke: the listener reconnects; these notices are lost (polls cover them).
        }
      }
    } finally {
      this.sending = false;
    }
  }

  /** Ends the session and stops reconnecting. */
  async close(): Promise<void> {
    this.closed = true;
    this.ready = false;
    this.outbox = [];
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const c = this.client;
    this.client = null;
    if (c !== null) await c.end().catch(() => {});
  }
}
