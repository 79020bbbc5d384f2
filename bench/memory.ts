/**
 * Memory of a loaded document, measured in a fresh child process per document.
 *
 * Why a child: in the bench process the heap holds the traces, the other peers' state
 * and their garbage, and WASM memory (Loro, Automerge) only ever grows, so a delta
 * taken there says little. A fresh `node --expose-gc` that imports one library and
 * reads the saved bytes, then measures around further loads of them (see `child`),
 * isolates the document.
 *
 * Both the JS heap and `external` (ArrayBuffers, which include WASM linear memory) are
 * reported, since Loro and Automerge keep their documents in WASM memory.
 *
 * The child is bench/memory-child.ts (it imports the libraries; this file imports none
 * of them, so the bench's modules have no cycle through it).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface MemoryResult {
  /** JS heap growth per loaded document (bytes); see `child` for how it is taken. */
  heapDelta: number;
  /** `external` after minus before: ArrayBuffers and WASM memory (bytes). */
  externalDelta: number;
  /** Resident set size growth, for reference (includes allocator slack). */
  rssDelta: number;
  /** Length of the loaded text, to show the load really happened. */
  textLength: number;
  /** The same three figures for the first load (one-time costs and peaks included). */
  firstLoad: { heap: number; external: number; rss: number };
}

const childPath = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

export function measureMemoryInChild(side: string, file: string): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', '--no-flush-bytecode', '--import', 'tsx', childPath, side, file], {
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
