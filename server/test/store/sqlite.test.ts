/**
 * The LogStore contract on SQLite (a fresh file in its own temp dir per test), then what
 * only a file can show: durability across close and reopen, a full disk and a real OS
 * write error (store-failed, nothing stored, still readable), corrupt rows (a clear
 * error naming doc and seq), a second writer on the same file, and SIGKILL at random
 * moments (every acknowledged seq survives exactly once, L1/L2), with sealing going on;
 * sealed blocks: deferred and inline sealing, a seal that hits a full disk, a damaged block.
 */
import { describe, it, expect, afterAll } from 'vitest';
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteLogStore, CorruptEventError, SCHEMA_VERSION } from '../../src/store/sqlite-log-store.js';
import { checkpointOf, replay, type DocEvent, type Result } from '../../../shared/src/index.js';
import { logStoreContract, ev, evs } from './contract.js';
import { readLog } from '../helpers/server-process.js';
import { Random } from '../../../shared/test/sim/random.js';
import { runKilledChild, type ChildResult } from '../helpers/killed-child.js';

const root = resolve(__dirname, '..', '..', '..');
const storeUrl = pathToFileURL(join(root, 'server', 'src', 'store', 'sqlite-log-store.ts')).href;
const sharedUrl = pathToFileURL(join(root, 'shared', 'src', 'index.ts')).href;

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-store-'));
  dirs.push(dir);
  return join(dir, 'eventide.sqlite');
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

logStoreContract('SqliteLogStore', (options) => SqliteLogStore.open(tempFile(), options));
// The same contract with most of every log in sealed blocks: a block every 3 events,
// sealed before append returns, so every read and id check crosses blocks and rows.
logStoreContract('SqliteLogStore sealing every 3 events', (options) => SqliteLogStore.open(tempFile(), { ...options, sealEvery: 3, sealing: 'inline' }));

function failed(r: Result<null>): string {
  if (r.ok) throw new Error('expected store-failed, got ok');
  expect(r.error.code).toBe('store-failed');
  return r.error.message;
}

