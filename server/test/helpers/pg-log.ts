/**
 * A document's log read from PostgreSQL with plain SQL (the PostgreSQL store's `events`
 * table, store/pg-schema.ts), so the cluster tests check what is stored without going
 * through the server's own store code, as stored-log.ts does for SQLite.
 */
import pg from 'pg';
import type { DocEvent, EventKind, Op } from '../../../shared/src/index.js';

export async function readPgLog(url: string, docId: string): Promise<DocEvent[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const rows = (
      await c.query<{ seq: string; client: string; client_seq: string; base: string; author: string; time: number; kind: string; op: string; meta: string | null }>(
        'SELECT seq, client, client_seq, base, author, time, kind, op, meta FROM events WHERE doc_id = $1 ORDER BY seq',
        [docId],
      )
    ).rows;
    return rows.map((r) => ({
      id: { client: r.client, clientSeq: Number(r.client_seq) },
      seq: Number(r.seq),
      base: Number(r.base),
      author: r.author,
      time: Number(r.time),
      kind: r.kind as EventKind,
      op: JSON.parse(r.op) as Op,
      ...(r.meta !== null ? { meta: JSON.parse(r.meta) } : {}),
    }));
  } finally {
    await c.end();
  }
}
