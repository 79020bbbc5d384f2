/**
 * What goes out after a group commit. Submits are sequenced on arrival but answered only
 * once their group is durable (L2); then every connection of the room gets the group's
 * events as one `events` message, the same message object for every connection, so a
 * shell encodes it once and every receiver gets one frame per commit turn (P5). A
 * submitter finds its own events in it, where they stand, and takes each as the
 * confirmation of its outbox head (`ClientState.receive`): that is its ack, with the
 * log's seq and time.
 *
 * Why not an `ack` per own event, as protocol 3 first did: then every submitter got its
 * own stream (runs of the others' events between its acks), encoded for it alone, so a
 * turn with k submitters encoded about k copies of the group, and sent about 2k more
 * frames. In a crowded document k grows with the load and the group with the latency,
 * and that per-turn cost was the collapse measured in issue 15
 * (bench/results/crowded-2026-12-05.md).
 *
 * Duplicates (ids the log already had, L3) are still acked, with their original seq, after
 * the group, when the stream has reached that seq: a duplicate names an event sequenced
 * before the submit that repeated it, so at or before this group's end.
 *
 * A submitter that left before its commit gets nothing: its events are in the log, and
 * the client's resend after reconnecting is answered as duplicates.
 */
import type { DocEvent, EventId } from '../log/event.js';
import type { ServerMessage, EventsMessage } from '../protocol/messages.js';

/**
 * One sequenced submit waiting for its commit: the events the sequencer appended (in
 * seq order, continuing the previous item of the room) and the duplicates it answered
 * with their original seqs. `peer` is who sent it.
 */
export interface CommitItem<P> {
  readonly peer: P;
  readonly appended: readonly DocEvent[];
  readonly duplicates: readonly { readonly id: EventId; readonly seq: number }[];
}

/** One message for one connection. The order of a list of sends is the order on the wire. */
export interface Send<P> {
  readonly to: P;
  readonly msg: ServerMessage;
}

/**
 * The sends for a committed group: `items` are one room's, in sequencing order, all
 * committed; `peers` are the connections in the room now. Pure: it changes nothing.
 * Every send of the group's events carries the same message object.
 */
export function commitStream<P>(items: readonly CommitItem<P>[], peers: ReadonlySet<P>): Send<P>[] {
  const all: DocEvent[] = [];
  for (const it of items) for (const e of it.appended) all.push(e);
  const out: Send<P>[] = [];
  if (all.length > 0) {
    const shared: EventsMessage = { type: 'events', events: all };
    for (const p of peers) out.push({ to: p, msg: shared });
  }
  for (const it of items) {
    if (it.duplicates.length === 0 || !peers.has(it.peer)) continue;
    for (const d of it.duplicates) out.push({ to: it.peer, msg: { type: 'ack', id: d.id, seq: d.seq } });
  }
  return out;
}
