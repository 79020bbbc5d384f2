/**
 * What the room core reads of a document's committed log. Synchronous on purpose: the
 * server's store (better-sqlite3) is, and a simulation keeps the log in an array, so the
 * core never waits and a test can drive it step by step without timers.
 *
 * A read that cannot be served (a broken file) throws: the core does not catch it, and
 * has changed nothing when it propagates (every read comes before the state it
 * decides). The server's shell turns such a throw into `store-failed` in one place.
 */
import type { Checkpoint } from '../log/checkpoint.js';
import type { SequencerLog } from '../sync/sequencer.js';

/**
 * A document's committed log and its checkpoints, as the room core sees it. It holds
 * only what is durable: the core asks it for the state to start from and for what the
 * sequencer's memory no longer has, and writes nothing through it (appends and
 * checkpoints are effects the shell carries out).
 */
export interface RoomLog extends SequencerLog {
  /** The last committed seq (0: no events yet). */
  readonly head: number;
  /** The checkpoint with the greatest seq ≤ `at`, or null. */
  checkpointAtOrBefore(at: number): Checkpoint | null;
  /** The seqs that have checkpoints with from ≤ seq ≤ to, ascending. */
  checkpointSeqs(from: number, to: number): readonly number[];
}
