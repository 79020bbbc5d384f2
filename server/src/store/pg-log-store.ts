/**
 * The LogStore on PostgreSQL (driver: `pg`), for several server processes sharing one
 * database (`DATABASE_URL`). Same contract as the SQLite and memory stores
 * (server/test/store/contract.ts); pg-schema.ts has the tables and why.
 *
 * Who owns a seq is decided by the database, never by a process's belief (R18): an append
 * is one transaction that checks the head it expects, inserts its events, and moves the
 * document's head. If another process appended first, the head check sees it, or (when
 * both checked at once) the second insert of a seq meets PRIMARY KEY (doc_id, seq), waits
 * for the first to commit, and fails: the whole transaction is rolled back and the caller
 * gets `head-mismatch`. Nothing is ever overwritten.
 *
 * Durability (L2): a commit returns after PostgreSQL has flushed its WAL, with
 * `synchronous_commit = on` (the server's default, set again per connection here so a
 * database configured otherwise cannot weaken the promise silently).
 *
 * A dead or restarting database (R19): a write resolves `store-failed`, a read rejects
 * (the server turns it into `store-failed` too), the process keeps running, and the pool
 * opens fresh connections when the database answers again. An idle connection that dies
 * is dropped by the pool (its `error` event is logged, not thrown).
 */
import pg from 'pg';
import type { LogStore, DocumentInfo } from './log-store.js';
import {
  type Checkpoint,
  type DocEvent,
  type EventId,
  type EventKind,
  type EventMeta,
  type Result,
  type CheckpointRetention,
  ok,
  err,
  idKey,
  eventKinds,
  decodeOp,
  encodeCheckpointBlock,
  decodeCheckpointBlock,
  CHECKPOINT_RETENTION,
  checkRetention,
  prunedCheckpoints,
} from '../../../shared/src/index.js';
import { checkEvents, checkCheckpoint, headMismatch } from './memory-log-store.js';
import { ensurePgSchema } from './pg-schema.js';
import type { AccessRecord, AccessStore } from '../access/access-store.js';

type Entry = { docId: string; expectedHead: number; events: readonly DocEvent[] };

export interface PgLogStoreOptions {
  /** Which checkpoints a document keeps (default CHECKPOINT_RETENTION, spec R16). */
  checkpointRetention?: CheckpointRetention;
  /** Connections in the pool (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection before a call fails (ms, default 5,000). */
  connectTimeoutMs?: number;
  /** Where a connection's background error goes (default: console.warn). */
  onError?: (message: string) => void;
}

/** SQLSTATE of a unique violation. */
const UNIQUE_VIOLATION = '23505';

const kinds = new Set<string>(eventKinds);

/** bigint columns come back as numbers: every seq and clientSeq is a safe integer (checked on the way in). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A caller's bug found by the database (an id already in the log: L3); thrown, not a store failure. */
class CallerBug extends Error {}

export class PgLogStore implements LogStore {
  private readonly retention: CheckpointRetention;
  private closed = false;

  private constructor(
    readonly pool: pg.Pool,
    options: PgLogStoreOptions,
  ) {
    this.retention = checkRetention(options.checkpointRetention ?? CHECKPOINT_RETENTION);
    this.lockSlots = Math.max(1, (options.maxConnections ?? 10) - 2);
  }

