/**
 * Memory of a loaded document, measured in a fresh child process per document.
 *
 * Why a child: in the bench process the heap holds the traces, the other peers' state
 * and their garbage, and WASM memory (Loro, Automerge) only ever grows, so a delta
 * taken there says little. A fresh `node --expose-gc` that imports one library, reads
 * the saved bytes, then measures before and after loading them, isolates the document.
 *
 * Both the JS heap and `external` (ArrayBuffers, which include WASM linear memory) are
 * reported, since Loro and Automerge keep their documents in WASM memory.
 *
 * As a child: `node --expose-gc --import tsx bench/memory.ts <side> <file>`, where
 * side is `ours` or a peer module name; prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface MemoryResult {
  /** JS heap used after load minus before (bytes). */
  heapDelta: number;
  /** `external` after minus before: ArrayBuffers and WASM memory (bytes). */
  externalDelta: number;
  /** Resident set size growth, for reference (includes allocator slack). */
  rssDelta: number;
  /** Length of the loaded text, to show the load really happened. */
  textLength: number;
}

/** Loads a saved document inside the child; `keep` is held until after the measurement. */
type Loader = (bytes: Uint8Array) => Promise<{ text: string; keep: unknown }>;

const selfPath = fileURLToPath(import.meta.url);

export function measureMemoryInChild(side: string, file: string): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', selfPath, side, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`memory child for ${side} failed (exit ${code}): ${err.trim().slice(-500)}`));
        return;
      }
      resolve(JSON.parse(last) as MemoryResult);
    });
  });
}

async function loaderFor(side: string): Promise<Loader> {
  if (side === 'ours') {
    const ours = await import('./ours.js');
    return async (bytes) => {
      const r = ours.openSaved(Buffer.from(bytes).toString('utf8'));
      return { text: r.text, keep: r.rope };
    };
  }
  // Only the one library is imported, so the others' modules and WASM are not in the baseline.
  const mod = (await import(`./peers/${side}.js`)) as { peer?: { open(b: Uint8Array): { text: string; doc: unknown } } };
  if (!mod.peer) throw new Error(`bench/peers/${side}.ts exports no peer`);
  const peer = mod.peer;
  return async (bytes) => {
    const r = peer.open(bytes);
    return { text: r.text, keep: r.doc };
  };
}

function settle(): NodeJS.MemoryUsage {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('memory child needs --expose-gc');
  for (let i = 0; i < 4; i++) g();
  return process.memoryUsage();
}

async function child(side: string, file: string): Promise<void> {
  const load = await loaderFor(side);
  const bytes = new Uint8Array(await readFile(file));
  // No warm-up load of the document: WASM memory never shrinks, so a second load could
  // reuse the first one's freed pages and look free. The library itself is already
  // imported (and its WASM instantiated) at this point, so it is in the baseline.
  const before = settle();
  const loaded = await load(bytes);
  const after = settle();
  const result: MemoryResult = {
    heapDelta: after.heapUsed - before.heapUsed,
    externalDelta: after.external - before.external,
    rssDelta: after.rss - before.rss,
    textLength: loaded.text.length,
  };
  // Touch `loaded` after the measurement so it cannot be collected before it.
  if (loaded.text.length === 0 || loaded.keep === undefined) throw new Error('loader returned nothing to keep');
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] === selfPath) {
  const [side, file] = process.argv.slice(2);
  child(side, file).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