describe('SqliteLogStore on disk', () => {
  it('uses WAL with synchronous FULL and creates its folder (R3)', async () => {
    const file = join(tempFile(), '..', 'nested', 'deeper', 'eventide.sqlite');
    const s = SqliteLogStore.open(file);
    expect(s.settings()).toEqual({ file, journalMode: 'wal', synchronous: 'FULL' });
    await s.close();
    await s.close(); // twice is fine
  });

  it('keeps everything across close and reopen: events, heads, ids (L3), checkpoints, listing', async () => {
    const file = tempFile();
    let s = SqliteLogStore.open(file);
    const log = evs(0, 5, (q) => ({ id: { client: q % 2 ? 'x' : 'y', clientSeq: Math.ceil(q / 2) }, meta: { q } }));
    await s.append('a', 0, log);
    await s.appendMany([
      { docId: 'a', expectedHead: 5, events: [ev(6, { id: { client: 'x', clientSeq: 4 }, time: 9 })] },
      { docId: 'b', expectedHead: 0, events: evs(0, 2) },
    ]);
    const cp = checkpointOf('a', 3, replay(null, log.slice(0, 3)));
    await s.putCheckpoint(cp);
    const before = { a: await s.range('a', 0, 100), b: await s.range('b', 0, 100), docs: await s.listDocuments() };
    await s.close();

    s = SqliteLogStore.open(file);
    expect(await s.head('a')).toBe(6);
    expect(await s.head('b')).toBe(2);
    expect(await s.range('a', 0, 100)).toStrictEqual(before.a);
    expect(await s.range('b', 0, 100)).toStrictEqual(before.b);
    expect(await s.listDocuments()).toEqual(before.docs);
    expect(await s.seqOf('a', { client: 'x', clientSeq: 3 })).toBe(5);
    expect(await s.seqOf('a', { client: 'y', clientSeq: 2 })).toBe(4);
    expect(await s.seqOf('a', { client: 'x', clientSeq: 4 })).toBe(6);
    expect(await s.lastClientSeq('a', 'x')).toBe(4);
    expect(await s.lastClientSeq('a', 'y')).toBe(2);
    expect(await s.lastClientSeq('b', 'c1')).toBe(2);
    expect(await s.checkpointAtOrBefore('a', 6)).toEqual(cp);
    expect(await s.checkpointSeqs('a', 0, 6)).toEqual([3]);
    // Appending goes on where it stopped, and a duplicate id is still refused (L3).
    expect((await s.append('a', 6, [ev(7, { id: { client: 'x', clientSeq: 5 } })])).ok).toBe(true);
    await expect(s.append('a', 7, [ev(8, { id: { client: 'y', clientSeq: 1 } })])).rejects.toThrow(/L3/);
    expect(await s.head('a')).toBe(7);
    await s.close();
  });

  it('a full disk (max_page_count): append, appendMany and putCheckpoint are store-failed, nothing stored, reads and small writes still work (R7)', async () => {
    const file = tempFile();
    let s = SqliteLogStore.open(file);
    await s.append('a', 0, evs(0, 3));
    await s.close();
    const raw = new Database(file);
    const pages = raw.pragma('page_count', { simple: true }) as number;
    raw.close();

    s = SqliteLogStore.open(file, { maxPageCount: pages + 3 });
    const big = evs(3, 300, () => ({ op: ['z'.repeat(1000)] }));
    const msg = failed(await s.append('a', 3, big));
    expect(msg).toContain('SQLITE_FULL');
    expect(await s.head('a')).toBe(3);
    expect(await s.range('a', 0, 1000)).toEqual(evs(0, 3));
    expect(await s.seqOf('a', { client: 'c1', clientSeq: 4 })).toBeUndefined();

    failed(
      await s.appendMany([
        { docId: 'b', expectedHead: 0, events: [ev(1)] },
        { docId: 'a', expectedHead: 3, events: big },
      ]),
    );
    expect(await s.head('b')).toBe(0);
    expect((await s.listDocuments()).map((d) => d.docId)).toEqual(['a']);

    // Text deflate cannot shrink to nothing: checkpoints are stored compressed.
    const huge = { docId: 'a', seq: 3, text: noisy(5, 200_000), authorship: [{ author: 'ann', length: 200_000 }] };
    expect(failed(await s.putCheckpoint(huge))).toContain('SQLITE_FULL');
    expect(await s.checkpointAtOrBefore('a', 3)).toBeNull();

    // Room for a small append is still there: the store is usable.
    expect((await s.append('a', 3, [ev(4)])).ok).toBe(true);
    expect(await s.head('a')).toBe(4);
    await s.close();
    s = SqliteLogStore.open(file);
    expect(await s.range('a', 0, 1000)).toEqual(evs(0, 4));
    await s.close();
  });

  it.skipIf(spawnSync('bash', ['-c', 'ulimit -f 64']).status !== 0)(
    'a real write error from the OS (file size limit, ulimit -f): store-failed, nothing stored, the process keeps serving',
    async () => {
      const file = tempFile();
      const child = join(file, '..', 'write-error.mjs');
      writeFileSync(
        child,
        `process.on('SIGXFSZ', () => {});
const { SqliteLogStore } = await import(${JSON.stringify(storeUrl)});
const s = SqliteLogStore.open(process.argv[2]);
const mk = (seq, text) => ({ id: { client: 'c', clientSeq: seq }, seq, base: seq - 1, author: 'a', time: 1, op: [text], kind: 'edit' });
let head = 0, r;
for (;;) {
  r = await s.append('a', head, Array.from({ length: 20 }, (_, i) => mk(head + i + 1, 'z'.repeat(1000))));
  if (!r.ok) break;
  head += 20;
}
const after = { head: await s.head('a'), n: (await s.range('a', 0, 1e9)).length };
const small = await s.append('a', head, [mk(head + 1, 'x')]);
console.log(JSON.stringify({ r, acked: head, after, small: small.ok, final: await s.head('a') }));
await s.close();
`,
      );
      const out = await runChild('bash', ['-c', `ulimit -f 256; exec node --import tsx ${JSON.stringify(child)} ${JSON.stringify(file)}`]);
      expect(out.code, out.stderr).toBe(0);
      const res = JSON.parse(out.stdout.trim().split('\n').pop()!);
      expect(res.r.ok).toBe(false);
      expect(res.r.error.code).toBe('store-failed');
      expect(res.r.error.message).toMatch(/SQLITE_(IOERR|FULL)/);
      expect(res.after).toEqual({ head: res.acked, n: res.acked });
      expect(res.small).toBe(true);
      expect(res.final).toBe(res.acked + 1);
      const s = SqliteLogStore.open(file);
      expect(await s.head('a')).toBe(res.acked + 1);
      expect((await s.range('a', 0, 1e9)).map((e) => e.seq)).toEqual(Array.from({ length: res.acked + 1 }, (_, i) => i + 1));
      await s.close();
    },
  );

  it('a locked file (another connection holds the write lock past the busy timeout) is store-failed, nothing stored (R7)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file, { busyTimeoutMs: 50 });
    await s.append('a', 0, evs(0, 2));
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    expect(failed(await s.append('a', 2, [ev(3)]))).toContain('SQLITE_BUSY');
    expect(failed(await s.putCheckpoint(checkpointOf('a', 2, replay(null, evs(0, 2)))))).toContain('SQLITE_BUSY');
    expect(await s.head('a')).toBe(2); // reads are not blocked (WAL)
    other.exec('ROLLBACK');
    other.close();
    expect((await s.append('a', 2, [ev(3)])).ok).toBe(true);
    await s.close();
  });

  it('two stores on one file (server and import): the head is checked inside the write transaction (R9)', async () => {
    const file = tempFile();
    const one = SqliteLogStore.open(file);
    const two = SqliteLogStore.open(file);
    expect((await one.append('a', 0, evs(0, 2))).ok).toBe(true);
    const r = await two.append('a', 0, evs(0, 1, () => ({ id: { client: 'other', clientSeq: 1 } })));
    expect(!r.ok && r.error.code).toBe('head-mismatch');
    expect(await two.head('a')).toBe(2);
    expect((await two.append('a', 2, [ev(3)])).ok).toBe(true);
    expect(await one.range('a', 0, 10)).toEqual(evs(0, 3));
    await one.close();
    await two.close();
  });

  it('a corrupt row throws CorruptEventError naming doc and seq; the rows before it and other calls still work (R6)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file);
    await s.append('doc-x', 0, evs(0, 6));
    const raw = new Database(file);
    const damage = (seq: number, sql: string) => raw.prepare(`UPDATE events SET ${sql} WHERE doc_id = 'doc-x' AND seq = ?`).run(seq);
    const expectCorrupt = async (from: number, to: number, seq: number, detail: RegExp) => {
      let thrown: unknown;
      try {
        await s.range('doc-x', from, to);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(CorruptEventError);
      const e = thrown as CorruptEventError;
      expect(e.docId).toBe('doc-x');
      expect(e.seq).toBe(seq);
      expect(e.message).toContain(`"doc-x", seq ${seq}`);
      expect(e.message).toMatch(detail);
    };

    damage(2, `op = '["abc'`);
    await expectCorrupt(0, 6, 2, /op is not JSON/);
    expect(await s.range('doc-x', 0, 1)).toEqual(evs(0, 1));
    expect(await s.range('doc-x', 2, 6)).toEqual(evs(2, 4));
    expect(await s.head('doc-x')).toBe(6);
    expect(await s.seqOf('doc-x', { client: 'c1', clientSeq: 2 })).toBe(2);

    damage(2, `op = '[3]'`); // JSON, but not a canonical op
    await expectCorrupt(0, 6, 2, /op: .*must not end with a retain/);
    damage(2, `op = '["ok"]', kind = 'explode'`);
    await expectCorrupt(1, 3, 2, /unknown kind "explode"/);
    damage(2, `kind = 'edit', meta = '[1'`);
    await expectCorrupt(1, 3, 2, /meta is not JSON/);
    damage(2, `meta = '[1]'`);
    await expectCorrupt(1, 3, 2, /meta must be an object/);
    damage(2, `meta = NULL, author = x'00ff'`); // a blob where text belongs
    await expectCorrupt(1, 3, 2, /author/);
    damage(2, `author = 'ann'`);
    expect(await s.range('doc-x', 0, 6)).toHaveLength(6);

    raw.prepare(`DELETE FROM events WHERE doc_id = 'doc-x' AND seq = 4`).run();
    await expectCorrupt(0, 6, 4, /missing/);
    expect(await s.range('doc-x', 0, 3)).toHaveLength(3);
    raw.close();
    await s.close();
  });

  it('a checkpoint that does not decode is skipped: an older one (or none) is used, never a wrong one (R4)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file);
    const log = evs(0, 9);
    await s.append('a', 0, log);
    await s.putCheckpoint(checkpointOf('a', 3, replay(null, log.slice(0, 3))));
    await s.putCheckpoint(checkpointOf('a', 6, replay(null, log.slice(0, 6))));
    const raw = new Database(file);
    raw.prepare(`UPDATE checkpoints SET data = '{"v":1,' WHERE seq = 6`).run();
    expect((await s.checkpointAtOrBefore('a', 9))?.seq).toBe(3);
    // Valid JSON for another seq in the row for seq 3: not used either.
    raw.prepare('UPDATE checkpoints SET data = ? WHERE seq = 3').run(JSON.stringify({ v: 1, docId: 'a', seq: 2, text: '', authors: [], runs: [] }));
    expect(await s.checkpointAtOrBefore('a', 9)).toBeNull();
    expect(await s.checkpointSeqs('a', 0, 9)).toEqual([3, 6]); // listed; atOrBefore decides whether they are usable
    raw.close();
    await s.close();
  });

  it('refuses a file with a newer schema, or one that is not a database, when opening (R5)', async () => {
    const file = tempFile();
    SqliteLogStore.open(file).close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => SqliteLogStore.open(file)).toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1}`));
    const junk = tempFile();
    writeFileSync(junk, 'this is not a database, just some text that is long enough to look like a header'.repeat(100));
    expect(() => SqliteLogStore.open(junk)).toThrow(/not a database/);
  });

  it('SIGKILL at random moments: every acknowledged seq is stored exactly once, seqs contiguous, appendMany atomic across documents (L1, L2, R2, R12)', async () => {
    const seed = Number(process.env.STORE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`crash test seed ${seed} (STORE_CRASH_SEED=${seed} repeats it)`);
    const rnd = mulberry32(seed);
    const file = tempFile();
    const child = join(file, '..', 'crash-child.mjs');
    writeFileSync(child, crashChild);
    let acked = 0;
    let rounds = 0;
    for (let round = 0; round < 10; round++) {
      const delay = Math.floor(rnd() * 400);
      const out = await runChild('node', ['--import', 'tsx', child, file, String(seed + round)], { killAfterReadyMs: delay });
      expect(out.signal, `round ${round} (seed ${seed}): child ended by itself: ${out.stderr}`).toBe('SIGKILL');
      const lines = out.stdout.split('\n');
      lines.pop(); // an unfinished last line is not an acknowledgement
      const ready = lines.shift();
      expect(ready).toBe(`ready ${acked}`);
      const seen: number[] = [];
      for (const line of lines) for (const n of line.split(' ')) seen.push(Number(n));
      // The child acknowledges in order, continuing from what it found on disk.
      expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => acked + i + 1));
      if (seen.length > 0) acked = seen[seen.length - 1];

      // As the kill left it, read with plain SQL: every seq in exactly one place, a block or a row.
      const asLeft = readLog(file, 'crash');
      expect(asLeft.length).toBeGreaterThanOrEqual(acked);
      const s = SqliteLogStore.open(file, { sealEvery: 40 });
      const head = await s.head('crash');
      expect(head).toBe(asLeft.length);
      expect(await s.head('crash-b')).toBe(head);
      const all = await s.range('crash', 0, head);
      expect(all.map((e: DocEvent) => e.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1));
      for (let q = 1; q <= acked; q++) expect(await s.seqOf('crash', { client: 'w', clientSeq: q })).toBe(q);
      const cp = await s.checkpointAtOrBefore('crash', head);
      if (cp !== null) expect(replay(cp, await s.range('crash', cp.seq, head)).toString()).toBe(replay(null, all).toString());
      await s.close();
      acked = head; // committed but not yet printed is stored too: the next child continues from it
      rounds++;
    }
    expect(rounds).toBe(10);
    expect(acked).toBeGreaterThan(0);
    const raw = new Database(file, { readonly: true });
    const blocks = raw.prepare(`SELECT count(*) FROM blocks WHERE doc_id = 'crash'`).pluck().get() as number;
    // Events in blocks, not blocks: compaction (R25) merges runs of sealed blocks once they reach
    // 16,384 events, so a long run ends with few, large blocks.
    const sealed = (raw.prepare(`SELECT coalesce(sum(last_seq - first_seq + 1), 0) FROM blocks WHERE doc_id = 'crash'`).pluck().get() as number) ?? 0;
    raw.close();
    expect(sealed).toBeGreaterThanOrEqual(acked - 2 * 40); // sealing went on through the kills: at most the unsealed rows are left
    console.log(`crash test: 10 SIGKILLs, ${acked} events in the log (${sealed} in ${blocks} blocks), none lost or doubled`);
  }, 180_000);
});

/** Blocks and rows of `docId`, counted with plain SQL. */
function parts(file: string, docId: string): { blocks: [number, number][]; rows: number } {
  const raw = new Database(file, { readonly: true });
  try {
    return {
      blocks: raw.prepare('SELECT first_seq, last_seq FROM blocks WHERE doc_id = ? ORDER BY last_seq').raw().all(docId) as [number, number][],
      rows: raw.prepare('SELECT count(*) FROM events WHERE doc_id = ?').pluck().get(docId) as number,
    };
  } finally {
    raw.close();
  }
}

/** Text that deflate cannot shrink much (seeded letters), so blocks take real pages. */
function noisy(seed: number, n: number): string {
  const rnd = mulberry32(seed);
  let t = '';
  for (let i = 0; i < n; i++) t += String.fromCharCode(97 + Math.floor(rnd() * 26));
  return t;
}

describe('SqliteLogStore sealed blocks', () => {
  it('the append writes rows only; 1,000 unsealed events are sealed into one block on the next turn, after the append returned (L2, R13)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file);
    const log = evs(0, 1001, (q) => ({ id: { client: q % 3 ? 'x' : 'y', clientSeq: q } }));
    expect((await s.append('a', 0, log.slice(0, 999))).ok).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(parts(file, 'a')).toEqual({ blocks: [], rows: 999 });
    expect((await s.append('a', 999, log.slice(999))).ok).toBe(true);
    expect(parts(file, 'a')).toEqual({ blocks: [], rows: 1001 }); // the ack's write is the rows alone
    await new Promise((r) => setImmediate(r));
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 1000]], rows: 1 });
    expect(await s.range('a', 0, 2000)).toEqual(log);
    expect(await s.range('a', 998, 1001)).toEqual(log.slice(998));
    expect(await s.seqOf('a', { client: 'y', clientSeq: 999 })).toBe(999);
    expect(await s.lastClientSeq('a', 'y')).toBe(999);
    expect(await s.lastClientSeq('a', 'x')).toBe(1001);
    await expect(s.append('a', 1001, [ev(1002, { id: { client: 'x', clientSeq: 500 } })])).rejects.toThrow(/L3/);
    await s.close();
  });

  it('appendSealed (the import) writes blocks and their id index in one transaction, no rows; same checks as append (L1, L3, R1)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file, { sealEvery: 3 });
    const log = evs(0, 10, (q) => ({ id: { client: q % 2 ? 'x' : 'y', clientSeq: q } }));
    expect(await s.appendSealed('a', 1, log.slice(0, 7))).toMatchObject({ ok: false, error: { code: 'head-mismatch' } });
    // An id twice in one call, or one already in the log, is a caller's bug: nothing stored.
    const twice = [ev(1, { id: { client: 'x', clientSeq: 1 } }), ev(2, { id: { client: 'x', clientSeq: 1 } })];
    await expect(s.appendSealed('a', 0, twice)).rejects.toThrow(/L3/);
    await expect(s.appendSealed('a', 0, [ev(2)])).rejects.toThrow(/L1/);
    expect(parts(file, 'a')).toEqual({ blocks: [], rows: 0 });
    expect(await s.appendSealed('a', 0, log.slice(0, 7))).toEqual({ ok: true, value: null });
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 3], [4, 6], [7, 7]], rows: 0 });
    expect(await s.head('a')).toBe(7);
    expect(await s.range('a', 0, 7)).toEqual(log.slice(0, 7));
    expect(await s.seqOf('a', { client: 'y', clientSeq: 4 })).toBe(4);
    expect(await s.lastClientSeq('a', 'x')).toBe(7);
    await expect(s.appendSealed('a', 7, [ev(8, { id: { client: 'x', clientSeq: 5 } })])).rejects.toThrow(/L3/);
    // Appends go on as rows after the blocks; blocks cannot follow rows (a bug: nothing stored).
    expect((await s.append('a', 7, log.slice(7, 8))).ok).toBe(true);
    await expect(s.appendSealed('a', 8, log.slice(8))).rejects.toThrow(/are rows/);
    expect(await s.head('a')).toBe(8);
    expect(await s.range('a', 0, 10)).toEqual(log.slice(0, 8));
    await s.close();
  });

  it('a backlog of due seals goes one block per turn of the event loop, documents in turn (acks never wait behind more than one seal) (R13)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file, { sealEvery: 10 });
    await s.appendMany([
      { docId: 'a', expectedHead: 0, events: evs(0, 25) },
      { docId: 'b', expectedHead: 0, events: evs(0, 21) },
    ]);
    const tick = () => new Promise((r) => setImmediate(r));
    const count = () => parts(file, 'a').blocks.length + parts(file, 'b').blocks.length;
    await tick();
    expect(count()).toBe(1);
    await tick();
    expect([parts(file, 'a').blocks, parts(file, 'b').blocks]).toEqual([[[1, 10]], [[1, 10]]]);
    for (let i = 0; i < 4; i++) await tick();
    expect([parts(file, 'a'), parts(file, 'b')]).toEqual([
      { blocks: [[1, 10], [11, 20]], rows: 5 },
      { blocks: [[1, 10], [11, 20]], rows: 1 },
    ]);
    await s.close();
  });

  it('a document idle for idleSealMs has its remaining rows sealed as a shorter block, merged with the small blocks before it; appends go on after it (L1, L3, R12, R25)', async () => {
    const file = tempFile();
    // Margins of 250 ms either way: a timer that fires late on a busy machine changes nothing.
    const s = SqliteLogStore.open(file, { sealEvery: 10, idleSealMs: 1000 });
    const t0 = Date.now();
    await s.append('a', 0, evs(0, 13));
    await s.append('b', 0, evs(0, 2));
    await new Promise((r) => setTimeout(r, 500));
    await s.append('b', 2, [ev(3)]); // b is not idle yet when a is
    await new Promise((r) => setTimeout(r, 1250 - (Date.now() - t0)));
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 13]], rows: 0 });
    if (Date.now() - t0 < 1400) expect(parts(file, 'b')).toEqual({ blocks: [], rows: 3 });
    await new Promise((r) => setTimeout(r, 500));
    expect(parts(file, 'b')).toEqual({ blocks: [[1, 3]], rows: 0 });
    await s.append('a', 13, evs(13, 11));
    await new Promise((r) => setImmediate(r));
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 13], [14, 23]], rows: 1 });
    expect(await s.range('a', 0, 100)).toEqual(evs(0, 24));
    expect(await s.range('a', 12, 15)).toEqual(evs(12, 3));
    expect(await s.seqOf('a', { client: 'c1', clientSeq: 12 })).toBe(12);
    await expect(s.append('a', 24, [ev(25, { id: { client: 'c1', clientSeq: 13 } })])).rejects.toThrow(/L3/);
    await s.close();
  });

  it('a store closed (or killed) before a due seal seals it when next opened; close seals what is due', async () => {
    const file = tempFile();
    let s = SqliteLogStore.open(file, { sealEvery: 100_000 });
    await s.append('a', 0, evs(0, 25));
    await s.close();
    expect(parts(file, 'a')).toEqual({ blocks: [], rows: 25 });
    s = SqliteLogStore.open(file, { sealEvery: 10 });
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 10], [11, 20]], rows: 5 });
    await s.append('a', 25, evs(25, 6)); // due, deferred
    await s.close();
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 10], [11, 20], [21, 30]], rows: 1 });
    s = SqliteLogStore.open(file);
    expect(await s.range('a', 0, 100)).toEqual(evs(0, 31));
    await s.close();
  });

  it('a seal that hits a full disk at open keeps the rows and reports it; nothing is lost, and a later open seals them (R15)', async () => {
    const file = tempFile();
    let s = SqliteLogStore.open(file, { sealEvery: 100_000 });
    const log = evs(0, 60, (q) => ({ op: [noisy(q, 1000)] }));
    await s.append('a', 0, log);
    await s.close();
    const raw = new Database(file);
    const pages = raw.pragma('page_count', { simple: true }) as number;
    raw.close();
    const errors: string[] = [];
    s = SqliteLogStore.open(file, { sealEvery: 50, maxPageCount: pages, onSealError: (m) => errors.push(m) });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/finishing the layout stopped, to be resumed at the next open .*SQLITE_FULL/);
    expect(parts(file, 'a')).toEqual({ blocks: [], rows: 60 });
    expect(await s.range('a', 0, 100)).toEqual(log);
    expect(await s.seqOf('a', { client: 'c1', clientSeq: 7 })).toBe(7);
    await s.close();
    s = SqliteLogStore.open(file, { sealEvery: 50 });
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 50]], rows: 10 });
    expect(await s.range('a', 0, 100)).toEqual(log);
    await s.close();
  });

  it('a deferred seal that finds the file locked keeps the rows and reports it; the next append of the document seals (R15)', async () => {
    const file = tempFile();
    const errors: string[] = [];
    const s = SqliteLogStore.open(file, { sealEvery: 10, busyTimeoutMs: 50, onSealError: (m) => errors.push(m) });
    expect((await s.append('a', 0, evs(0, 12))).ok).toBe(true);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    await new Promise((r) => setImmediate(r));
    other.exec('ROLLBACK');
    other.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/sealing "a" failed, its events stay rows: SQLITE_BUSY/);
    expect(parts(file, 'a')).toEqual({ blocks: [], rows: 12 });
    expect(await s.range('a', 0, 100)).toEqual(evs(0, 12));
    expect((await s.append('a', 12, [ev(13)])).ok).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(parts(file, 'a')).toEqual({ blocks: [[1, 10]], rows: 3 });
    expect(await s.range('a', 0, 100)).toEqual(evs(0, 13));
    await s.close();
  });

  it('a damaged or missing block throws CorruptEventError naming doc and seq; rows after it and other calls still work (R6)', async () => {
    const file = tempFile();
    const s = SqliteLogStore.open(file, { sealEvery: 4, sealing: 'inline' });
    await s.append('doc-x', 0, evs(0, 10));
    expect(parts(file, 'doc-x')).toEqual({ blocks: [[1, 4], [5, 8]], rows: 2 });
    const raw = new Database(file);
    const corrupt = async (from: number, to: number): Promise<CorruptEventError> => {
      try {
        await s.range('doc-x', from, to);
      } catch (e) {
        expect(e).toBeInstanceOf(CorruptEventError);
        return e as CorruptEventError;
      }
      throw new Error('expected CorruptEventError');
    };
    raw.prepare(`UPDATE blocks SET data = x'00ff00ff' WHERE doc_id = 'doc-x' AND last_seq = 8`).run();
    const e = await corrupt(0, 10);
    expect([e.docId, e.seq]).toEqual(['doc-x', 5]);
    expect(e.message).toContain('"doc-x", seq 5');
    expect(await s.range('doc-x', 0, 4)).toEqual(evs(0, 4));
    expect(await s.range('doc-x', 8, 10)).toEqual(evs(8, 2));
    expect(await s.head('doc-x')).toBe(10);
    expect(await s.seqOf('doc-x', { client: 'c1', clientSeq: 2 })).toBe(2);
    raw.prepare(`DELETE FROM blocks WHERE doc_id = 'doc-x' AND last_seq = 8`).run();
    expect((await corrupt(0, 10)).message).toMatch(/seq 5: corrupt event: missing/);
    raw.close();
    await s.close();
  });
});

/**
 * The crash child: appends random batches to two documents at once (appendMany), puts a
 * checkpoint now and then, and prints each batch's seqs once append returned ok.
 */
const crashChild = `import { writeSync } from 'node:fs';
const { SqliteLogStore } = await import(${JSON.stringify(storeUrl)});
const { replay, checkpointOf } = await import(${JSON.stringify(sharedUrl)});
const [file, seedText] = process.argv.slice(2);
let x = Number(seedText) >>> 0;
const rnd = () => { x = (x + 0x6d2b79f5) >>> 0; let t = x; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
// Blocks of 40, sealed before append returns: kills land in seals too.
const s = SqliteLogStore.open(file, { sealEvery: 40, sealing: 'inline' });
let head = await s.head('crash');
const cp = await s.checkpointAtOrBefore('crash', head);
const rope = replay(cp, await s.range('crash', cp ? cp.seq : 0, head));
writeSync(1, 'ready ' + head + '\\n');
for (;;) {
  const n = 1 + Math.floor(rnd() * 30);
  const make = (tag) => Array.from({ length: n }, (_, i) => ({ id: { client: 'w', clientSeq: head + i + 1 }, seq: head + i + 1, base: head, author: 'w' + (i % 3), time: Date.now(), op: [tag + (head + i + 1) + ' '], kind: 'edit' }));
  const a = make('a');
  const r = await s.appendMany([{ docId: 'crash', expectedHead: head, events: a }, { docId: 'crash-b', expectedHead: head, events: make('b') }]);
  if (!r.ok) { writeSync(2, JSON.stringify(r.error) + '\\n'); process.exit(2); }
  for (const e of a) rope.apply(e.op, e.author);
  head += n;
  writeSync(1, a.map((e) => e.seq).join(' ') + '\\n');
  if (rnd() < 0.1) {
    const c = await s.putCheckpoint(checkpointOf('crash', head, rope));
    if (!c.ok) { writeSync(2, JSON.stringify(c.error) + '\\n'); process.exit(2); }
  }
}
`;

/** The tests' seeded PRNG (mulberry32, shared/test/sim/random.ts) as a function. */
function mulberry32(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}

/** Runs a child from the repo root; with killAfterReadyMs, SIGKILLs it that long after its first line. */
function runChild(cmd: string, args: string[], opts: { killAfterReadyMs?: number } = {}): Promise<ChildResult> {
  const kill = opts.killAfterReadyMs === undefined ? undefined : { when: (out: string) => out.includes('\n'), afterMs: opts.killAfterReadyMs };
  return runKilledChild(cmd, args, root, kill);
}