  /**
   * Connects to `url` (postgres://…) and brings the database to the current schema.
   * Rejects if the database cannot be reached or has a newer schema (startup failures).
   */
  static async open(url: string, options: PgLogStoreOptions = {}): Promise<PgLogStore> {
    const onError = options.onError ?? ((m: string) => console.warn(m));
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      types,
    });
    // An idle connection that dies (the database restarted) must not take the process down.
    pool.on('error', (e) => onError(`PgLogStore: a connection failed and was dropped: ${e.message}`));
    pool.on('connect', (c) => {
      c.on('error', () => {}); // reported through the pool's event; the query in flight rejects
      // lock_timeout: a document lock (appendSerialized) or a row another process holds is
      // waited for 10 s at most, then the append is store-failed; a paused process's own
      // open transaction is ended by the server after 5 s, so the others rarely wait that long.
      void c
        .query("SET synchronous_commit = on; SET lock_timeout = '10s'; SET idle_in_transaction_session_timeout = '5s'")
        .catch(() => {});
    });
    try {
      await ensurePgSchema(pool);
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
    return new PgLogStore(pool, options);
  }

  /** The access records in the same database (access/access-store.ts). */
  accessStore(): AccessStore {
    return new PgAccessStore(this.pool);
  }

  async append(docId: string, expectedHead: number, events: readonly DocEvent[]): Promise<Result<null>> {
    return this.appendMany([{ docId, expectedHead, events }]);
  }

  async appendMany(entries: readonly Entry[]): Promise<Result<null>> {
    this.open();
    // The caller's bugs first, before any I/O: seqs that do not continue the expected head
    // (L1), a malformed event, an id twice in one call (L3). An id already in the log is
    // found by the database's unique index below.
    const seen = new Map<string, Set<string>>();
    for (const { docId, expectedHead, events } of entries) {
      checkEvents(docId, expectedHead, events);
      let ids = seen.get(docId);
      if (ids === undefined) seen.set(docId, (ids = new Set()));
      for (const e of events) {
        const k = idKey(e.id);
        if (ids.has(k)) throw duplicate(docId, k);
        ids.add(k);
      }
    }
    if (entries.length === 0) return ok(null);
    return this.transaction('append', async (c) => {
      const heads = new Map<string, number>();
      for (const { docId, expectedHead, events } of entries) {
        const head = heads.get(docId) ?? (await headOf(c, docId));
        if (head !== expectedHead) return headMismatch(docId, expectedHead, head);
        if (events.length === 0) continue;
        try {
          await c.query('SAVEPOINT ins');
          await insertEvents(c, docId, events);
          await c.query('RELEASE SAVEPOINT ins');
        } catch (e) {
          if (!isUnique(e)) throw e;
          // Another process took one of these seqs first (R18): it owns them.
          if (e.constraint === 'events_pkey') return headMismatch(docId, expectedHead, await headAfterConflict(c, docId));
          throw new CallerBug(
            `LogStore: document ${JSON.stringify(docId)}: an event id of the append is already in the log (L3: an id is appended at most once): ${e.detail ?? e.message}`,
          );
        }
        const last = events[events.length - 1];
        heads.set(docId, last.seq);
        await c.query(
          'INSERT INTO documents (doc_id, head, updated_at) VALUES ($1, $2, $3) ON CONFLICT (doc_id) DO UPDATE SET head = excluded.head, updated_at = excluded.updated_at',
          [docId, last.seq, last.time],
        );
      }
      return ok(null);
    });
  }

  /**
   * One document's append with the document's appends serialized across processes (R27):
   * the transaction first takes an advisory lock on the document (`pg_advisory_xact_lock`,
   * released by COMMIT or ROLLBACK, and by PostgreSQL if the session dies), so a process
   * that would have lost the race waits for the other's commit instead, then reads the
   * events it lacks in the same transaction and rebases over them (`rebase`) while still
   * holding the lock. The lock is only an optimisation: the head check and the primary
   * key decide as in `appendMany`, so a writer that does not take it (or a lock given up
   * after `lock_timeout`) can still only make this a `head-mismatch` or `store-failed`.
   * A paused process holding the lock loses it to `idle_in_transaction_session_timeout`
   * (its transaction is rolled back: nothing of it is stored).
   */
  async appendSerialized(
    docId: string,
    expectedHead: number,
    events: readonly DocEvent[],
    rebase: (missing: readonly DocEvent[]) => Promise<readonly DocEvent[]>,
  ): Promise<Result<null>> {
    this.open();
    checkEvents(docId, expectedHead, events);
    checkIdsOnce(docId, events);
    await this.lockSlot();
    try {
      // The lock in BEGIN's round trip (the key is a number this code made, not input); the
      // head in a statement of its own after it, so its snapshot sees the last holder's commit.
      return await this.transaction('append', `BEGIN; SELECT pg_advisory_xact_lock(${lockKey(docId)})`, async (c) => {
        const head = await headOf(c, docId);
        let write = events;
        if (head !== expectedHead) {
          if (head < expectedHead) return headMismatch(docId, expectedHead, head);
          write = await rebase(await rangeOf(c, docId, expectedHead, head));
          checkEvents(docId, head, write);
          checkIdsOnce(docId, write);
        }
        if (write.length === 0) return ok(null);
        try {
          // The events and the head in one statement (one round trip less per append).
          await insertEvents(c, docId, write, true);
        } catch (e) {
          if (!isUnique(e)) throw e;
          if (e.constraint === 'events_pkey') return headMismatch(docId, head, head);
          throw new CallerBug(
            `LogStore: document ${JSON.stringify(docId)}: an event id of the append is already in the log (L3: an id is appended at most once): ${e.detail ?? e.message}`,
          );
        }
        return ok(null);
      });
    } finally {
      const next = this.lockWaiters.shift();
      if (next !== undefined) next();
      else this.lockSlots++;
    }
  }

  /**
   * Transactions holding a document lock may need one more connection while they hold it
   * (a rebase that reads past the sequencer's memory): never more of them than leaves
   * two connections of the pool free, or they could all wait for a connection none frees.
   */
  private lockSlots: number;
  private readonly lockWaiters: (() => void)[] = [];

  private async lockSlot(): Promise<void> {
    if (this.lockSlots > 0) {
      this.lockSlots--;
      return;
    }
    // A finishing holder hands its slot straight to the first waiter.
    await new Promise<void>((resolve) => this.lockWaiters.push(resolve));
  }

  async head(docId: string): Promise<number> {
    this.open();
    return headOf(this.pool, docId);
  }

  async range(docId: string, from: number, to: number): Promise<DocEvent[]> {
    this.open();
    const lo = Math.max(0, Math.floor(from));
    const hi = Math.min(Number.MAX_SAFE_INTEGER, Math.floor(to));
    if (!(hi > lo)) return [];
    return rangeOf(this.pool, docId, lo, hi);
  }

  async seqOf(docId: string, id: EventId): Promise<number | undefined> {
    this.open();
    const r = await this.pool.query<{ seq: number }>('SELECT seq FROM events WHERE doc_id = $1 AND client = $2 AND client_seq = $3', [
      docId,
      id.client,
      id.clientSeq,
    ]);
    return r.rows[0]?.seq;
  }

  async lastClientSeq(docId: string, client: string): Promise<number> {
    this.open();
    const r = await this.pool.query<{ m: number | null }>('SELECT max(client_seq) AS m FROM events WHERE doc_id = $1 AND client = $2', [docId, client]);
    return r.rows[0]?.m ?? 0;
  }

  async putCheckpoint(cp: Checkpoint): Promise<Result<null>> {
    this.open();
    checkCheckpoint(cp, await this.head(cp.docId));
    const data = Buffer.from(encodeCheckpointBlock(cp));
    return this.transaction('putCheckpoint', async (c) => {
      await c.query('INSERT INTO checkpoints (doc_id, seq, data) VALUES ($1, $2, $3) ON CONFLICT (doc_id, seq) DO UPDATE SET data = excluded.data', [
        cp.docId,
        cp.seq,
        data,
      ]);
      // Retention (R16), in the same transaction.
      const seqs = (await c.query<{ seq: number }>('SELECT seq FROM checkpoints WHERE doc_id = $1 ORDER BY seq', [cp.docId])).rows.map((r) => r.seq);
      const pruned = prunedCheckpoints(seqs, this.retention);
      if (pruned.length > 0) await c.query('DELETE FROM checkpoints WHERE doc_id = $1 AND seq = ANY($2::bigint[])', [cp.docId, pruned]);
      return ok(null);
    });
  }

  async checkpointAtOrBefore(docId: string, at: number): Promise<Checkpoint | null> {
    this.open();
    // Newest first; one that does not decode is skipped: checkpoints are a cache (L5).
    const r = await this.pool.query<{ seq: number; data: Buffer }>('SELECT seq, data FROM checkpoints WHERE doc_id = $1 AND seq <= $2 ORDER BY seq DESC', [
      docId,
      Math.floor(at),
    ]);
    for (const { seq, data } of r.rows) {
      const cp = decodeCheckpointBlock(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (cp.ok && cp.value.docId === docId && cp.value.seq === seq) return cp.value;
    }
    return null;
  }

  async checkpointSeqs(docId: string, from: number, to: number): Promise<number[]> {
    this.open();
    const r = await this.pool.query<{ seq: number }>('SELECT seq FROM checkpoints WHERE doc_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq', [
      docId,
      Math.ceil(from),
      Math.floor(to),
    ]);
    return r.rows.map((row) => row.seq);
  }

  async listDocuments(): Promise<DocumentInfo[]> {
    this.open();
    const r = await this.pool.query<{ doc_id: string; head: number; updated_at: number }>(
      'SELECT doc_id, head, updated_at FROM documents WHERE head > 0 ORDER BY updated_at DESC, doc_id COLLATE "C"',
    );
    return r.rows.map((row) => ({ docId: row.doc_id, head: row.head, updatedAt: row.updated_at }));
  }

  /** Ends the pool's connections; calls after it throw. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private open(): void {
    if (this.closed) throw new Error('PgLogStore: used after close()');
  }

  /**
   * Runs `f` in one transaction: committed if it resolves ok, rolled back otherwise.
   * The database's failures (unreachable, restarting, a full disk) are `store-failed`,
   * nothing stored; the caller's bugs are rethrown.
   */
  private async transaction(what: string, f: (c: pg.PoolClient) => Promise<Result<null>>): Promise<Result<null>>;
  /** `begin`: BEGIN and what goes in its round trip. */
  private async transaction(what: string, begin: string, f: (c: pg.PoolClient) => Promise<Result<null>>): Promise<Result<null>>;
  private async transaction(what: string, a: string | ((c: pg.PoolClient) => Promise<Result<null>>), b?: (c: pg.PoolClient) => Promise<Result<null>>): Promise<Result<null>> {
    const [begin, f] = typeof a === 'string' ? [a, b!] : ['BEGIN', a];
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      return storeFailed(what, e);
    }
    let broken: Error | undefined;
    try {
      await c.query(begin);
      const r = await f(c);
      if (!r.ok) {
        await c.query('ROLLBACK');
        return r;
      }
      await c.query('COMMIT');
      return r;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      if (e instanceof CallerBug || !isDatabaseError(e)) throw e;
      broken = isConnectionError(e) ? (e as Error) : undefined;
      return storeFailed(what, e);
    } finally {
      // A connection that failed mid-transaction is not given to the next caller.
      c.release(broken);
    }
  }
}

