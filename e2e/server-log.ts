import Database from 'better-sqlite3';
import path from 'node:path';
import { expect } from '@playwright/test';
import { decodeBlock, replay, unwrap, type DocEvent, type EventKind, type Op } from '../shared/src/index.js';

/** The docId of a document URL (`/d/<docId>#edit=…`). */
export function docIdOf(url: string): string {
  const m = /\/d\/([A-Za-z0-9_-]+)/.exec(new URL(url).pathname);
  if (!m) throw new Error(`not a document URL: ${url}`);
  return m[1];
}

/** The data directory of the config's webServer (playwright.config.ts makes it once for the run). */
export function sharedDataDir(): string {
  const dir = process.env.E2E_DATA_DIR;
  if (!dir) throw new Error('E2E_DATA_DIR is not set (playwright.config.ts sets it)');
  return dir;
}

/**
 * The server's log of `docId`, read from its SQLite file (read-only; the server may be
 * running): its sealed blocks (decoded with the core's codec), then its unsealed rows, in
 * one read transaction so a seal cannot move events between the two reads.
 */
export function serverLog(dataDir: string, docId: string): DocEvent[] {
  const db = new Database(path.join(dataDir, 'eventide.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.transaction(() => {
      const out: DocEvent[] = [];
      for (const data of db.prepare('SELECT data FROM blocks WHERE doc_id = ? ORDER BY last_seq').pluck().all(docId) as Uint8Array[]) {
        out.push(...unwrap(decodeBlock(data)));
      }
      const rows = db
        .prepare('SELECT seq, client, client_seq, base, author, time, kind, op, meta FROM events WHERE doc_id = ? ORDER BY seq')
        .raw()
        .all(docId) as [number, string, number, number, string, number, string, string, string | null][];
      for (const [seq, client, clientSeq, base, author, time, kind, op, meta] of rows) {
        out.push({
          id: { client, clientSeq },
          seq,
          base,
          author,
          time,
          kind: kind as EventKind,
          op: JSON.parse(op) as Op,
          ...(meta !== null ? { meta: JSON.parse(meta) as DocEvent['meta'] } : {}),
        });
      }
      return out;
    })();
  } finally {
    db.close();
  }
}

/** The log holds each event once (no id twice, seqs 1..n) and replays to `text`. */
export function expectLogOnce(events: readonly DocEvent[], text: string): void {
  const ids = new Set(events.map((e) => `${e.id.client}:${e.id.clientSeq}`));
  expect(ids.size, 'no event id twice in the log').toBe(events.length);
  expect(
    events.map((e) => e.seq),
    'seqs are 1..n',
  ).toEqual(events.map((_, i) => i + 1));
  expect(replay(null, events).toString(), "the log replayed is the editors' text").toBe(text);
}
