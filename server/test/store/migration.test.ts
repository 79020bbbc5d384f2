/**
 * Version 1 data directories migrate in place (docs/storage.md, "Migration"). The fixture
 * server/test/fixtures/v1.sqlite was written by the version 1 store (make-v1.ts), and
 * v1.expected.json.gz is everything the version 1 store read back from it. Each test works
 * on a copy: the store opened on it, the real server started on it, and a migration
 * killed (SIGKILL) again and again until one finishes; every event, id and checkpoint must
 * be what version 1 read, and nothing may be in two places or none at any moment.
 */
import { describe, it, expect, afterAll } from 'vitest';
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SqliteLogStore, SCHEMA_VERSION, type LayoutStep } from '../../src/store/sqlite-log-store.js';
import type { DocumentInfo } from '../../src/store/log-store.js';
import type { Checkpoint, DocEvent } from '../../../shared/src/index.js';
import { ServerProcess, readCheckpoints, readLog } from '../helpers/server-process.js';
import { Random } from '../../../shared/test/sim/random.js';
import { runKilledChild, type ChildResult } from '../helpers/killed-child.js';

const root = resolve(__dirname, '..', '..', '..');
const fixture = join(root, 'server', 'test', 'fixtures', 'v1.sqlite');
const storeUrl = pathToFileURL(join(root, 'server', 'src', 'store', 'sqlite-log-store.ts')).href;

interface Expected {
  documents: DocumentInfo[];
  docs: Record<string, { head: number; events: DocEvent[]; checkpoints: Checkpoint[] }>;
}
const expected = JSON.parse(gunzipSync(readFileSync(join(root, 'server', 'test', 'fixtures', 'v1.expected.json.gz'))).toString()) as Expected;