/** The access records in PostgreSQL, beside the logs (the same pool). */
export class PgAccessStore implements AccessStore {
  constructor(private readonly pool: pg.Pool) {}

  async get(docId: string): Promise<AccessRecord | null> {
    const r = await this.pool.query<{ doc_id: string; edit_hash: string; view_hash: string; created_at: number }>(
      'SELECT doc_id, edit_hash, view_hash, created_at FROM access WHERE doc_id = $1',
      [docId],
    );
    const row = r.rows[0];
    return row === undefined ? null : { docId: row.doc_id, editHash: row.edit_hash, viewHash: row.view_hash, createdAt: row.created_at };
  }

  async register(rec: AccessRecord): Promise<boolean> {
    // The first registration wins, also between processes: the primary key decides.
    const r = await this.pool.query(
      'INSERT INTO access (doc_id, edit_hash, view_hash, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (doc_id) DO NOTHING',
      [rec.docId, rec.editHash, rec.viewHash, rec.createdAt],
    );
    return r.rowCount === 1;
  }

  async replace(docId: string, editHash: string, viewHash: string): Promise<boolean> {
    // Both hashes in one statement: no moment where one old token still works beside a new one.
    const r = await this.pool.query('UPDATE access SET edit_hash = $2, view_hash = $3 WHERE doc_id = $1', [docId, editHash, viewHash]);
    return r.rowCount === 1;
  }

