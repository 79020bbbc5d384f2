/**
 * Importing a real sequential trace as a document's history (server/src/import.ts):
 * the log, the checkpoints every 1,000 events (all of them when the retention rule keeps
 * them, else only the ones it keeps, R16), L5 from the last checkpoint, and the command's
 * refusals.
 */
import Database from 'better-sqlite3';
import { SqliteAccessStore } from '../src/access/sqlite-access-store.js';
import { tokenHash, viewTokenOf } from '../../shared/src/index.js';
import { describe, it, expect, afterAll } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importTrace, main, STORE_FILE } from '../src/import.js';
import { SqliteLogStore } from '../src/store/sqlite-log-store.js';
import { MemoryLogStore } from '../src/store/memory-log-store.js';
import { loadTrace, flattenPatches, tracesDir, type SequentialTrace } from '../../tools/trace-file.js';
import { replay, type Result } from '../../shared/src/index.js';

const run = promisify(execFile);
const root = resolve(__dirname, '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const ff = join(tracesDir(), 'sequential', 'friendsforever_flat.json.gz');

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'eventide-import-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A retention rule that keeps every checkpoint of one per 1,000. */
const keepAll = { keepNewest: 2, thinEvery: 1000 };

async function friends(): Promise<{ trace: SequentialTrace; times: number[] }> {
  const trace = await loadTrace(ff);
  if (trace.kind !== 'sequential') throw new Error('expected a sequential trace');
  const times = trace.txns.flatMap((t) => t.patches.map(() => Date.parse(t.time) || 0));
  return { trace, times };
}

describe('importTrace', () => {
  it('imports friendsforever_flat into SQLite: head, a checkpoint every 1,000, L5 from the last one, event fields (R4, R10, L5)', async () => {
    const { trace, times } = await friends();
    const patches = flattenPatches(trace);
    const file = join(tempDir(), STORE_FILE);
    const store = SqliteLogStore.open(file, { checkpointRetention: keepAll });
    const r = importTrace(store, 'ff', patches, times, { endContent: trace.endContent, checkpointRetention: keepAll });
    expect(r).toEqual({ ok: true, value: { events: 26078, checkpoints: 26, length: trace.endContent.length } });
    store.close();

    const s = SqliteLogStore.open(file);
    const head = s.head('ff');
    expect(head).toBe(patches.length);
    expect(s.checkpointSeqs('ff', 0, head)).toEqual(Array.from({ length: 26 }, (_, i) => (i + 1) * 1000));
    const cp = s.checkpointAtOrBefore('ff', head)!;
    expect(cp.seq).toBe(26_000);
    expect(replay(cp, s.range('ff', cp.seq, head)).toString()).toBe(trace.endContent);
    // Every checkpoint is the fold of the log up to it.
    const all = s.range('ff', 0, head);
    for (const seq of [1000, 13_000, 26_000]) {
      expect(s.checkpointAtOrBefore('ff', seq + 999)).toEqual({
        docId: 'ff',
        seq,
        text: replay(null, all.slice(0, seq)).toString(),
        authorship: [{ author: 'import', length: replay(null, all.slice(0, seq)).length }],
      });
    }
    expect(replay(null, all).toString()).toBe(trace.endContent);
    const first = all[0];
    expect(first).toMatchObject({ id: { client: 'import', clientSeq: 1 }, seq: 1, base: 0, author: 'import', kind: 'edit', time: times[0] });
    expect(all[head - 1].time).toBe(times[head - 1]); // this trace's times are all the epoch; see the CLI test for real ones
    expect(s.seqOf('ff', { client: 'import', clientSeq: 12_345 })).toBe(12_345);
    expect(s.lastClientSeq('ff', 'import')).toBe(head);
    expect(s.listDocuments()).toEqual([{ docId: 'ff', head, updatedAt: times[head - 1] }]);
    s.close();
  });

  it('writes only the checkpoints the retention rule keeps: the newest two and multiples of thinEvery, each the fold of the log (R16, R10)', async () => {
    const { trace, times } = await friends();
    const patches = flattenPatches(trace);
    const file = join(tempDir(), STORE_FILE);
    const store = SqliteLogStore.open(file);
    // The default rule: the newest two of 1,000…26,000 (no multiple of 150,000 below them).
    expect(importTrace(store, 'ff', patches, times, { endContent: trace.endContent })).toEqual({
      ok: true,
      value: { events: 26078, checkpoints: 2, length: trace.endContent.length },
    });
    expect(store.checkpointSeqs('ff', 0, 26078)).toEqual([25_000, 26_000]);
    // Thinned to one per 10,000: written as they fall, never written and pruned.
    const rule = { keepNewest: 2, thinEvery: 10_000 };
    const thin = SqliteLogStore.open(join(tempDir(), STORE_FILE), { checkpointRetention: rule });
    expect(importTrace(thin, 'ff', patches, times, { checkpointRetention: rule })).toMatchObject({ ok: true, value: { checkpoints: 4 } });
    expect(thin.checkpointSeqs('ff', 0, 26078)).toEqual([10_000, 20_000, 25_000, 26_000]);
    const all = thin.range('ff', 0, 26078);
    expect(all).toEqual(store.range('ff', 0, 26078));
    for (const seq of [10_000, 20_000, 25_000, 26_000]) {
      const folded = replay(null, all.slice(0, seq));
      expect(thin.checkpointAtOrBefore('ff', seq)).toEqual({ docId: 'ff', seq, text: folded.toString(), authorship: folded.authorship() });
    }
    thin.close();
    store.close();
  });

  it('refuses a document with events, an empty trace, a patch outside the document, a wrong endContent; writes nothing then (R10)', async () => {
    const s = new MemoryLogStore();
    const bad = (r: Result<unknown>, code: string) => expect(!r.ok && r.error.code).toBe(code);
    bad(importTrace(s, 'a', [], []), 'trace-invalid');
    bad(importTrace(s, 'a', [[0, 0, 'ab'], [5, 1, '']], [0, 0]), 'trace-invalid');
    bad(importTrace(s, 'a', [[0, 0, 'ab']], [0], { endContent: 'abc' }), 'trace-mismatch');
    expect(s.head('a')).toBe(0);
    expect(importTrace(s, 'a', [[0, 0, 'ab']], [7], { endContent: 'ab' })).toEqual({ ok: true, value: { events: 1, checkpoints: 0, length: 2 } });
    bad(importTrace(s, 'a', [[0, 0, 'cd']], [0]), 'doc-not-empty');
    expect(s.range('a', 0, 10).map((e) => e.op)).toEqual([['ab']]);
  });

  it('chunks and checkpoints at the boundaries: chunk 7, every 3, 20 events', () => {
    const every3 = { keepNewest: 2, thinEvery: 3 };
    const s = new MemoryLogStore({ checkpointRetention: every3 });
    const patches = Array.from({ length: 20 }, (_, i) => [i, 0, String.fromCharCode(97 + i)] as [number, number, string]);
    const r = importTrace(s, 'a', patches, [], { chunk: 7, checkpointEvery: 3, checkpointRetention: every3 });
    expect(r).toEqual({ ok: true, value: { events: 20, checkpoints: 6, length: 20 } });
    expect(s.checkpointSeqs('a', 0, 20)).toEqual([3, 6, 9, 12, 15, 18]);
    for (const seq of [3, 6, 9, 12, 15, 18]) expect(s.checkpointAtOrBefore('a', seq)?.text).toBe('abcdefghijklmnopqrst'.slice(0, seq));
    // Thinned to multiples of 6 (R16): 6 and 12, and the newest two, 15 and 18.
    const every6 = { keepNewest: 2, thinEvery: 6 };
    const t = new MemoryLogStore({ checkpointRetention: every6 });
    expect(importTrace(t, 'a', patches, [], { chunk: 7, checkpointEvery: 3, checkpointRetention: every6 })).toEqual({ ok: true, value: { events: 20, checkpoints: 4, length: 20 } });
    expect(t.checkpointSeqs('a', 0, 20)).toEqual([6, 12, 15, 18]);
    for (const seq of [6, 12, 15, 18]) expect(t.checkpointAtOrBefore('a', seq)?.text).toBe('abcdefghijklmnopqrst'.slice(0, seq));
    expect(t.range('a', 0, 20)).toEqual(s.range('a', 0, 20));
  });
});

describe('npm run import', () => {
  it('imports into <DATA_DIR>/eventide.sqlite, prints a summary line, refuses a second import and a missing file (R10, R25)', async () => {
    const data = tempDir();
    const { stdout } = await run('npm', ['run', '-s', 'import', '--', '--doc', 'ff', ff, '--data', data], { cwd: root });
    const line = JSON.parse(stdout.trim());
    expect(Object.keys(line)).toEqual(['doc', 'file', 'events', 'checkpoints', 'length', 'ms', 'store', 'edit', 'view']);
    // The links: the default origin, a fresh edit token, its view token; only hashes stored.
    expect(line.edit).toMatch(/^http:\/\/localhost:\d+\/d\/ff#edit=[A-Za-z0-9_-]{32}$/);
    const editToken = String(line.edit).split('#edit=')[1];
    expect(line.view).toBe(`${String(line.edit).split('#')[0]}#view=${viewTokenOf(editToken)}`);
    const acc = SqliteAccessStore.open(join(data, 'access.sqlite'));
    expect(acc.get('ff')).toMatchObject({ editHash: tokenHash(editToken), viewHash: tokenHash(viewTokenOf(editToken)) });
    acc.close();
    // Checkpoints: the two the retention rule keeps of one every 1,000 (R16).
    expect(line).toMatchObject({ doc: 'ff', file: ff, events: 26078, checkpoints: 2, length: 21362, store: join(data, 'eventide.sqlite') });
    expect(line.ms).toBeGreaterThan(0);
    // The import wrote blocks, not rows: 26 blocks of 1,000 and the last 78 events as one more,
    // then settled the document (R25): merged into a block of 16,000 and one of the 10,078 left.
    const raw = new Database(join(data, 'eventide.sqlite'), { readonly: true });
    expect(raw.prepare(`SELECT first_seq, last_seq FROM blocks WHERE doc_id = 'ff' ORDER BY last_seq`).raw().all()).toEqual([
      [1, 16000],
      [16001, 26078],
    ]);
    expect(raw.prepare(`SELECT count(*) FROM events WHERE doc_id = 'ff'`).pluck().get()).toBe(0);
    expect(raw.prepare(`SELECT count(*) FROM checkpoints WHERE typeof(data) <> 'blob'`).pluck().get()).toBe(0);
    expect(raw.prepare(`SELECT seq FROM checkpoints WHERE doc_id = 'ff' ORDER BY seq`).pluck().all()).toEqual([25_000, 26_000]);
    raw.close();

    // DATA_DIR from the environment, the same file: the document is there already.
    const again = await run(tsx, ['server/src/import.ts', '--doc', 'ff', ff], { cwd: root, env: { ...process.env, DATA_DIR: data } }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(again?.code).toBe(1);
    expect(again?.stderr).toMatch(/document "ff" already has 26078 events/);

    const missing = join(data, 'missing.json.gz');
    const gone = await run(tsx, ['server/src/import.ts', '--doc', 'other', missing, '--data', data], { cwd: root }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(gone?.code).toBe(1);
    expect(gone?.stderr).toContain(`${missing}: cannot read trace file`);

    const s = SqliteLogStore.open(join(data, 'eventide.sqlite'));
    expect(s.listDocuments().map((d) => [d.docId, d.head])).toEqual([['ff', 26078]]);
    s.close();
  });

  it('takes the time of each event from its txn (Date.parse; 0 when missing or invalid), .json files too', async () => {
    const data = tempDir();
    const file = join(data, 'small.json');
    const txns = [
      { time: '2021-04-19T06:06:58.219Z', patches: [[0, 0, 'héllo 😀'], [5, 0, '!']] },
      { time: 'not a time', patches: [[0, 1, 'H']] },
      { patches: [[9, 0, ' wörld']] },
    ];
    writeFileSync(file, JSON.stringify({ startContent: '', endContent: 'Héllo! 😀 wörld', txns }));
    const { stdout } = await run(tsx, ['server/src/import.ts', '--doc=small', file, `--data=${data}`], { cwd: root });
    expect(JSON.parse(stdout)).toMatchObject({ doc: 'small', events: 4, checkpoints: 0, length: 'Héllo! 😀 wörld'.length });
    const s = SqliteLogStore.open(join(data, 'eventide.sqlite'));
    const t = Date.parse('2021-04-19T06:06:58.219Z');
    expect(s.range('small', 0, 10).map((e) => e.time)).toEqual([t, t, 0, 0]);
    expect(replay(null, s.range('small', 0, 10)).toString()).toBe('Héllo! 😀 wörld');
    s.close();
  });

  it('refuses a concurrent trace, a broken file, non-empty startContent and bad arguments (exit 1), without storing anything (R10)', async () => {
    const data = tempDir();
    const broken = join(data, 'broken.json');
    writeFileSync(broken, '{"txns": [');
    const started = join(data, 'started.json');
    writeFileSync(started, JSON.stringify({ startContent: 'x', endContent: 'xy', txns: [{ time: '', patches: [[1, 0, 'y']] }] }));
    const cases: [string[], RegExp][] = [
      [['--doc', 'c', join(tracesDir(), 'concurrent', 'friendsforever.json.gz')], /concurrent trace; only sequential/],
      [['--doc', 'b', broken], /broken\.json: trace is not valid JSON/],
      [['--doc', 's', started], /starts from non-empty content/],
      [[ff], /missing --doc/],
      [['--doc', 'x'], /exactly one trace file/],
      [['--doc', 'x', ff, ff], /exactly one trace file, got 2/],
      [['--doc', 'x', ff, '--frobnicate'], /unknown option --frobnicate/],
      [['--doc', 'x', ff, '--data'], /--data needs a value/],
    ];
    for (const [args, message] of cases) {
      const out: string[] = [];
      const errs: string[] = [];
      const code = await main([...args, '--data', data], {}, { out: (l) => out.push(l), err: (l) => errs.push(l) });
      expect(code, args.join(' ')).toBe(1);
      expect(out).toEqual([]);
      expect(errs.join('')).toMatch(message);
    }
    const s = SqliteLogStore.open(join(data, 'eventide.sqlite'));
    expect(s.listDocuments()).toEqual([]);
    s.close();
  });
});
