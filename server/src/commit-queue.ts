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
 * A group that lost a race (`head-mismatch`: another server process sharing the database
 * appended to one of its documents first, R21) is not a failure: each of its rooms
 * catches up (takes back what it sequenced, reads only the events it lacks and adopts
 * them, which sends the other process's events to its connections: R26), then
 * sequences the group's batches again, as their clients sent them,
 * over the events it lacked, and the next group writes them at the seqs the database has
 * free. New submits to those rooms wait until that is done. Nothing was acknowledged
 * before, so nothing acknowledged changes.
 */
import { encodeServerMessage, ok, err, type DocEvent, type Result } from '../../shared/src/index.js';
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
  /**
   * One transaction per document instead of one per group (several nodes over one
   * database, docs/scale.md): a race one document lost to another node then costs only
   * that document, not every document of the group. PostgreSQL flushes the WAL of
   * concurrent commits together, so most of what a group saved is saved still.
   */
  readonly perDocument?: boolean;
}

export interface CommitStats {
  flushes: number;
  events: number;
  failures: number;
  /** Groups that lost a race to another process and were sequenced again. */
  races: number;
}

export class CommitQueue {
  private items: CommitItem[] = [];
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | null = null;
  /** The group being written (and, on failure, its rooms rebuilt); null when none is. */
  private inFlight: Promise<void> | null = null;
  readonly stats: CommitStats = { flushes: 0, events: 0, failures: 0, races: 0 };
  /** How long the last group's write took (ms): the next one waits at least as long (flush-pacing.ts). */
  private lastFlushMs = 0;
  /** Connections the last group went out to, and when it ended (flush-pacing.ts). */
  private lastFanOut = 0;
  private lastFlushEnd = 0;

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
    const delay = nextFlushDelay(this.opts.windowMs, { ms: this.lastFlushMs, fanOut: this.lastFanOut, sinceMs: performance.now() - this.lastFlushEnd });
    if (delay > 0) this.scheduled = setTimeout(run, delay);
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

