/**
 * Automerge 3.5.0 (Rust compiled to WASM) through its JS API: a document `{text: ''}`
 * and one `change` per trace patch with `splice` on the text field, as an editor
 * binding does. Positions: splice counts UTF-16 code units by default in the JS API,
 * which equals the traces' code points (BMP only).
 *
 * Automerge is the slow peer here (tens of seconds per replay on this machine), so:
 * - replay is timed once, after warming up on a prefix, and is abandoned (reported as
 *   skipped) past REPLAY_CAP_MS;
 * - the document built by the timed replay is kept and reused by `save`, instead of a
 *   second full replay.
 *
 * - open: `save`, then `load` and reading the text field.
 * - state at versions: `getHeads` after each chosen patch, then `view(doc, heads).text`.
 */
import * as A from '@automerge/automerge';
import type { Patch } from '../../tools/trace-file.js';
import { type Peer, type PeerHistory, Skipped } from './peer.js';

type Doc = { text: string };

/** Past this a replay is abandoned (the history slider issue wants Automerge view figures on automerge-paper, whose replay takes ~50-90 s here). */
const REPLAY_CAP_MS = 180_000;

/** The document of the last full replay, by patch list, so `save` does not replay again. */
const built = new WeakMap<readonly Patch[], A.Doc<Doc>>();

/**
 * Applies the patches, one change each. Checks the clock every 1,000 patches and gives
 * up past the cap. `after(i, doc)` runs after patch i.
 */
function applyAll(patches: readonly Patch[], after?: (i: number, doc: A.Doc<Doc>) => void): A.Doc<Doc> {
  let doc = A.from<Doc>({ text: '' });
  const start = performance.now();
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i];
    doc = A.change(doc, (d) => {
      A.splice(d, ['text'], pos, del, ins);
    });
    after?.(i, doc);
    if (i % 1000 === 999 && performance.now() - start > REPLAY_CAP_MS) {
      A.free(doc);
      throw new Skipped(`automerge: stopped after ${i + 1}/${patches.length} patches (over ${REPLAY_CAP_MS / 1000} s)`);
    }
  }
  return doc;
}

function replay(patches: readonly Patch[]): string {
  const doc = applyAll(patches);
  const old = built.get(patches);
  if (old) A.free(old);
  built.set(patches, doc);
  return doc.text;
}

function save(patches: readonly Patch[]): Uint8Array {
  let doc = built.get(patches);
  if (!doc) {
    doc = applyAll(patches);
    built.set(patches, doc);
  }
  const bytes = A.save(doc);
  // The saved form is all that is needed from here on; free the WASM memory now.
  A.free(doc);
  built.delete(patches);
  return bytes;
}

function open(bytes: Uint8Array): { text: string; doc: unknown } {
  const doc = A.load<Doc>(bytes);
  return { text: doc.text, doc };
}

function close(doc: unknown): void {
  A.free(doc as A.Doc<Doc>);
}

function history(patches: readonly Patch[], versions: readonly number[]): PeerHistory {
  const heads: A.Heads[] = [];
  let next = 0;
  const doc = applyAll(patches, (i, d) => {
    while (next < versions.length && versions[next] === i + 1) {
      heads.push(A.getHeads(d));
      next++;
    }
  });
  if (heads.length !== versions.length) throw new Error('automerge: versions beyond the trace');
  return {
    textAt(i: number): string {
      return A.view(doc, heads[i]).text;
    },
    free() {
      A.free(doc);
    },
  };
}

export const peer: Peer = {
  name: 'automerge',
  label: 'Automerge 3.5.0',
  replayRuns: 1,
  fullWarmup: false,
  openRuns: 3,
  notes: [
    'one change per patch, splice on a text field',
    `replay timed once (slow), abandoned past ${REPLAY_CAP_MS / 1000} s`,
    'open/size: save() then load()',
    'versions: getHeads per version, view(doc, heads).text',
  ],
  replay,
  save,
  fullHistory: {
    save,
    keeps: 'Automerge save(): every change with deleted text, actor ids, change times in seconds; no author names',
  },
  open,
  close,
  history,
};
