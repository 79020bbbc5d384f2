/**
 * The unsealed part of a document's log: the `events` table, one row per event, read
 * back and validated. Since version 2 it holds only the seqs after a document's last
 * block (at most a seal's worth in steady state), but reads here are the version 1 code:
 * a range reads in chunks, and a chunk comes back from SQLite as one JSON text, which
 * `JSON.parse` turns into values about twice as fast as fetching nine columns per row
 * through the driver (docs/storage.md). If SQLite or JSON.parse rejects a chunk (a
 * damaged row), it is read again row by row, which names the bad seq. Either way every
 * event is validated (`toEvent`), so nothing unchecked gets out.
 */
import Database from 'better-sqlite3';
import { type DocEvent, type EventKind, type EventMeta, eventKinds, decodeOp } from '../../../shared/src/index.js';

/** A stored event (row or block) that fails validation on the way out: the log is damaged at `seq`. */
export class CorruptEventError extends Error {
  constructor(
    readonly docId: string,
    readonly seq: number,
    detail: string,
  ) {
    super(`SqliteLogStore: document ${JSON.stringify(docId)}, seq ${seq}: corrupt event: ${detail}`);
    this.name = 'CorruptEventError';
  }
}

/** A row of the range query, raw: seq, client, client_seq, base, author, time, kind, op, meta. */
type EventRow = [number, unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown];

/** Rows per query of a range read (bounds the JSON text of one chunk to about a megabyte). */
const READ_CHUNK = 10_000;

const kinds = new Set<string>(eventKinds);

/** Reading, inserting and deleting event rows; statements prepared once. */
export class EventRows {
  private readonly st: ReturnType<typeof prepare>;

  constructor(db: Database.Database) {
    this.st = prepare(db);
  }

  /**
   * Appends the rows with lo < seq ≤ hi to `out`, in seq order, validated; stops where the
   * rows stop. Call inside a read transaction when the range spans several chunks.
   */
  read(docId: string, lo: number, hi: number, out: DocEvent[]): void {
    for (let a = lo; a < hi; a += READ_CHUNK) {
      const b = Math.min(hi, a + READ_CHUNK);
      const before = out.length;
      if (!this.readChunkFast(docId, a, b, out)) {
        out.length = before;
        this.readChunkRows(docId, a, b, out);
      }
      if (out.length - before < b - a) break; // the log ends here
    }
  }

  /** Stores one validated event as a row; throws SQLite's error (a clash on the id index: L3). */
  insert(docId: string, e: DocEvent): void {
    this.st.insert.run(
      docId,
      e.seq,
      e.id.client,
      e.id.clientSeq,
      e.base,
      e.author,
      e.time,
      e.kind,
      JSON.stringify(e.op),
      e.meta === undefined ? null : JSON.stringify(e.meta),
    );
  }

  /** Deletes rows lo < seq ≤ hi (they were sealed into a block); returns how many. */
  delete(docId: string, lo: number, hi: number): number {
    return this.st.delete.run(docId, lo, hi).changes;
  }

  seqOf(docId: string, client: string, clientSeq: number): number | undefined {
    return this.st.seqOf.get(docId, client, clientSeq) as number | undefined;
  }

  lastClientSeq(docId: string, client: string): number {
    return (this.st.lastClientSeq.get(docId, client) as number | null) ?? 0;
  }

  /** Appends seqs a+1… (up to b) to `out`; false if the chunk must be read row by row. */
  private readChunkFast(docId: string, a: number, b: number, out: DocEvent[]): boolean {
    let rows: unknown;
    try {
      const text = this.st.rangeJson.get(docId, a, b) as string | null;
      if (text === null) return true; // no rows
      rows = JSON.parse(text);
    } catch (e) {
      if (e instanceof SyntaxError || isSqliteError(e)) return false;
      throw e;
    }
    if (!Array.isArray(rows)) return false;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as unknown[];
      if (!Array.isArray(r) || r.length !== 9 || r[0] !== a + i + 1) return false;
    }
    for (const r of rows as unknown[][]) out.push(toEvent(docId, r[0] as number, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]));
    return true;
  }

  /** The slow path: one row at a time, naming the first bad or missing seq. */
  private readChunkRows(docId: string, a: number, b: number, out: DocEvent[]): void {
    let expected = a + 1;
    for (const row of this.st.range.iterate(docId, a, b) as IterableIterator<EventRow>) {
      const [seq, client, clientSeq, base, author, time, kind, opText, metaText] = row;
      if (seq !== expected) throw new CorruptEventError(docId, expected, `missing (the next stored seq is ${seq})`);
      const op = parseColumn(docId, seq, 'op', opText);
      const meta = metaText === null ? null : parseColumn(docId, seq, 'meta', metaText);
      out.push(toEvent(docId, seq, client, clientSeq, base, author, time, kind, op, meta));
      expected++;
    }
  }
}

