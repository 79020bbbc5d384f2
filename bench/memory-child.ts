/**
 * The child process of bench/memory.ts: loads one library's saved document in a fresh
 * `node --expose-gc` and prints what one more loaded document costs, as one JSON line
 * (`MemoryResult`).
 *
 * Run as `node --expose-gc --import tsx bench/memory-child.ts <side> <file>`, where side
 * is `ours` or a peer module name.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { MemoryResult } from './memory.js';
import type { Peer } from './peers/peer.js';

const selfPath = fileURLToPath(import.meta.url);

/** Loads a saved document inside the child; `keep` is held until after the measurement. */
type Loader = (bytes: Uint8Array) => Promise<{ text: string; keep: unknown; close(): void }>;

async function loaderFor(side: string): Promise<Loader> {
  if (side === 'ours') {
    const ours = await import('./ours.js');
    return async (bytes) => {
      const r = ours.openSaved(Buffer.from(bytes).toString('utf8'));
      return { text: r.text, keep: r.rope, close() {} };
    };
  }
  // Only the one library is imported, so the others' modules and WASM are not in the baseline.
  const mod = (await import(`./peers/${side}.js`)) as { peer?: Peer };
  if (!mod.peer) throw new Error(`bench/peers/${side}.ts exports no peer`);
  const peer = mod.peer;
  return async (bytes) => {
    const r = peer.open(bytes);
    return { text: r.text, keep: r.doc, close: () => peer.close?.(r.doc) };
  };
}

/**
 * Full GCs with pauses between them: ArrayBuffer backing stores (the `external`
 * figure) are released by a background sweeper, not by the GC call itself.
 */
async function settle(): Promise<NodeJS.MemoryUsage> {
  const g = (globalThis as { gc?: () => void }).gc;
  if (!g) throw new Error('memory child needs --expose-gc');
  for (let i = 0; i < 4; i++) {
    g();
    await new Promise((r) => setTimeout(r, 25));
  }
  return process.memoryUsage();
}

function delta(a: NodeJS.MemoryUsage, b: NodeJS.MemoryUsage) {
  return { heap: b.heapUsed - a.heapUsed, external: b.external - a.external, rss: b.rss - a.rss };
}

/** Documents loaded (and kept) after the first; the figure is their average growth. */
const EXTRA_LOADS = 3;

/**
 * Memory that one more open document costs. A warm-up load (then closed) lets the JIT
 * compile the load path, since optimised code lives in the same heap and would
 * otherwise be counted. The first kept load still holds one-time costs and, for the
 * WASM peers, the load's transient peak (WASM memory never shrinks: Automerge's first
 * load grows it by ~2.5x what the document keeps). So the figure is the average growth
 * of EXTRA_LOADS further loads, all kept alive so that no freed pages are reused; the
 * first kept load's growth is in the detail.
 */
async function child(side: string, file: string): Promise<void> {
  const load = await loaderFor(side);
  const bytes = new Uint8Array(await readFile(file));
  (await load(bytes)).close();
  const m0 = await settle();
  const kept = [await load(bytes)];
  const m1 = await settle();
  for (let i = 0; i < EXTRA_LOADS; i++) kept.push(await load(bytes));
  const m2 = await settle();
  const d = delta(m1, m2);
  const result: MemoryResult = {
    heapDelta: Math.round(d.heap / EXTRA_LOADS),
    externalDelta: Math.round(d.external / EXTRA_LOADS),
    rssDelta: Math.round(d.rss / EXTRA_LOADS),
    textLength: kept[0].text.length,
    firstLoad: delta(m0, m1),
  };
  // Touch the documents and `bytes` after the measurement so none can be collected
  // before it (a freed input buffer would make a document look smaller).
  if (kept.some((k) => k.keep === undefined) || bytes.length === 0) throw new Error('loader returned nothing to keep');
  process.stdout.write(JSON.stringify(result) + '\n');
}

if (process.argv[1] === selfPath) {
  const [side, file] = process.argv.slice(2);
  child(side, file).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