  /** The pool belongs to the log store, which closes it. */
  async close(): Promise<void> {}
}

/** A row of the range query: seq, client, client_seq, base, author, time, kind, op, meta. */
type EventRow = [number, unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown];

async function rangeOf(q: pg.Pool | pg.PoolClient, docId: string, lo: number, hi: number): Promise<DocEvent[]> {
  const r = await q.query<EventRow>({
    text: 'SELECT seq, client, client_seq, base, author, time, kind, op, meta FROM events WHERE doc_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq',
    values: [docId, lo, hi],
    rowMode: 'array',
  });
  const out: DocEvent[] = [];
  for (const row of r.rows as unknown as EventRow[]) {
    const ev = toEvent(docId, row);
    // A hole (a damaged table) is never returned as a log: it ends where the seqs stop.
    if (ev.seq !== lo + out.length + 1) throw new Error(`PgLogStore: document ${JSON.stringify(docId)}: seq ${lo + out.length + 1} is missing`);
    out.push(ev);
  }
  return out;
}

/** The advisory lock of a document's appends (R27): a 64-bit hash of its id (a shared key between two documents only makes them wait for each other). */
function lockKey(docId: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(docId, 'utf8')) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return BigInt.asIntN(64, h).toString();
}

/** An id twice in one append is the caller's bug (L3). */
function checkIdsOnce(docId: string, events: readonly DocEvent[]): void {
  const ids = new Set<string>();
  for (const e of events) {
    const k = idKey(e.id);
    if (ids.has(k)) throw duplicate(docId, k);
    ids.add(k);
  }
}

async function headOf(q: pg.Pool | pg.PoolClient, docId: string): Promise<number> {
  const r = await q.query<{ head: number }>('SELECT head FROM documents WHERE doc_id = $1', [docId]);
  return r.rows[0]?.head ?? 0;
}