  /** Writes the queued items in one transaction, then answers (or fails) every item. */
  private async write(): Promise<void> {
    const items = this.items;
    this.items = [];
    const started = performance.now();

    // Per room, in sequencing order (a Map keeps insertion order).
    const byRoom = new Map<Room, CommitItem[]>();
    for (const it of items) {
      let list = byRoom.get(it.room);
      if (list === undefined) byRoom.set(it.room, (list = []));
      list.push(it);
    }
    const entries: { room: Room; docId: string; expectedHead: number; events: DocEvent[] }[] = [];
    let count = 0;
    for (const [room, list] of byRoom) {
      const events: DocEvent[] = [];
      for (const it of list) for (const e of it.appended) events.push(e);
      if (events.length > 0) entries.push({ room, docId: room.docId, expectedHead: room.committedHead, events });
      count += events.length;
    }

    const { log, store } = this.opts;
    if (this.opts.perDocument === true && store.appendSerialized !== undefined) {
      await this.writeSerialized(byRoom, entries);
      this.finished(byRoom, started);
      return;
    }
    let written: Result<null>;
    if (this.opts.perDocument === true && entries.length > 1) {
      // Several nodes: each document on its own; the ones that lost a race catch up (below)
      // and the others are answered now, as a group of their own.
      const results = await Promise.all(entries.map((e) => guardStore(log, `commit of ${e.docId}`, () => store.append(e.docId, e.expectedHead, e.events))));
      const failed = results.find((r) => !r.ok && r.error.code !== 'head-mismatch');
      const lost = new Set(entries.filter((_, k) => !results[k].ok).map((e) => e.room));
      written = failed ?? (lost.size > 0 ? err('head-mismatch', `${lost.size} of ${entries.length} documents lost a race`) : ok(null));
      if (failed === undefined && lost.size > 0) {
        // Split the group: what landed is answered, what lost catches up.
        for (const room of byRoom.keys()) room.pending -= byRoom.get(room)!.length;
        this.stats.flushes++;
        for (const [room, list] of byRoom) {
          if (lost.has(room)) continue;
          for (const it of list) this.stats.events += it.appended.length;
          try {
            room.committedItems(list);
          } catch (e) {
            this.opts.log.error(`room ${room.docId}: sending committed events failed: ${(e as Error).stack ?? String(e)}`);
          }
        }
        this.stats.races++;
        await Promise.all([...lost].map((room) => room.catchUp(() => this.sequenceAgain(room, byRoom.get(room)!))));
        this.finished(byRoom, started);
        return;
      }
    } else {
      written = entries.length > 0 ? await guardStore(log, 'group commit', () => store.appendMany(entries.map(({ docId, expectedHead, events }) => ({ docId, expectedHead, events })))) : ok(null);
    }
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
    } else if (written.error.code === 'head-mismatch') {
      this.stats.races++;
      log.info(`commit of ${count} events lost a race (${written.error.message}): catching up and sequencing again`);
      await Promise.all([...byRoom].map(([room, list]) => room.catchUp(() => this.sequenceAgain(room, list))));
    } else {
      this.stats.failures++;
      log.error(`commit of ${count} events in ${entries.length} documents failed, nothing stored: ${written.error.code}: ${written.error.message}`);
      await this.failed(items, [...byRoom.keys()]);
    }
    this.finished(byRoom, started);
  }

  /** After every write, however it ended: the hook, and what pacing the next flush needs (K18). */
  private finished(byRoom: ReadonlyMap<Room, readonly CommitItem[]>, started: number): void {
    this.opts.afterFlush?.([...byRoom.keys()]);
    this.lastFlushEnd = performance.now();
    this.lastFlushMs = this.lastFlushEnd - started;
    this.lastFanOut = 0;
    for (const room of byRoom.keys()) this.lastFanOut += room.peers.size;
  }

  /**
   * Several nodes with a store that serializes a document's appends (R27): each document
   * in a transaction of its own that waits for the other nodes' appends to it instead of
   * losing to them; a document another node appended to meanwhile is rebased inside that
   * transaction (`rebaseInLock`) and written at once, no second round.
   */
  private async writeSerialized(byRoom: Map<Room, CommitItem[]>, entries: readonly { room: Room; docId: string; expectedHead: number; events: DocEvent[] }[]): Promise<void> {
    const { log, store } = this.opts;
    const outcomes = await Promise.all(
      entries.map(async (e) => {
        let list = byRoom.get(e.room)!;
        const r = await guardStore(log, `commit of ${e.docId}`, () =>
          store.appendSerialized!(e.docId, e.expectedHead, e.events, async (missing) => {
            list = await this.rebaseInLock(e.room, list, missing);
            const out: DocEvent[] = [];
            for (const it of list) for (const ev of it.appended) out.push(ev);
            return out;
          }),
        );
        return { room: e.room, list, r };
      }),
    );
    const done = new Map<Room, { list: CommitItem[]; r: Result<null> }>();
    for (const o of outcomes) done.set(o.room, o);
    for (const room of byRoom.keys()) room.pending -= byRoom.get(room)!.length;
    this.stats.flushes++;
    const failedItems: CommitItem[] = [];
    const failedRooms: Room[] = [];
    const lost: [Room, CommitItem[]][] = [];
    for (const [room, original] of byRoom) {
      // A room with nothing to append (only duplicates) is answered as written.
      const { list, r } = done.get(room) ?? { list: original, r: ok(null) };
      if (r.ok) {
        for (const it of list) this.stats.events += it.appended.length;
        try {
          room.committedItems(list);
        } catch (e) {
          log.error(`room ${room.docId}: sending committed events failed: ${(e as Error).stack ?? String(e)}`);
        }
      } else if (r.error.code === 'head-mismatch') lost.push([room, list]);
      else {
        log.error(`commit of ${room.docId} failed, nothing stored: ${r.error.code}: ${r.error.message}`);
        failedItems.push(...list);
        failedRooms.push(room);
      }
    }
    if (lost.length > 0) {
      // Someone appended without the lock (or past lock_timeout): the catch-up of R21.
      this.stats.races++;
      await Promise.all(lost.map(([room, list]) => room.catchUp(() => this.sequenceAgain(room, list))));
    }
    if (failedRooms.length > 0) {
      this.stats.failures++;
      await this.failed(failedItems, failedRooms);
    }
  }

  /**
   * Inside the document's locked transaction, another node had appended: `room` takes back
   * what it sequenced, adopts the missing events (its connections get them), and sequences
   * `list` and what was queued for it since again over them. Resolves with the new items,
   * which the transaction writes. New submits to the room wait until then.
   */
  private async rebaseInLock(room: Room, list: readonly CommitItem[], missing: readonly DocEvent[]): Promise<CommitItem[]> {
    const { log } = this.opts;
    const out: CommitItem[] = [];
    await room.catchUp(async () => {
      let again: CommitItem[] = [];
      room.rewindAndAdopt(missing, () => (again = [...list, ...this.dropQueued(room)]));
      for (const it of again) {
        const r = await guardStore(log, `room ${room.docId}: sequencing again`, async () => {
          const s = await room.sequence(it.peer, it.batch, (item) => out.push(item));
          return s === 'wait' ? ok(null) : s;
        });
        if (!r.ok) it.peer.sendRaw(encodeServerMessage({ type: 'error', code: r.error.code as 'store-failed', message: r.error.message, fatal: false }));
      }
    });
    return out;
  }

  /** Nothing of `items` was stored: their submitters hear `store-failed`, and `rooms` are rebuilt from the store. */
  private async failed(items: readonly CommitItem[], rooms: readonly Room[]): Promise<void> {
    const { log } = this.opts;
    const text = encodeServerMessage({
      type: 'error',
      code: 'store-failed',
      message: 'the server could not store your events; nothing was acknowledged: re-sync and resend',
      fatal: false,
    });
    const told = new Set<unknown>();
    const tell = (list: readonly CommitItem[]) => {
      for (const it of list) {
        if (told.has(it.peer)) continue;
        told.add(it.peer);
        it.peer.sendRaw(text);
      }
    };
    tell(items);
    for (const room of rooms) {
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

  /**
   * After a lost race: `room` takes back what it sequenced and adopts what the log has
   * beyond its committed head (Room.rebaseAfterRace, R26: one read, no reload), then its
   * batches of the failed group (`list`) and those queued since are sequenced again, in
   * their order, over what it lacked.
   */
  private async sequenceAgain(room: Room, list: readonly CommitItem[]): Promise<void> {
    const { log } = this.opts;
    let again: CommitItem[] = [];
    const reloaded = await guardStore(log, `room ${room.docId}: catching up after a lost race`, async () =>
      ok(await room.rebaseAfterRace(() => (again = [...list, ...this.dropQueued(room)]))),
    );
    const refuse = (it: CommitItem, code: string, message: string) =>
      it.peer.sendRaw(encodeServerMessage({ type: 'error', code: code as 'store-failed', message, fatal: false }));
    if (!reloaded.ok) {
      room.broken = true;
      for (const it of [...list, ...this.dropQueued(room)]) refuse(it, 'store-failed', 'the server could not store your events; nothing was acknowledged: re-sync and resend');
      return;
    }
    for (const it of again) {
      const r = await guardStore(log, `room ${room.docId}: sequencing again`, async () => {
        const s = await room.sequence(it.peer, it.batch, (item) => this.push(item));
        return s === 'wait' ? ok(null) : s;
      });
      if (!r.ok) refuse(it, r.error.code, r.error.message);
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
