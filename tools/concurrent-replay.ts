/**
 * Replays a concurrent editing trace through the real sync machinery: one ClientState
 * per agent, one Sequencer, and a scripted network between them.
 *
 * A transaction's patches are written against its agent's view of the document, which
 * must hold exactly the transactions its `parents` name (transitively). So before an
 * agent makes a transaction, every other agent sends what that transaction depends on,
 * the server sequences it, and the agent receives its stream exactly up to there, not
 * one event further. Agents keep several batches in flight while they wait for acks,
 * which is what real typing over a slow link looks like (the trace has 1 s latency).
 */
import { ClientState, Sequencer, MemoryLog, opFromSplice, replay, type DocEvent } from '../shared/src/index.js';
import type { ConcurrentTrace } from './trace-file.js';

type Msg = { seq: number; ack: boolean; event: DocEvent };

interface Agent {
  readonly state: ClientState;
  readonly stream: Msg[]; // everything the server sent it, in seq order
  delivered: number; // how many messages of stream it has taken in
  readonly received: number[]; // per other agent: the last clientSeq of theirs taken in
  readonly lastEventOfTxn: number[]; // per own txn: clientSeq of its last event
}

export interface ConcurrentResult {
  /** Final text of every agent's replica. */
  readonly replicas: string[];
  /** The log's replay. */
  readonly log: string;
  readonly events: number;
  /** The log the sequencer appended, in seq order. */
  readonly logEvents: readonly DocEvent[];
}

export function replayConcurrent(trace: ConcurrentTrace): ConcurrentResult {
  const n = trace.numAgents;
  const log = new MemoryLog();
  const server = new Sequencer('trace', log, replay(null, []), 0);
  const agents: Agent[] = [];
  for (let i = 0; i < n; i++) {
    agents.push({ state: new ClientState({ client: `agent${i}`, author: `agent${i}` }), stream: [], delivered: 0, received: new Array<number>(n).fill(0), lastEventOfTxn: [] });
  }
  const seqOfClientSeq: Map<number, number>[] = agents.map(() => new Map());

  const flush = (b: number) => {
    const a = agents[b];
    const batch = a.state.takeBatch();
    if (!batch) return;
    const r = server.submit(`agent${b}`, batch, 0);
    if (!r.ok) throw new Error(`agent${b}'s batch was refused: ${r.error.code}: ${r.error.message}`);
    log.append(r.value.appended);
    for (const ev of r.value.appended) {
      seqOfClientSeq[b].set(ev.id.clientSeq, ev.seq);
      for (let k = 0; k < n; k++) agents[k].stream.push({ seq: ev.seq, ack: k === b, event: ev });
    }
  };

  const deliver = (a: Agent, upTo: number) => {
    while (a.delivered < a.stream.length && a.stream[a.delivered].seq <= upTo) {
      const m = a.stream[a.delivered++];
      const r = m.ack ? a.state.ack(m.event.id, m.seq, m.event.op) : a.state.receive([m.event]);
      if (!r.ok) throw new Error(`${a.state.client}: ${r.error.code}: ${r.error.message}`);
      a.received[agentIndex(m.event.id.client)] = m.event.id.clientSeq;
    }
  };

  // Per transaction: how many of each agent's transactions its state holds.
  const after: Int32Array[] = [];
  for (let t = 0; t < trace.txns.length; t++) {
    const txn = trace.txns[t];
    const before = new Int32Array(n);
    for (const p of txn.parents) {
      if (p >= t) throw new Error(`txn ${t} names parent ${p}, which does not come before it`);
      const v = after[p];
      for (let k = 0; k < n; k++) if (v[k] > before[k]) before[k] = v[k];
    }
    const a = agents[txn.agent];
    if (before[txn.agent] !== a.lastEventOfTxn.length) {
      throw new Error(`txn ${t}: agent ${txn.agent}'s transactions are not totally ordered`);
    }
    // Bring the agent's replica to exactly `before`.
    let upTo = 0;
    for (let b = 0; b < n; b++) {
      if (b === txn.agent || before[b] === 0) continue;
      const cs = agents[b].lastEventOfTxn[before[b] - 1];
      if (!seqOfClientSeq[b].has(cs)) flush(b);
      upTo = Math.max(upTo, seqOfClientSeq[b].get(cs) as number);
    }
    deliver(a, upTo);
    for (let b = 0; b < n; b++) {
      if (b === txn.agent) continue;
      const ends = agents[b].lastEventOfTxn;
      const k = before[b];
      const got = a.received[b];
      const exact = (k === 0 ? got === 0 : ends[k - 1] <= got) && (k >= ends.length || ends[k] > got);
      if (!exact) {
        const seen = ends.filter((e) => e <= got).length;
        throw new Error(`txn ${t}: agent ${txn.agent} would see ${seen} of agent ${b}'s transactions, its parents name ${before[b]}`);
      }
    }
    for (const [pos, del, ins] of txn.patches) {
      const live = a.state.live;
      if (pos < 0 || pos + del > live.length) throw new Error(`txn ${t}: patch [${pos}, ${del}] outside the document (${live.length})`);
      const op = opFromSplice(pos, live.slice(pos, pos + del), ins);
      const r = a.state.edit(op);
      if (!r.ok) throw new Error(`txn ${t}: ${r.error.message}`);
    }
    a.lastEventOfTxn.push(a.state.nextClientSeq - 1);
    before[txn.agent] = a.lastEventOfTxn.length;
    after.push(before);
  }
  for (let b = 0; b < n; b++) flush(b);
  for (const a of agents) deliver(a, Infinity);
  return {
    replicas: agents.map((a) => a.state.live.toString()),
    log: replay(null, log.events).toString(),
    events: log.head,
    logEvents: log.events,
  };
}

function agentIndex(client: string): number {
  return Number(client.slice('agent'.length));
}