const dirs: string[] = [];
/** A fresh data dir holding a copy of the fixture as its store file. */
function copyOfFixture(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'eventide-migrate-'));
  dirs.push(dir);
  const file = join(dir, 'eventide.sqlite');
  copyFileSync(fixture, file);
  return { dir, file };
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function userVersion(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/** Blocks, rows and text checkpoints per document, counted with plain SQL. */
function layout(file: string): { blocks: Record<string, number>; rows: Record<string, number>; textCheckpoints: number } {
  const db = new Database(file, { readonly: true });
  try {
    const count = (sql: string) => Object.fromEntries(db.prepare(sql).raw().all() as [string, number][]);
    return {
      blocks: count('SELECT doc_id, count(*) FROM blocks GROUP BY doc_id'),
      rows: count('SELECT doc_id, count(*) FROM events GROUP BY doc_id'),
      textCheckpoints: db.prepare(`SELECT count(*) FROM checkpoints WHERE typeof(data) = 'text'`).pluck().get() as number,
    };
  } finally {
    db.close();
  }
}

/** Everything the version 1 store read, read again through the new store (L1, L3, L5). */
async function expectAllAsVersion1(s: SqliteLogStore): Promise<void> {
  expect(await s.listDocuments()).toEqual(expected.documents);
  for (const [docId, doc] of Object.entries(expected.docs)) {
    expect(await s.head(docId), docId).toBe(doc.head);
    expect(await s.range(docId, 0, doc.head + 10)).toStrictEqual(doc.events);
    const last = new Map<string, number>();
    for (const e of doc.events) {
      expect(await s.seqOf(docId, e.id)).toBe(e.seq);
      last.set(e.id.client, Math.max(last.get(e.id.client) ?? 0, e.id.clientSeq));
    }
    for (const [client, cs] of last) expect(await s.lastClientSeq(docId, client)).toBe(cs);
    expect(await s.checkpointSeqs(docId, 0, doc.head)).toEqual(doc.checkpoints.map((c) => c.seq));
    for (const cp of doc.checkpoints) expect(await s.checkpointAtOrBefore(docId, cp.seq)).toStrictEqual(cp);
  }
}

describe('migration of a version 1 file', () => {
  it('the fixture is version 1 and holds what make-v1.ts says', async () => {
    expect(userVersion(fixture)).toBe(1);
    const n = Object.values(expected.docs).reduce((k, d) => k + d.events.length, 0);
    expect(n).toBe(3707);
    expect(new Set(Object.values(expected.docs).flatMap((d) => d.events.map((e) => e.id.client))).size).toBe(9);
  });

  it('opening it upgrades in place: every event, id and checkpoint as version 1 read them; full blocks sealed (L1, L3, L5, R14)', async () => {
    const { file } = copyOfFixture();
    const steps: LayoutStep[] = [];
    let s = SqliteLogStore.open(file, { progress: (step) => steps.push(step) });
    expect(userVersion(file)).toBe(SCHEMA_VERSION);
    expect(steps.filter((x) => x.kind === 'block')).toEqual([
      { kind: 'block', docId: 'notes', first: 1, last: 1000 },
      { kind: 'block', docId: 'paper', first: 1, last: 1000 },
      { kind: 'block', docId: 'paper', first: 1001, last: 2000 },
    ]);
    expect(steps.filter((x) => x.kind === 'checkpoints').reduce((n, x) => n + (x.kind === 'checkpoints' ? x.converted : 0), 0)).toBe(8);
    expect(layout(file)).toEqual({ blocks: { notes: 1, paper: 2 }, rows: { notes: 100, paper: 600, tiny: 7 }, textCheckpoints: 0 });
    await expectAllAsVersion1(s);
    await s.close();

    // Done once: the next open has nothing left to do and reads the same.
    steps.length = 0;
    s = SqliteLogStore.open(file, { progress: (step) => steps.push(step) });
    expect(steps).toEqual([]);
    await expectAllAsVersion1(s);
    await s.close();
  });

  it('the real server starts on a version 1 data directory and keeps every event and checkpoint (L2, L5)', async () => {
    const { dir, file } = copyOfFixture();
    const sp = await ServerProcess.start({ dataDir: dir });
    try {
      expect(await sp.healthy()).toBe(true);
      expect(await sp.stop()).toBe(0);
    } finally {
      await sp.kill();
    }
    expect(userVersion(file)).toBe(SCHEMA_VERSION);
    for (const [docId, doc] of Object.entries(expected.docs)) {
      expect(readLog(file, docId)).toStrictEqual(doc.events);
      expect(readCheckpoints(file, docId)).toStrictEqual(doc.checkpoints);
    }
    expect(layout(file).textCheckpoints).toBe(0);
  }, 60_000);

  it('SIGKILL in the middle of the migration, again and again: each start goes on where the last stopped, nothing lost or doubled (L1, L2, L3, R12, R14)', async () => {
    const seed = Number(process.env.MIGRATE_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`migration crash seed ${seed} (MIGRATE_CRASH_SEED=${seed} repeats it)`);
    const rnd = mulberry32(seed);
    const { dir, file } = copyOfFixture();
    const child = join(dir, 'migrate-child.mjs');
    writeFileSync(child, migrateChild);
    // Blocks of 100 events: 37 blocks to seal, so there is a middle to kill in.
    const totalBlocks = Object.values(expected.docs).reduce((n, d) => n + Math.floor(d.events.length / 100), 0);
    let kills = 0;
    let blocksSeen = 0;
    for (let round = 0; round < 40; round++) {
      // Kill after a few committed steps, sometimes at once, sometimes a moment into the next.
      const afterSteps = 1 + Math.floor(rnd() * 5);
      const extraMs = Math.floor(rnd() * 4);
      const out = await runChild(child, file, afterSteps, extraMs);
      const steps = out.stdout.split('\n').filter((l) => l.startsWith('{'));
      blocksSeen += steps.filter((l) => l.includes('"block"')).length;
      // After every start, killed or not: a valid version 2 file, every seq in exactly one place.
      expect(userVersion(file)).toBe(SCHEMA_VERSION);
      for (const [docId, doc] of Object.entries(expected.docs)) {
        expect(readLog(file, docId), `round ${round} (seed ${seed}), ${docId}`).toStrictEqual(doc.events);
      }
      if (out.stdout.includes('done')) break; // this start finished the migration (a late kill changes nothing)
      expect(out.signal, `round ${round} (seed ${seed}): ${out.stderr}`).toBe('SIGKILL');
      kills++;
    }
    expect(kills).toBeGreaterThanOrEqual(3);
    // A kill between a seal's commit and its progress line hides that step, nothing more.
    expect(blocksSeen).toBeLessThanOrEqual(totalBlocks);
    expect(blocksSeen).toBeGreaterThanOrEqual(totalBlocks - kills);
    expect(layout(file)).toEqual({ blocks: { notes: 11, paper: 26 }, rows: { tiny: 7 }, textCheckpoints: 0 });
    const s = SqliteLogStore.open(file, { sealEvery: 100 });
    await expectAllAsVersion1(s);
    await s.close();
    console.log(`migration crash: ${kills} kills, ${totalBlocks} blocks, nothing lost`);
  }, 180_000);
});

/**
 * Opens the store (which migrates), printing each committed step and pausing 3 ms after
 * it so the parent's kill lands mid-migration; prints `done` once open returns.
 */
const migrateChild = `import { writeSync } from 'node:fs';
const { SqliteLogStore } = await import(${JSON.stringify(storeUrl)});
const pause = new Int32Array(new SharedArrayBuffer(4));
const s = SqliteLogStore.open(process.argv[2], {
  sealEvery: 100,
  progress: (step) => { writeSync(1, JSON.stringify(step) + '\\n'); Atomics.wait(pause, 0, 0, 3); },
});
await s.close();
writeSync(1, 'done\\n');
`;

/** Runs the child on `file`; SIGKILLs it `extraMs` after its `afterSteps`-th step line. */
function runChild(child: string, file: string, afterSteps: number, extraMs: number): Promise<ChildResult> {
  const steps = (out: string) => out.split('\n').filter((l) => l.startsWith('{')).length;
  return runKilledChild('node', ['--import', 'tsx', child, file], root, { when: (out) => steps(out) >= afterSteps, afterMs: extraMs });
}

/** The tests' seeded PRNG (mulberry32, shared/test/sim/random.ts) as a function. */
function mulberry32(seed: number): () => number {
  const r = new Random(seed);
  return () => r.next();
}
