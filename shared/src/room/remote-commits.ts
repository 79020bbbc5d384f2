/**
 * What a room does when it hears that a commit at seq `s` happened elsewhere (another
 * server node appended to the same document in the shared database). The notice is only
 * a pointer: the events are read from the log, so a notice may be late, repeated, out of
 * order or lost without harm, as long as the room keeps the highest seq it has heard of
 * and, when it can, reads everything between its committed head and that seq.
 *
 *   - `s` at or below the committed head: nothing to do (a repeat, an old notice, or the
 *     room's own commit coming back).
 *   - events sequenced here and not yet committed: wait. Their commit either lands after
 *     the other node's (the store refuses it with a head mismatch: the lost race, the
 *     room reloads) or it already did; either way the room asks again after the commit.
 *   - otherwise: read (committedHead, s] and adopt it (RoomCore.adopt), which publishes
 *     it to every connection of the room, in seq order, once.
 *
 * Pure, so the same decision runs in the simulation and on the server.
 */

/** The range to read from the log (from < seq ≤ to), 'wait' for the room's own commits first, or null (nothing new). */
export type CatchUpPlan = { readonly from: number; readonly to: number } | 'wait' | null;

/**
 * `committedHead`/`sequencerHead`: the room's; `heard`: the highest seq any notice (or a
 * head read after a reconnect) said the log has.
 */
export function planCatchUp(committedHead: number, sequencerHead: number, heard: number): CatchUpPlan {
  if (heard <= committedHead) return null;
  if (sequencerHead !== committedHead) return 'wait';
  return { from: committedHead, to: heard };
}
