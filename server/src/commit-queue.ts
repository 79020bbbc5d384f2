/**
 * Group commit. Durability costs an fsync per transaction (the SQLite store runs with
 * synchronous = FULL), and an fsync costs the same for one event as for a thousand. So
 * submits are sequenced the moment they arrive (the sequencer rebases the next submit
 * over them at once), collected, and written together: everything that arrived before
 * the event loop turns (setImmediate) or, with `windowMs`, within that window, goes to
 * `store.appendMany` in one transaction across all rooms.
 *
 * Only after that returns ok do acks and broadcasts go out (L2), room by room in seq
 * order (room.ts), so nothing a client saw acknowledged can be lost by a crash.
 *
 * On failure nothing of the group is stored, but the rooms' sequencers have advanced
 * past the store. The failure is logged, every submitter gets `store-failed` (not
 * fatal: it re-syncs and resends, its outbox still has the events), and each affected
 * room is rebuilt from the store, as after a restart.
 */
import { encodeServerMessage, ok, type DocEvent } from '../../shared/src/index.js';
import { guardStore } from './store/store-guard.js';
import type { LogStore } from './store/log-store.js';
import type { CommitItem, Room } from './room.js';
import type { Logger } from './options.js';
import { nextFlushDelay } from './flush-pacing.js';

export interface CommitQueueOptions {
  readonly store: LogStore;
  readonly log: Logger;
  /** 0: flush when the event loop turns; more: wait this many ms for more submits. */
  readonly windowMs: number;
  /** Called after each flush for rooms that may now be idle. */
  readonly afterFlush?: (rooms: readonly Room[]) => void;
}

export interface CommitStats {
  flushes: number;
  events: number;
  failures: number;
}

export class CommitQueue {
  private items: CommitItem[] = [];
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;
  readonly stats: CommitStats = { flushes: 0, events: 0, failures: 0 };
  /** How long the last flush took (ms): the next one waits at least as long (flush-pacing.ts). */
  private lastFlushMs = 0;

  constructor(private readonly opts: CommitQueueOptions) {}

  get size(): number {
    return this.items.length;
  }

  /** Queues a sequenced submit; it is answered after the next flush. */
  push(item: CommitItem): void {
    this.items.push(item);
    item.room.pending++;
    if (this.scheduled !== null) return;
    const delay = nextFlushDelay(this.opts.windowMs, this.lastFlushMs);
    if (delay > 0) this.scheduled = setTimeout(() => this.flush(), delay);
    else this.scheduled = setImmediate(() => this.flush());
  }

  /** Writes everything queued in one transaction, then answers (or fails) every item. */
  flush(): void {
    if (this.scheduled !== null) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = null;
    }
    const items = this.items;
    if (items.length === 0) return;
    this.items = [];
    const started = performance.now();

    // Per room, in sequencing order (a Map keeps insertion order).
    const byRoom = new Map<Room, CommitItem[]>();
    for (const it of items) {
      let list = byRoom.get(it.room);
      if (list === undefined) byRoom.set(it.room, (list = []));
      list.push(it);
    }
    const entries: { docId: string; expectedHead: number; events: DocEvent[] }[] = [];
    let count = 0;
    for (const [room, list] of byRoom) {
      const events: DocEvent[] = [];
      for (const it of list) for (const e of it.appended) events.push(e);
      if (events.length > 0) entries.push({ docId: room.docId, expectedHead: room.committedHead, events });
      count += events.length;
    }

    const { log } = this.opts;
    const written = entries.length > 0 ? guardStore(log, 'group commit', () => this.opts.store.appendMany(entries)) : ok(null);
    for (const room of byRoom.keys()) room.pending -= byRoom.get(room)!.length;
    this.stats.flushes++;

    if (written.ok) {
      this.stats.events += count;
      for (const [room, list] of byRoom) {
        try {
          room.committedItems(list);
        } catch (e) {
          this.opts.log.error(`room ${room.docId}: sending committed events failed: ${(e as Error).stack ?? String(e)}`);
        }
      }
    } else {
      this.stats.failures++;
      log.error(`commit of ${count} events in ${entries.length} documents failed, nothing stored: ${written.error.code}: ${written.error.message}`);
      const text = encodeServerMessage({
        type: 'error',
        code: 'store-failed',
        message: 'the server could not store your events; nothing was acknowledged: re-sync and resend',
        fatal: false,
      });
      const told = new Set<unknown>();
      for (const it of items) {
        if (told.has(it.peer)) continue;
        told.add(it.peer);
        it.peer.sendRaw(text);
      }
      for (const room of byRoom.keys()) {
        // The hub closes a broken room's connections and drops it.
        if (!guardStore(log, `room ${room.docId}: rebuilding from the store`, () => ok(room.reload())).ok) room.broken = true;
      }
    }
    this.opts.afterFlush?.([...byRoom.keys()]);
    this.lastFlushMs = performance.now() - started;
  }
}
