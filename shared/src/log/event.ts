/**
 * The event: one change as the log keeps it (docs/spec.md, "Words"). The log is the truth;
 * the document at version v is the fold of its first v events.
 */
import type { Op } from '../op/op.js';

/** What kind of change an event is; undo/redo/restore are appends like any edit (U2, T1). */
export type EventKind = 'edit' | 'undo' | 'redo' | 'restore';

export const eventKinds: readonly EventKind[] = ['edit', 'undo', 'redo', 'restore'];

/**
 * Unique forever: the client picks `client` once (a random id per device or tab) and
 * numbers its events 1, 2, 3, … in the order it makes them, never reusing a number.
 * The server appends an id at most once (L3).
 */
export interface EventId {
  readonly client: string;
  readonly clientSeq: number;
}

/** Free-form metadata that rides along and never decides order (e.g. the client's clock). */
export type EventMeta = Readonly<Record<string, string | number | boolean | null>>;

/**
 * An event in a document's log. Promises: `seq` runs 1, 2, 3, … per document with no
 * gap (L1); `op` applies to the document at `seq - 1`; `base` ≤ `seq - 1` is the last
 * seq the author had applied when sending it; `time` is the server's clock at append
 * (ms since the epoch), never used for ordering.
 */
export interface DocEvent {
  readonly id: EventId;
  readonly seq: number;
  readonly base: number;
  readonly author: string;
  readonly time: number;
  readonly op: Op;
  readonly kind: EventKind;
  readonly meta?: EventMeta;
}

/**
 * An event as its author makes it, before the server gives it a seq and a time. `op`
 * applies to the author's own view: the log up to the batch's base, then the author's
 * own earlier events that are not in that prefix.
 */
export interface LocalEvent {
  readonly id: EventId;
  readonly author: string;
  readonly op: Op;
  readonly kind: EventKind;
  readonly meta?: EventMeta;
}

/** A map key for an event id. */
export function idKey(id: EventId): string {
  return `${id.clientSeq}@${id.client}`;
}

export function sameId(a: EventId, b: EventId): boolean {
  return a.clientSeq === b.clientSeq && a.client === b.client;
}