function prepare(db: Database.Database) {
  return {
    range: db
      .prepare(
        'SELECT seq, client, client_seq, base, author, time, kind, op, meta FROM events WHERE doc_id = ? AND seq > ? AND seq <= ? ORDER BY seq',
      )
      .raw(),
    // One chunk as one JSON text: an array of [seq, client, client_seq, base, author, time,
    // kind, op, meta] per row. json() fails on a malformed op or meta and json_array on a
    // blob, so a damaged row fails the query; readChunkFast falls back to the row path then.
    // group_concat keeps the subquery's order in practice (not promised by SQL; the seqs are
    // checked anyway); `ORDER BY` inside group_concat would cost a temp b-tree.
    rangeJson: db
      .prepare(
        `SELECT '[' || group_concat(j, ',') || ']' FROM (SELECT json_array(seq, client, client_seq, base, author, time, kind, json(op), json(meta)) AS j FROM events WHERE doc_id = ? AND seq > ? AND seq <= ? ORDER BY seq)`,
      )
      .pluck(),
    seqOf: db.prepare('SELECT seq FROM events WHERE doc_id = ? AND client = ? AND client_seq = ?').pluck(),
    lastClientSeq: db.prepare('SELECT max(client_seq) FROM events WHERE doc_id = ? AND client = ?').pluck(),
    insert: db.prepare(
      'INSERT INTO events (doc_id, seq, client, client_seq, base, author, time, kind, op, meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    delete: db.prepare('DELETE FROM events WHERE doc_id = ? AND seq > ? AND seq <= ?'),
  };
}

/**
 * Validates one stored event on the way out (op and meta already parsed): types, the
 * kind, and the op through the codec. Measured at about a tenth of the read's cost
 * (docs/storage.md), so it is always on: a damaged row never reaches a replay.
 */
function toEvent(
  docId: string,
  seq: number,
  client: unknown,
  clientSeq: unknown,
  base: unknown,
  author: unknown,
  time: unknown,
  kind: unknown,
  opJson: unknown,
  meta: unknown,
): DocEvent {
  const bad = (detail: string) => new CorruptEventError(docId, seq, detail);
  if (typeof client !== 'string' || typeof author !== 'string') throw bad('client and author must be text');
  if (!Number.isInteger(clientSeq) || !Number.isInteger(base) || typeof time !== 'number') {
    throw bad('client_seq, base and time must be numbers');
  }
  if (typeof kind !== 'string' || !kinds.has(kind)) throw bad(`unknown kind ${JSON.stringify(kind)}`);
  const op = decodeOp(opJson);
  if (!op.ok) throw bad(`op: ${op.error.message}`);
  const ev: { -readonly [K in keyof DocEvent]: DocEvent[K] } = {
    id: { client, clientSeq: clientSeq as number },
    seq,
    base: base as number,
    author,
    time,
    op: op.value,
    kind: kind as EventKind,
  };
  if (meta !== null) {
    if (typeof meta !== 'object' || Array.isArray(meta)) throw bad('meta must be an object');
    ev.meta = meta as EventMeta;
  }
  return ev;
}

function parseColumn(docId: string, seq: number, column: string, text: unknown): unknown {
  if (typeof text !== 'string') throw new CorruptEventError(docId, seq, `${column} must be JSON text`);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CorruptEventError(docId, seq, `${column} is not JSON (${(e as Error).message})`);
  }
}

interface SqliteErrorLike extends Error {
  code: string;
}

export function isSqliteError(e: unknown): e is SqliteErrorLike {
  return e instanceof Database.SqliteError;
}
