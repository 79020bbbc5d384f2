/**
 * json-joy 17.67.0. It has two layers for text, and each is used where it is the right
 * tool:
 *
 * - replay: `StrNode`, the bare RGA of the JSON CRDT `str` type, driven with `insAt`
 *   and `delete(findInterval(...))`, as json-joy's own trace benchmark
 *   ("StrNode (json-joy)") does. This is json-joy's fastest correct text structure,
 *   but it is only the sequence CRDT: no model, no patches, no clock.
 *   The full document route, `Model` with the `str` node API (`api.str([]).ins/del`
 *   and one `api.flush()` per patch, i.e. one json-joy Patch per trace patch), is
 *   timed too as the variant `model`.
 * - open: `Model.toBinary()` of that document, `Model.fromBinary` and `view()`. Like
 *   Yjs with gc, the binary holds the current state with tombstones, not the history.
 * - state at versions: json-joy keeps history in `Log` (the patches since a start
 *   model); `log.replayTo(patchId)` rebuilds a model by replaying from the start, the
 *   only built-in way to see an old version, so its cost grows with the version.
 *
 * The package has no "exports" map, so modules are imported by their lib/ paths.
 */
import { Model } from 'json-joy/lib/json-crdt/index.js';
import { StrNode } from 'json-joy/lib/json-crdt/nodes/index.js';
import { Log } from 'json-joy/lib/json-crdt/log/Log.js';
import { Timestamp, type ITimestampStruct } from 'json-joy/lib/json-crdt-patch/clock/index.js';
import type { Patch } from '../../tools/trace-file.js';
import type { Peer, PeerHistory } from './peer.js';

/** The bare RGA: the session id is fixed and the clock advances by the inserted length. */
function replayStrNode(patches: readonly Patch[]): string {
  const sid = 1;
  let time = 0;
  const rga = new StrNode(new Timestamp(sid, time++));
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i];
    if (del > 0) rga.delete(rga.findInterval(pos, del));
    if (ins.length > 0) {
      rga.insAt(pos, new Timestamp(sid, time), ins);
      time += ins.length;
    }
  }
  return rga.view();
}

/**
 * A full json-joy document whose root is a `str`, edited through the node API.
 * `after(i, patchId)` runs after patch i has been flushed into a json-joy Patch.
 */
function applyToModel(model: Model, patches: readonly Patch[], after?: (i: number, id: ITimestampStruct) => void): void {
  model.api.set('');
  model.api.flush();
  const str = model.api.str([]);
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i];
    if (del > 0) str.del(pos, del);
    if (ins.length > 0) str.ins(pos, ins);
    const patch = model.api.flush();
    if (after) {
      const id = patch.getId();
      if (!id) throw new Error(`json-joy: patch ${i} produced no operations`);
      after(i, id);
    }
  }
}

function replayModel(patches: readonly Patch[]): string {
  const model = Model.create();
  applyToModel(model, patches);
  return model.view() as unknown as string;
}

function save(patches: readonly Patch[]): Uint8Array {
  const model = Model.create();
  applyToModel(model, patches);
  return model.toBinary();
}

function open(bytes: Uint8Array): { text: string; doc: unknown } {
  const model = Model.fromBinary(bytes);
  return { text: model.view() as unknown as string, doc: model };
}

function history(patches: readonly Patch[], versions: readonly number[]): PeerHistory {
  // `fromNewModel` makes the log's own `end` model and records its flushed patches;
  // edits must go to `log.end`, not to the model passed in.
  const log = Log.fromNewModel(Model.create());
  const ids: ITimestampStruct[] = [];
  let next = 0;
  applyToModel(log.end, patches, (i, id) => {
    while (next < versions.length && versions[next] === i + 1) {
      ids.push(id);
      next++;
    }
  });
  if (ids.length !== versions.length) throw new Error('json-joy: versions beyond the trace');
  return {
    textAt(i: number): string {
      return String(log.replayTo(ids[i]).view());
    },
    free() {
      log.destroy();
    },
  };
}

export const peer: Peer = {
  name: 'jsonjoy',
  label: 'json-joy 17.67.0',
  replayRuns: 5,
  fullWarmup: true,
  openRuns: 5,
  notes: [
    'replay: bare StrNode RGA (insAt / delete(findInterval)), as json-joy benchmarks itself',
    'replay:model variant: Model + str API, one flush (Patch) per trace patch',
    'open/size: Model.toBinary / Model.fromBinary (state with tombstones, no history)',
    'versions: Log.replayTo(patchId), which replays from the start each time',
  ],
  replay: replayStrNode,
  replayVariants: [{ name: 'model', replay: replayModel }],
  save,
  open,
  history,
};
