/**
 * The shell's half of bounded fan-out (issue 15, K15, P21): which connections the core
 * may feed after a commit turn, and when one that fell behind has drained.
 *
 * The core (RoomCore.committed) decides what everyone gets: one shared `events` message
 * per turn, encoded once by room.ts. What it cannot know is a socket's backlog, so the
 * shell passes it a predicate: a connection whose unsent output is past its send budget
 * is not fed another frame but gets `behind`, and this watches its backlog until it is at
 * half the budget or less; then the room sends it a welcome from where its stream
 * stopped. So a slow reader costs the server at most about its budget plus one turn's
 * frame, however long it stays slow, and everyone else is served as before.
 */
import type { RoomCore, CommitItem as CoreCommitItem, Send } from '../../shared/src/index.js';
import type { Peer } from './room.js';

export class FanOut {
  constructor(
    /** Bytes of unsent output past which a connection is behind (K15). */
    private readonly budget: number,
    /** Called once a behind connection has drained to half its budget. */
    private readonly onDrained: (peer: Peer) => void,
  ) {}

  /** The core's sends for a committed group, with connections past their budget moved behind. */
  committed(core: RoomCore<Peer>, items: readonly CoreCommitItem<Peer>[]): Send<Peer>[] {
    if (this.budget === Infinity) return core.committed(items);
    const fell: Peer[] = [];
    const sends = core.committed(items, (p) => {
      if (p.backlog <= this.budget) return false;
      fell.push(p);
      return true;
    });
    for (const p of fell) p.whenDrained(this.budget / 2, () => this.onDrained(p));
    return sends;
  }
}
