/**
 * Yjs 13.6.33 driven through its public API only, the way an editor binding would:
 * one Y.Text, one transaction per trace patch (a patch is one edit, so one event in
 * our log and one transaction here), delete before insert at the same position.
 *
 * - open: `Y.encodeStateAsUpdate` of the replayed document (default gc on, so deleted
 *   content is dropped and only tombstone structure remains), then `Y.applyUpdate`
 *   into a fresh Y.Doc and `toString()` of its text.
 * - full history: the gc:false document as `Y.encodeStateAsUpdateV2`.
 * - state at versions: old versions need `gc: false` (otherwise deleted text is gone);
 *   during replay a `Y.snapshot` is taken at each version, and reading a version is
 *   `Y.createDocFromSnapshot(doc, snapshot)` then the text of that new document, the
 *   documented way to materialise a snapshot.
 */
import * as Y from 'yjs';
import type { Patch } from '../../tools/trace-file.js';
import type { Peer, PeerHistory } from './peer.js';

const TEXT = 'text';

/** Applies the patches to `text`, one transaction each; `after(i)` runs after patch i. */
function applyAll(doc: Y.Doc, patches: readonly Patch[], after?: (i: number) => void): void {
  const text = doc.getText(TEXT);
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i];
    doc.transact(() => {
      if (del > 0) text.delete(pos, del);
      if (ins.length > 0) text.insert(pos, ins);
    });
    after?.(i);
  }
}

function replay(patches: readonly Patch[]): string {
  const doc = new Y.Doc();
  applyAll(doc, patches);
  return doc.getText(TEXT).toString();
}

function save(patches: readonly Patch[]): Uint8Array {
  const doc = new Y.Doc();
  applyAll(doc, patches);
  return Y.encodeStateAsUpdate(doc);
}

/** The gc:false document (deleted text kept, every snapshot readable) in the update v2 format. */
function saveHistory(patches: readonly Patch[]): Uint8Array {
  const doc = new Y.Doc({ gc: false });
  applyAll(doc, patches);
  return Y.encodeStateAsUpdateV2(doc);
}

function open(bytes: Uint8Array): { text: string; doc: unknown } {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, bytes);
  return { text: doc.getText(TEXT).toString(), doc };
}

function history(patches: readonly Patch[], versions: readonly number[]): PeerHistory {
  const doc = new Y.Doc({ gc: false });
  const snapshots: Y.Snapshot[] = [];
  let next = 0;
  applyAll(doc, patches, (i) => {
    // Several requested versions can be the same patch count on short traces.
    while (next < versions.length && versions[next] === i + 1) {
      snapshots.push(Y.snapshot(doc));
      next++;
    }
  });
  if (snapshots.length !== versions.length) throw new Error('yjs: versions beyond the trace');
  return {
    textAt(i: number): string {
      const view = Y.createDocFromSnapshot(doc, snapshots[i]);
      const text = view.getText(TEXT).toString();
      view.destroy();
      return text;
    },
  };
}

export const peer: Peer = {
  name: 'yjs',
  label: 'Yjs 13.6.33',
  replayRuns: 5,
  fullWarmup: true,
  openRuns: 5,
  notes: [
    'one transaction per patch on a Y.Text (delete then insert)',
    'open/size: encodeStateAsUpdate of the gc:true document (deleted text dropped)',
    'versions: gc:false document, Y.snapshot per version, Y.createDocFromSnapshot to read',
  ],
  replay,
  save,
  fullHistory: {
    save: saveHistory,
    keeps: 'Yjs gc:false, encodeStateAsUpdateV2: deleted text, numeric client ids; no times, no author names, no edit boundaries',
  },
  open,
  history,
};
