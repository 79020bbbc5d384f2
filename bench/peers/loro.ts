/**
 * Loro 1.17.1 (Rust compiled to WASM) through its JS API: one LoroText, one commit per
 * trace patch so that every patch is a version of its own, as it is an event in our log.
 *
 * Positions: `LoroText.insert/delete` count Unicode code points, and so do the traces;
 * the traces hold only BMP characters (README), so this also equals UTF-16 here.
 *
 * - open: `doc.export({mode: 'snapshot'})`, then `import` into a fresh LoroDoc and
 *   `toString()` of the text. Loro's snapshot stores the current state next to the
 *   history and decodes the history lazily, which is why opening is nearly free.
 * - state at versions: `doc.frontiers()` saved after each chosen patch, then
 *   `doc.checkout(frontiers)` and the text. Checkout works from the document's current
 *   (checked-out) state, so asking for versions in ascending order is much cheaper
 *   than in random order; the benchmark's order is chosen in run.ts, the same for all.
 * - Every LoroDoc is freed explicitly: WASM memory is not returned by V8's GC in time.
 */
import { LoroDoc, type Frontiers } from 'loro-crdt';
import type { Patch } from '../../tools/trace-file.js';
import type { Peer, PeerHistory } from './peer.js';

const TEXT = 'text';

/** Applies the patches to the doc's text, one commit each; `after(i)` runs after patch i. */
function applyAll(doc: LoroDoc, patches: readonly Patch[], after?: (i: number) => void): void {
  const text = doc.getText(TEXT);
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i];
    if (del > 0) text.delete(pos, del);
    if (ins.length > 0) text.insert(pos, ins);
    doc.commit();
    after?.(i);
  }
}

function replay(patches: readonly Patch[]): string {
  const doc = new LoroDoc();
  try {
    applyAll(doc, patches);
    return doc.getText(TEXT).toString();
  } finally {
    doc.free();
  }
}

function save(patches: readonly Patch[]): Uint8Array {
  const doc = new LoroDoc();
  try {
    applyAll(doc, patches);
    return doc.export({ mode: 'snapshot' });
  } finally {
    doc.free();
  }
}

function open(bytes: Uint8Array): { text: string; doc: unknown } {
  const doc = new LoroDoc();
  doc.import(bytes);
  return { text: doc.getText(TEXT).toString(), doc };
}

function close(doc: unknown): void {
  (doc as LoroDoc).free();
}

function history(patches: readonly Patch[], versions: readonly number[]): PeerHistory {
  const doc = new LoroDoc();
  const frontiers: Frontiers[] = [];
  let next = 0;
  applyAll(doc, patches, (i) => {
    while (next < versions.length && versions[next] === i + 1) {
      frontiers.push(doc.frontiers());
      next++;
    }
  });
  if (frontiers.length !== versions.length) throw new Error('loro: versions beyond the trace');
  return {
    textAt(i: number): string {
      doc.checkout(frontiers[i]);
      return doc.getText(TEXT).toString();
    },
    free() {
      doc.checkoutToLatest();
      doc.free();
    },
  };
}

export const peer: Peer = {
  name: 'loro',
  label: 'Loro 1.17.1',
  replayRuns: 5,
  fullWarmup: true,
  openRuns: 5,
  notes: [
    'one commit per patch on a LoroText (code-point positions = UTF-16 for these BMP-only traces)',
    'open/size: export snapshot, import into a fresh LoroDoc (history decoded lazily)',
    'versions: frontiers saved per version, doc.checkout(frontiers); cost depends on the distance from the previous checkout',
  ],
  replay,
  save,
  fullHistory: {
    save,
    keeps: 'Loro snapshot: the whole history with deleted text, peer ids, one change per patch; no times (timestamps not recorded by default), no author names',
  },
  open,
  close,
  history,
};
