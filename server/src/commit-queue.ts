/**
 * Group commit. Durability costs an fsync per transaction (the SQLite store runs with
 * synchronous = FULL), and an fsync costs the same for one event as for a thousand. So
 * submits are sequenced the moment they arrive (the sequencer rebases the next submit
 * over them at once), collected, and written together: everything that arrived before
 * the event loop turns (setImmediate) or, with `windowMs`, within that window, goes to
 * `store.appendMany` in one transaction across all rooms.
 *
 * Only after that resolves ok do acks and broadcasts go out (L2), room by room in seq
 * order (room.ts), so nothing a client saw acknowledged can be lost by a crash.
 *
 * One group is in flight at a time. While it is, submits keep being sequenced and
 * collected into the next group, which is written when the first has resolved: its
 * expected heads are then the heads the first one left (two appends in flight for one
 * document would both expect the same head, and the second would fail).
 *
 * On failure nothing of the group is stored, but the rooms' sequencers have advanced
 * past the store. The failure is logged, every submitter gets `store-failed` (not
 * fatal: it re-syncs and resends, its outbox still has the events), and each affected
 * room is rebuilt from the store, as after a restart. What those rooms sequenced while
 * the group was in flight was built on the lost events: it is dropped from the next
 * group when the room is rebuilt, and its submitters get `store-failed` too.
 *
 * A group that lost a race to another node (head-mismatch: several nodes over one
 * database, docs/scale.md) is not a failure: each of its rooms re-reads the log and
 * sequences the same batches again, with what it sequenced on top of them meanwhile
 * (Room.retryLost), and they go into the next group. After MAX_RACES in a row a room's
 * submitters get `store-failed` as above.
 */
import { encodeServerMessage, ok, type DocEvent, type Result } from '../../shared/src/index.js';
import { guardStore } from './store/store-guard.js';
import type { LogStore } from './store/log-store.js';
import type { CommitItem, Room } from './room.js';
import type { Logger } from './options.js';

export interface CommitQueueOptions {
  readonly store: LogStore;
  readonly log: Logger;
  /** 0: flush when the event loop turns; more: wait this many ms for more submits. */
  readonly windowMs: number;
  /** Called after each flush for rooms that may now be idle. */
  readonly afterFlush?: (rooms: readonly Room[]) => void;
  /**
   * One transaction per document instead of one per group (several nodes over one
   * database): a lost race then costs only its document. PostgreSQL flushes the WAL of
   * concurrent commits together, so the fsyncs a group saved are mostly saved still.
   */
  readonly perDocument?: boolean;
}

export interface CommitStats {
  flushes: number;
  events: number;
  failures: number;
  /** Groups that lost a race to another node and were sequenced again. */
  racesLost: number;
}

/** Lost races in a row for one room before its submitters get store-failed (and re-sync) instead. */
const MAX_RACES = 20;

export class CommitQueue {
  private items: CommitItem[] = [];
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;
  /** The group being written (and, on failure, its rooms rebuilt); null when none is. */
  private inFlight: Promise<void> | null = null;
  readonly stats: CommitStats = { flushes: 0, events: 0, failures: 0, racesLost: 0 };

  constructor(private readonly opts: CommitQueueOptions) {}

  get size(): number {
    return this.items.length;
  }

  /** Queues a sequenced submit; it is answered after the next flush. */
  push(item: CommitItem): void {
    this.items.push(item);
    item.room.pending++;
    if (this.scheduled !== null) return;
    const run = () => void this.flush();
    if (this.opts.windowMs > 0) this.scheduled = setTimeout(run, this.opts.windowMs);
    else this.scheduled = setImmediate(run);
  }

  /**
   * Writes everything queued as one group, unless a group is in flight: then the queue
   * is written when it resolves. Resolves when nothing is queued or in flight.
   */
  async flush(): Promise<void> {
    if (this.scheduled !== null) {
      clearTimeout(this.scheduled as NodeJS.Timeout);
      clearImmediate(this.scheduled as NodeJS.Immediate);
      this.scheduled = null;
    }
    for (;;) {
      if (this.inFlight !== null) {
        await this.inFlight;
        continue;
      }
      if (this.items.length === 0) return;
      this.inFlight = this.write().finally(() => (this.inFlight = null));
    }
  }

