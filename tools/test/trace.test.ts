/**
 * Real traces (L4, L5): every sequential trace in fixtures/traces replays to its
 * endContent; the concurrent trace goes through one simulated client per agent and the
 * real sequencer, and every replica and the log end at endContent. Plus the
 * `npm run trace` command's contract.
 */
import { describe, it, expect } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { loadTrace, tracesDir, flattenPatches } from '../trace-file.js';
import { replayConcurrent } from '../concurrent-replay.js';
import { HistoryIndex, replay, traceToEvents, checkpointOf, encodeCheckpoint, decodeCheckpoint, unwrap } from '../../shared/src/index.js';

const run = promisify(execFile);
const root = resolve(__dirname, '..', '..');
const seqDir = join(tracesDir(), 'sequential');
const sequential = readdirSync(seqDir).filter((f) => f.endsWith('.json.gz'));

describe('real traces', () => {
  it('finds the sequential traces', () => {
    expect(sequential.length).toBeGreaterThanOrEqual(3);
  });

  for (const f of sequential) {
    it(`${f} replays to its endContent, also from a checkpoint (L5)`, async () => {
      const trace = await loadTrace(join(seqDir, f));
      if (trace.kind !== 'sequential') throw new Error('expected a sequential trace');
      const events = traceToEvents(flattenPatches(trace));
      expect(replay(null, events).toString()).toBe(trace.endContent);
      // Checkpoint in the middle, encoded and decoded, then the tail.
      const mid = Math.floor(events.length / 2);
      const cp = unwrap(decodeCheckpoint(encodeCheckpoint(checkpointOf('d', mid, replay(null, events.slice(0, mid))))));
      expect(replay(cp, events.slice(mid)).toString()).toBe(trace.endContent);
      // The history index agrees with the full replay at a few versions.
      const index = new HistoryIndex(events, { every: 1000 });
      for (const v of [0, 1, mid, events.length - 1, events.length]) {
        expect(index.textAt(v)).toBe(replay(null, events.slice(0, v)).toString());
      }
    });
  }

  it('friendsforever (concurrent): one client per agent through the sequencer, every replica ends at endContent (E2, L4)', async () => {
    const trace = await loadTrace(join(tracesDir(), 'concurrent', 'friendsforever.json.gz'));
    if (trace.kind !== 'concurrent') throw new Error('expected a concurrent trace');
    const r = replayConcurrent(trace);
    expect(r.events).toBe(trace.txns.reduce((n, t) => n + t.patches.length, 0));
    expect(r.log).toBe(trace.endContent);
    expect(r.replicas).toHaveLength(trace.numAgents);
    for (const text of r.replicas) expect(text).toBe(trace.endContent);
  });
});

describe('npm run trace', () => {
  const tsx = join(root, 'node_modules', '.bin', 'tsx');

  it('prints one JSON line per file and exits 0 when all match', async () => {
    const files = [join(seqDir, 'friendsforever_flat.json.gz'), join(tracesDir(), 'concurrent', 'friendsforever.json.gz')];
    const { stdout } = await run(tsx, ['tools/trace.ts', ...files], { cwd: root });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries()) {
      expect(Object.keys(line)).toEqual(['file', 'patches', 'ms', 'ok', 'length']);
      expect(line.file).toBe(files[i]);
      expect(line.ok).toBe(true);
      expect(line.patches).toBe(26078);
      expect(line.length).toBe(21362);
      expect(line.ms).toBeGreaterThan(0);
    }
  });

  it('with --encoded adds the size of the whole log as a block, which gives the log back (S1)', async () => {
    const files = [join(seqDir, 'friendsforever_flat.json.gz'), join(tracesDir(), 'concurrent', 'friendsforever.json.gz')];
    const { stdout } = await run(tsx, ['tools/trace.ts', '--encoded', ...files], { cwd: root });
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const [i, line] of lines.entries()) {
      expect(Object.keys(line)).toEqual(['file', 'patches', 'ms', 'ok', 'length', 'encoded']);
      expect(line.file).toBe(files[i]);
      expect(line.ok).toBe(true);
      // 26,078 keystrokes with their text, ids, authors and times: a few bytes each, far
      // below the ~130 bytes an event of JSON takes.
      expect(line.encoded).toBeGreaterThan(1000);
      expect(line.encoded).toBeLessThan(26078 * 4);
    }
  });

  it('names a file it cannot read or parse and exits 1; a wrong endContent is ok:false and exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trace-'));
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"txns": [');
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ startContent: '', endContent: 'nope', txns: [{ time: '', patches: [[0, 0, 'hi']] }] }));
    const missing = join(dir, 'missing.json.gz');
    const err = await run(tsx, ['tools/trace.ts', broken, wrong, missing], { cwd: root }).catch((e) => e);
    expect(err.code).toBe(1);
    expect(err.stderr).toContain(broken);
    expect(err.stderr).toContain(missing);
    const lines = String(err.stdout).trim().split('\n').map((l: string) => JSON.parse(l));
    expect(lines).toEqual([{ file: wrong, patches: 1, ms: expect.any(Number), ok: false, length: 2 }]);
  });
});
