/**
 * The long offline branch: one client typed 10,000 events offline while others
 * appended 10,000 events to the log; on reconnect its outbox is sequenced in one batch
 * over all of them. This is where OT systems are known to fall over (quadratic
 * rebasing), so it is measured on real typing, not synthetic ops:
 *
 * - the document is automerge-paper after its first 100,000 events;
 * - the others' 10,000 events are the trace's next 10,000 (real keystrokes);
 * - the offline client's 10,000 events are real keystrokes too (seph-blog1's first
 *   10,000 small patches), typed into two places in turns, as people do: runs of 700
 *   keystrokes in a paragraph far from where the others type, then 300 in the
 *   paragraph they are typing in, and so on.
 *
 * Measured: the sequencer's submit of the whole outbox (server side), and the client's
 * rebase of its outbox over the 10,000 remote events arriving as one catch-up.
 */
import { performance } from 'node:perf_hooks';
import { MemoryLog, Sequencer, ClientState, replay, type DocEvent, type LocalEvent, type Patch } from '../shared/src/index.js';
import { opFromSplice } from '../shared/src/index.js';

export interface BranchResult {
  serverMs: number;
  clientMs: number;
  pending: number;
  remote: number;
}

/** Builds the scenario from trace events (`base` = automerge-paper events, `typing` = seph-blog1 patches). */
export function offlineBranch(base: readonly DocEvent[], typing: readonly Patch[], nPending = 10_000, nRemote = 10_000): BranchResult {
  const start = 100_000;
  const log = new MemoryLog();
  log.append(base.slice(0, start));
  const before = replay(null, base.slice(0, start));
  const remote = base.slice(start, start + nRemote);

  // The offline client's edits: two cursors, one far from the remote typing, one near it.
  const client = new ClientState({ client: 'offline', author: 'offline', checkpoint: { docId: 'b', seq: start, text: before.toString(), authorship: before.authorship() } });
  const nearAt = remote[0].op.length > 0 && typeof remote[0].op[0] === 'number' ? (remote[0].op[0] as number) : 0;
  const cursors = [Math.floor(before.length / 10), nearAt];
  const origin = [cursors[0], cursors[1]];
  let made = 0;
  for (let i = 0; made < nPending && i < typing.length; i++) {
    const [pos, del, ins] = typing[i];
    if (pos > 8000 || del > 1) continue; // the opening of the post, small edits
    const which = made % 1000 < 700 ? 0 : 1;
    const at = Math.min(origin[which] + pos, client.live.length);
    const live = client.live;
    const d = Math.min(del, live.length - at);
    const op = opFromSplice(at, d > 0 ? live.slice(at, at + d) : '', ins);
    if (op.length === 0) continue;
    const r = client.edit(op);
    if (!r.ok) continue;
    if (which === 0 && at < origin[1]) origin[1] += ins.length - d; // the near cursor moves with text before it
    made++;
  }
  const batch = client.takeBatch();
  if (!batch) throw new Error('offline branch: no pending events');
  const pendingEvents: readonly LocalEvent[] = batch.events;

  // Server: the others' events are in the log; then the outbox arrives with the old base.
  const seq = new Sequencer('b', log, replay(null, base.slice(0, start)), start);
  for (const [i, e] of remote.entries()) {
    const r = seq.submit('others', { base: e.seq - 1, events: [{ id: { client: 'others', clientSeq: i + 1 }, author: e.author, op: e.op, kind: e.kind }] }, 0);
    if (!r.ok) throw new Error(`offline branch: remote event refused: ${r.error.message}`);
    log.append(r.value.appended);
  }
  let t0 = performance.now();
  const r = seq.submit('offline', { base: start, events: pendingEvents }, 0);
  const serverMs = performance.now() - t0;
  if (!r.ok) throw new Error(`offline branch: outbox refused: ${r.error.code}: ${r.error.message}`);

  // Client: the catch-up of the others' events, in one message, rebases the outbox.
  t0 = performance.now();
  const rr = client.receive(log.range(start, start + nRemote).slice());
  const clientMs = performance.now() - t0;
  if (!rr.ok) throw new Error(`offline branch: catch-up refused: ${rr.error.message}`);
  // Both sides must agree on every form.
  for (let i = 0; i < pendingEvents.length; i++) {
    const a = JSON.stringify(client.pending[i].event.op);
    const b = JSON.stringify(r.value.appended[i].op);
    if (a !== b) throw new Error(`offline branch: client and server forms differ at ${i}`);
  }
  return { serverMs, clientMs, pending: pendingEvents.length, remote: remote.length };
}
