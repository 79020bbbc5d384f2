/**
 * Named versions: a label on a version is itself an event in the log (nothing is ever
 * stored beside the log). It is an event with an empty op (it changes no text), kind
 * `edit`, and metadata
 *
 *     meta.label   = the name (1..MAX_LABEL characters, rendered as text),
 *     meta.version = the seq it names (≤ the label event's own seq - 1),
 *     meta.step    = its own id key (a step of its own, as docs/spec.md U5 and H4 want).
 *
 * Because it is an event it has an author and a server time, it syncs, survives reloads and
 * appears in the audit list. Renaming is a new label on the same version (the newest wins in
 * the panel); nothing is deleted.
 */
import type { DocEvent, EventMeta } from '../../../shared/src/index.js';

export const MAX_LABEL = 80;

/** A label as the panel shows it. */
export interface NamedVersion {
  readonly version: number;
  readonly name: string;
  readonly author: string;
  readonly time: number;
  /** The label event's own seq. */
  readonly seq: number;
}

/** The label an event carries, or null (malformed labels from other clients are ignored). */
export function labelOf(e: DocEvent): NamedVersion | null {
  const m = e.meta;
  if (m === undefined || typeof m.label !== 'string' || e.op.length !== 0) return null;
  const v = typeof m.version === 'number' && Number.isInteger(m.version) && m.version >= 0 && m.version < e.seq ? m.version : e.seq - 1;
  const name = m.label.trim().slice(0, MAX_LABEL);
  if (name.length === 0) return null;
  return { version: v, name, author: e.author, time: e.time, seq: e.seq };
}

/** The metadata of a label event naming `version` (`step`: the new event's own id key). */
export function labelMeta(name: string, version: number, step: string): EventMeta {
  return { label: name.trim().slice(0, MAX_LABEL), version, step };
}
