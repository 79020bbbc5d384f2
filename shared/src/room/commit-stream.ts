/**
 * What goes out after a group commit. Submits are sequenced on arrival but answered only
 * once their group is durable (L2); then every connection of the room gets the group's
 * events as one piece of a single stream, gapless and in seq order:
 *
 *   - a connection that submitted none of them gets one `events` message with all of
 *     them (the same message object for every such connection, so a shell can encode it
 *     once);
 *   - a connection that submitted some gets runs of the others' events with an `ack`
 *     exactly where each of its own events stands, so the client can take the stream
 *     strictly in order (`ClientState.receive` / `ack`) and any disorder is a gap;
 *   - duplicates (ids the log already had, L3) are acked with their original seq after
 *     the group, when the stream has reached that seq: a duplicate names an event
 *     sequenced before the submit that repeated it, so at or before this group's end.
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
 */
export function commitStream<P>(items: readonly CommitItem<P>[], peers: ReadonlySet<P>): Send<P>[] {
  const all: DocEvent[] = [];
  const submitters = new Set<P>();
  for (const it of items) {
    for (const e of it.appended) all.push(e);
    if (it.appended.length > 0) submitters.add(it.peer);
  }
  const present = peers;
  const out: Send<P>[] = [];
  if (all.length > 0) {
    const shared: EventsMessage = { type: 'events', events: all };
    for (const p of present) {
      if (submitters.has(p)) interleave(p, items, out);
      else out.push({ to: p, msg: shared });
    }
  }
  for (const it of items) {
    if (it.duplicates.length === 0 || !present.has(it.peer)) continue;
    for (const d of it.duplicates) out.push({ to: it.peer, msg: { type: 'ack', id: d.id, seq: d.seq } });
  }
  return out;
}

/** A submitter's stream: runs of others' events, and an ack where its own event stands. */
function interleave<P>(p: P, items: readonly CommitItem<P>[], out: Send<P>[]): void {
  let run: DocEvent[] = [];
  for (const it of items) {
    for (const e of it.appended) {
      if (it.peer === p) {
        if (run.length > 0) out.push({ to: p, msg: { type: 'events', events: run } });
        run = [];
        out.push({ to: p, msg: { type: 'ack', id: e.id, seq: e.seq, time: e.time } });
      } else {
        run.push(e);
      }
    }
  }
  if (run.length > 0) out.push({ to: p, msg: { type: 'events', events: run } });
}
