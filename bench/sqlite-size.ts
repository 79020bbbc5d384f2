/**
 * Our "stored size": the bytes of the server's SQLite file holding the trace's whole history,
 * written as `npm run import` writes it (every event, blocks compacted, R25; the checkpoints
 * the retention rule keeps, R16) and then VACUUMed, so what is measured is what the data
 * takes, not free pages. This is what a server's disk holds for the document, the figure to
 * set beside a peer's saved document with its history.
 *
 * The detail says where the bytes go (SQLite's dbstat: pages per table and index) and the
 * file's ratio to the whole log encoded as one block (issue 13's bound is 2x). The events are
 * read back and compared with what was imported before the file is measured.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import * as core from '../shared/src/index.js';
import { importTrace } from '../server/src/import.js';
import { SqliteLogStore } from '../server/src/store/sqlite-log-store.js';
import type { Cell, TraceContext } from './peers/peer.js';

/** What `sqliteStoredSize` measured, beside the file's size (the cell's value). */
export interface SqliteSizeFigures {
  fileBytes: number;
  fileGzipBytes: number;
  /** The whole log as one block (`encodeBlock`), every field. */
  encodedWholeLog: number;
  /** fileBytes / encodedWholeLog. */
  ratioToEncoded: number;
  pageSize: number;
  /** Bytes of pages per table or index (dbstat), largest first. */
  pages: Record<string, number>;
  blocks: { count: number; bytes: number };
  checkpoints: { count: number; bytes: number };
  importMs: number;
}

/** Imports the trace into a new SQLite file in ctx.tmpDir, VACUUMs it and measures it. */
export function sqliteStoredSize(ctx: TraceContext): { size: Cell; gzip: Cell; figures: SqliteSizeFigures } {
  const file = join(ctx.tmpDir, `ours-${ctx.trace}.sqlite`);
  const docId = 'bench';
  const store = SqliteLogStore.open(file, { synchronous: 'NORMAL' });
  const t0 = performance.now();
  const r = importTrace(store, docId, ctx.patches, ctx.times, { endContent: ctx.endContent });
  const importMs = performance.now() - t0;
  if (!r.ok) throw new Error(`ours: import into SQLite failed: ${r.error.code}: ${r.error.message}`);
  const expected = core.traceToEvents(ctx.patches, { author: 'import', client: 'import', times: ctx.times });
  const back = store.range(docId, 0, expected.length);
  if (back.length !== expected.length || core.replay(null, back).toString() !== ctx.endContent) {
    throw new Error(`ours: the SQLite file gave back ${back.length} events, not the ${expected.length} imported`);
  }
  store.close();

  const db = new Database(file);
  let pages: Record<string, number>;
  let blocks: [number, number];
  let checkpoints: [number, number];
  let pageSize: number;
  try {
    db.pragma('journal_mode = DELETE'); // the whole file in one place: no WAL beside it
    db.exec('VACUUM');
    pageSize = db.pragma('page_size', { simple: true }) as number;
    const rows = db.prepare('SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC').raw().all() as [string, number][];
    pages = Object.fromEntries(rows);
    blocks = db.prepare('SELECT count(*), coalesce(sum(length(data)), 0) FROM blocks').raw().get() as [number, number];
    checkpoints = db.prepare('SELECT count(*), coalesce(sum(length(data)), 0) FROM checkpoints').raw().get() as [number, number];
  } finally {
    db.close();
  }
  const fileBytes = statSync(file).size;
  const fileGzipBytes = gzipSync(readFileSync(file)).length;
  const encodedWholeLog = core.encodeBlock(expected).length;
  const figures: SqliteSizeFigures = {
    fileBytes,
    fileGzipBytes,
    encodedWholeLog,
    ratioToEncoded: fileBytes / encodedWholeLog,
    pageSize,
    pages,
    blocks: { count: blocks[0], bytes: blocks[1] },
    checkpoints: { count: checkpoints[0], bytes: checkpoints[1] },
    importMs,
  };
  return {
    size: {
      value: fileBytes,
      status: 'ok',
      note: `SQLite file after import and VACUUM: ${blocks[0]} blocks, ${checkpoints[0]} checkpoints; ${(fileBytes / encodedWholeLog).toFixed(2)}x the whole log encoded`,
      detail: figures,
    },
    gzip: { value: fileGzipBytes, status: 'ok', note: 'the same SQLite file, gzipped' },
    figures,
  };
}
