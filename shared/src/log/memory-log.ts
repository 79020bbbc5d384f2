/**
 * The simplest log: the whole log in an array, and its checkpoints in a map. For
 * simulations, tools and tests; it is what the sequencer and the room core read
 * (`SequencerLog`, `RoomLog`), with the writes a server's store would do.
 */
import type { DocEvent, EventId } from './event.js';
import { idKey } from './event.js';
import type { Checkpoint } from './checkpoint.js';
import type { RoomLog } from '../room/room-log.js';

export class MemoryLog implements RoomLog {
  readonly events: DocEvent[] = [];
  private readonly checkpoints = new Map<number, Checkpoint>();
  private readonly ids = new Map<string, number>();
  private readonly lastCs = new Map<string, number>();

  append(evs: readonly DocEvent[]): void {
    for (const e of evs) {
      if (e.seq !== this.events.length + 1) throw new Error(`MemoryLog: append seq ${e.seq} at head ${this.events.length}`);
      const k = idKey(e.id);
      if (this.ids.has(k)) throw new Error(`MemoryLog: id ${k} appended twice`);
      this.events.push(e);
      this.ids.set(k, e.seq);
      this.lastCs.set(e.id.client, Math.max(this.lastCs.get(e.id.client) ?? 0, e.id.clientSeq));
    }
  }
  get head(): number {
    return this.events.length;
  }
  range(from: number, to: number): readonly DocEvent[] {
    return this.events.slice(from, to);
  }
  seqOf(id: EventId): number | undefined {
    return this.ids.get(idKey(id));
  }
  lastClientSeq(client: string): number {
    return this.lastCs.get(client) ?? 0;
  }

  /** Keeps a checkpoint; one at the same seq replaces it. Throws past the head (a bug). */
  putCheckpoint(cp: Checkpoint): void {
    if (cp.seq > this.events.length) throw new Error(`MemoryLog: checkpoint at ${cp.seq} beyond the head ${this.events.length}`);
    this.checkpoints.set(cp.seq, cp);
  }
  checkpointAtOrBefore(at: number): Checkpoint | null {
    let best: Checkpoint | null = null;
    for (const cp of this.checkpoints.values()) if (cp.seq <= at && (best === null || cp.seq > best.seq)) best = cp;
    return best;
  }
  checkpointSeqs(from: number, to: number): number[] {
    return [...this.checkpoints.keys()].filter((s) => s >= from && s <= to).sort((a, b) => a - b);
  }
}