/** The head after a lost race: the failed insert aborted the transaction, so read it after rolling back to the savepoint. */
async function headAfterConflict(c: pg.PoolClient, docId: string): Promise<number> {
  await c.query('ROLLBACK TO SAVEPOINT ins');
  return headOf(c, docId);
}

/**
 * One INSERT for all of a document's events (arrays unnested), so an append is one round
 * trip; with `setHead`, the document's head moves to the last of them in the same statement.
 */
async function insertEvents(c: pg.PoolClient, docId: string, events: readonly DocEvent[], setHead = false): Promise<void> {
  const n = events.length;
  const seq = new Array<number>(n);
  const client = new Array<string>(n);
  const clientSeq = new Array<number>(n);
  const base = new Array<number>(n);
  const author = new Array<string>(n);
  const time = new Array<number>(n);
  const kind = new Array<string>(n);
  const op = new Array<string>(n);
  const meta = new Array<string | null>(n);
  for (let i = 0; i < n; i++) {
    const e = events[i];
    seq[i] = e.seq;
    client[i] = e.id.client;
    clientSeq[i] = e.id.clientSeq;
    base[i] = e.base;
    author[i] = e.author;
    time[i] = e.time;
    kind[i] = e.kind;
    op[i] = JSON.stringify(e.op);
    meta[i] = e.meta === undefined ? null : JSON.stringify(e.meta);
  }
  const insert = `INSERT INTO events (doc_id, seq, client, client_seq, base, author, time, kind, op, meta)
     SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::float8[], $8::text[], $9::text[], $10::text[])`;
  const values: unknown[] = [docId, seq, client, clientSeq, base, author, time, kind, op, meta];
  if (!setHead) return void (await c.query(insert, values));
  // A data-modifying WITH runs to completion whether or not the outer statement reads it.
  const last = events[n - 1];
  await c.query(
    `WITH ins AS (${insert}) INSERT INTO documents (doc_id, head, updated_at) VALUES ($1, $11, $12)
     ON CONFLICT (doc_id) DO UPDATE SET head = excluded.head, updated_at = excluded.updated_at`,
    [...values, last.seq, last.time],
  );
}

/** Validates one stored event on the way out: a damaged row never reaches a replay. */
function toEvent(docId: string, row: EventRow): DocEvent {
  const [seq, client, clientSeq, base, author, time, kind, opText, metaText] = row;
  const bad = (detail: string) => new Error(`PgLogStore: document ${JSON.stringify(docId)}, seq ${seq}: corrupt event: ${detail}`);
  if (typeof client !== 'string' || typeof author !== 'string') throw bad('client and author must be text');
  if (typeof clientSeq !== 'number' || typeof base !== 'number' || typeof time !== 'number') throw bad('client_seq, base and time must be numbers');
  if (typeof kind !== 'string' || !kinds.has(kind)) throw bad(`unknown kind ${JSON.stringify(kind)}`);
  const op = decodeOp(parse(opText, bad));
  if (!op.ok) throw bad(`op: ${op.error.message}`);
  const ev: { -readonly [K in keyof DocEvent]: DocEvent[K] } = {
    id: { client, clientSeq },
    seq,
    base,
    author,
    time,
    op: op.value,
    kind: kind as EventKind,
  };
  if (metaText !== null) {
    const meta = parse(metaText, bad);
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) throw bad('meta must be an object');
    ev.meta = meta as EventMeta;
  }
  return ev;
}

function parse(text: unknown, bad: (d: string) => Error): unknown {
  if (typeof text !== 'string') throw bad('op and meta must be JSON text');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bad(`not JSON (${(e as Error).message})`);
  }
}

function duplicate(docId: string, key: string): Error {
  return new Error(`LogStore: document ${JSON.stringify(docId)}: event id ${key} is already in the log (L3: an id is appended at most once)`);
}

interface PgError extends Error {
  code?: string;
  constraint?: string;
  detail?: string;
}

function isUnique(e: unknown): e is PgError {
  return e instanceof Error && (e as PgError).code === UNIQUE_VIOLATION;
}

/** An error from the database or the connection to it (not a bug in this code). */
function isDatabaseError(e: unknown): boolean {
  if (e instanceof pg.DatabaseError) return true;
  return isConnectionError(e);
}

function isConnectionError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as PgError).code;
  if (typeof code === 'string' && /^(E[A-Z]+|08\w+|57P\w+)$/.test(code)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable/i.test(e.message);
}

function storeFailed(what: string, e: unknown): Result<null> {
  const code = (e as PgError).code;
  return err('store-failed', `${what} failed, nothing stored: ${code !== undefined ? `${code}: ` : ''}${(e as Error).message}`);
}