  /**
   * Writes the queued items, then answers (or fails) every item. One transaction for the
   * whole group; with `perDocument` (several nodes), one per document, all at once, so a
   * race one document lost to another node does not fail the others.
   */
  private async write(): Promise<void> {
    const items = this.items;
    this.items = [];

    // Per room, in sequencing order (a Map keeps insertion order).
    const byRoom = new Map<Room, CommitItem[]>();
    for (const it of items) {
      let list = byRoom.get(it.room);
      if (list === undefined) byRoom.set(it.room, (list = []));
      list.push(it);
    }
    const entries: { room: Room; docId: string; expectedHead: number; events: DocEvent[] }[] = [];
    for (const [room, list] of byRoom) {
      const events: DocEvent[] = [];
      for (const it of list) for (const e of it.appended) events.push(e);
      if (events.length > 0) entries.push({ room, docId: room.docId, expectedHead: room.committedHead, events });
    }

    const { log, store } = this.opts;
    const outcome = new Map<Room, Result<null>>();
    if (this.opts.perDocument === true) {
      const results = await Promise.all(entries.map((e) => guardStore(log, `commit of ${e.docId}`, () => store.append(e.docId, e.expectedHead, e.events))));
      entries.forEach((e, k) => outcome.set(e.room, results[k]));
    } else if (entries.length > 0) {
      const written = await guardStore(log, 'group commit', () => store.appendMany(entries.map(({ docId, expectedHead, events }) => ({ docId, expectedHead, events }))));
      for (const e of entries) outcome.set(e.room, written);
    }
    for (const room of byRoom.keys()) room.pending -= byRoom.get(room)!.length;
    this.stats.flushes++;

    const failed: [Room, CommitItem[]][] = [];
    const lost: [Room, CommitItem[]][] = [];
    let failure = '';
    for (const [room, list] of byRoom) {
      const r = outcome.get(room) ?? ok(null); // a room with only duplicates wrote nothing
      if (r.ok) {
        for (const it of list) this.stats.events += it.appended.length;
        try {
          room.committedItems(list);
        } catch (e) {
          this.opts.log.error(`room ${room.docId}: sending committed events failed: ${(e as Error).stack ?? String(e)}`);
        }
      } else if (r.error.code === 'head-mismatch' && room.racesLost < MAX_RACES) {
        lost.push([room, list]);
      } else {
        failed.push([room, list]);
        failure = `${r.error.code}: ${r.error.message}`;
      }
    }
    // Another node committed first (several nodes over one database, docs/scale.md):
    // nothing of it was stored; each such room re-reads the log and sequences its batches
    // again (and what it sequenced on top of them meanwhile), for the next group. The
    // rooms are independent, so they do it at once.
    await Promise.all(
      lost.map(async ([room, list]) => {
        this.stats.racesLost++;
        room.racesLost++;
        const taken: CommitItem[] = [];
        const takeQueued = () => {
          const d = this.dropQueued(room);
          taken.push(...d);
          return d;
        };
        const again = await guardStore(log, `room ${room.docId}: sequencing a lost race again`, async () => ok(await room.retryLost(list, takeQueued, (it) => this.push(it))));
        if (!again.ok) {
          room.broken = true;
          this.tellFailed([...list, ...taken, ...this.dropQueued(room)]);
        }
      }),
    );

    if (failed.length > 0) {
      this.stats.failures++;
      const n = failed.reduce((k, [, list]) => k + list.reduce((m, it) => m + it.appended.length, 0), 0);
      log.error(`commit of ${n} events in ${failed.length} documents failed, nothing of them stored: ${failure}`);
      const told = new Set<unknown>();
      const tell = (list: readonly CommitItem[]) => this.tellFailed(list, told);
      for (const [, list] of failed) tell(list);
      for (const [room] of failed) {
        // Sequenced on the sequencer the reload replaces: dropped in the turn it is replaced.
        const dropLater = () => tell(this.dropQueued(room));
        const rebuilt = await guardStore(log, `room ${room.docId}: rebuilding from the store`, async () => ok(await room.reload(dropLater)));
        if (!rebuilt.ok) {
          // The hub closes a broken room's connections and drops it.
          room.broken = true;
          tell(this.dropQueued(room));
        }
      }
    }
    this.opts.afterFlush?.([...byRoom.keys()]);
  }

  /** Tells the submitters of `items` (once each) that nothing of theirs was stored. */
  private tellFailed(items: readonly CommitItem[], told = new Set<unknown>()): void {
    const text = encodeServerMessage({
      type: 'error',
      code: 'store-failed',
      message: 'the server could not store your events; nothing was acknowledged: re-sync and resend',
      fatal: false,
    });
    for (const it of items) {
      if (told.has(it.peer)) continue;
      told.add(it.peer);
      it.peer.sendRaw(text);
    }
  }

  /** Takes `room`'s items out of the queue (their events were never stored) and returns them. */
  private dropQueued(room: Room): CommitItem[] {
    const dropped = this.items.filter((it) => it.room === room);
    if (dropped.length === 0) return dropped;
    this.items = this.items.filter((it) => it.room !== room);
    room.pending -= dropped.length;
    return dropped;
  }
}
