import path from 'node:path';
import { expect } from '@playwright/test';
import { replay, type DocEvent } from '../shared/src/index.js';
import { readLog } from '../server/test/helpers/stored-log.js';

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

/** The server's log of `docId`, read from its SQLite file (read-only; the server may be running). */
export function serverLog(dataDir: string, docId: string): DocEvent[] {
  return readLog(path.join(dataDir, 'eventide.sqlite'), docId);
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
