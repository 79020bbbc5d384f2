/** The simplest SequencerLog: the whole log in an array. For simulations, tools and tests. */
import type { DocEvent, EventId } from './event.js';
import { idKey } from './event.js';
import type { SequencerLog } from '../sync/sequencer.js';

export class MemoryLog implements SequencerLog {
  readonly events: DocEvent[] = [];
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
}
