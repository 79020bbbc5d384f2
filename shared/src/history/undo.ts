/**
 * Undo and redo as a fold over the log (docs/spec.md U1-U3).
 *
 * Nothing about undo lives only in memory: the steps, and which of them are undone, are
 * read off the events, so a reload (or another tab of the same person) walks exactly
 * the same stack. The events carry it in their `meta`:
 *
 *   - `step`: the key of the undo step an edit belongs to. A step's key is the id key
 *     (`idKey`) of its first event, so a step starts where `meta.step` names the event
 *     itself; an event without `meta.step` (an import, an older client) is a step alone.
 *   - `target`: on `undo` and `redo` events, the key of the step they act on.
 *   - `label`: a named version (the history panel): an event that changes nothing and is
 *     no undo step, so Ctrl+Z after naming a version undoes the last change instead.
 *
 * The fold keeps, per step of one author, its state (done or undone) and the events
 * whose effect undo or redo would take back: while done, the step's own events (or,
 * once redone, the redo event); while undone, the undo event. Undo reverts the top of
 * the done stack, redo the top of the redo stack, each with `planRevert` over the log
 * from those events to the head (revert.ts). A new step clears the redo stack, as in
 * every editor. Other authors' events do not change the stacks: undo is per person
 * (U1), and two people never undo each other's steps.
 */
import type { EventId, EventKind, EventMeta } from '../log/event.js';
import { idKey } from '../log/event.js';

/** The key of an undo step: the id key of its first event. */
export type StepKey = string;

/** What the fold needs of an event. */
export interface UndoFoldEvent {
  readonly id: EventId;
  readonly author: string;
  readonly kind: EventKind;
  readonly meta?: EventMeta;
}

/** What undo or redo would revert next: `events` (by id) to revert, on behalf of `step`. */
export interface UndoTarget {
  readonly step: StepKey;
  readonly events: readonly EventId[];
}

interface StepState {
  readonly key: StepKey;
  done: boolean;
  /** While done: the events that applied it; while undone: the undo event. */
  events: EventId[];
}

/** The step an event starts or continues (its own key when it names none). */
export function stepOf(ev: UndoFoldEvent): StepKey {
  const s = ev.meta?.step;
  return typeof s === 'string' && s.length > 0 ? s : idKey(ev.id);
}

/** The step an undo or redo event acts on, if it names one. */
export function targetOf(ev: UndoFoldEvent): StepKey | null {
  const t = ev.meta?.target;
  return typeof t === 'string' && t.length > 0 ? t : null;
}

/**
 * One author's undo and redo stacks, folded from the log (confirmed events, then the
 * outbox) in order. Feed every event; other authors' are ignored.
 */
export class UndoHistory {
  private readonly steps = new Map<StepKey, StepState>();
  /** Done steps, oldest first; the top is the last. */
  private readonly done: StepState[] = [];
  /** Undone steps that can be redone; the top is the last. */
  private redoable: StepState[] = [];
  /** For each undo and redo event (by id key): the events it reverted. */
  private readonly reverted = new Map<string, EventId[]>();

  constructor(readonly author: string) {}

  /** Takes the next event of the log. */
  add(ev: UndoFoldEvent): void {
    if (ev.author !== this.author) return;
    if (ev.meta?.label !== undefined) return;
    if (ev.kind === 'undo' || ev.kind === 'redo') {
      const key = targetOf(ev);
      const s = key === null ? undefined : this.steps.get(key);
      if (s === undefined) return; // a step from before what this fold has seen
      if (ev.kind === 'undo' && s.done) {
        this.reverted.set(idKey(ev.id), s.events);
        remove(this.done, s);
        s.done = false;
        s.events = [ev.id];
        this.redoable.push(s);
      } else if (ev.kind === 'redo' && !s.done && remove(this.redoable, s)) {
        this.reverted.set(idKey(ev.id), s.events);
        s.done = true;
        s.events = [ev.id];
        this.done.push(s);
      }
      return;
    }
    const key = stepOf(ev);
    const s = this.steps.get(key);
    if (s !== undefined && s.done) {
      // A continuation: typing goes on in the same step (possibly interleaved with
      // another tab's steps of the same person; the step keeps its place).
      s.events.push(ev.id);
      return;
    }
    const fresh: StepState = { key: s === undefined ? key : idKey(ev.id), done: true, events: [ev.id] };
    this.steps.set(fresh.key, fresh);
    this.done.push(fresh);
    for (const r of this.redoable) this.steps.delete(r.key);
    this.redoable = [];
  }

  /**
   * The events an undo or redo event of this author reverted (as the fold saw them), so
   * that reverting later steps can tell the characters it brought back (revert.ts).
   */
  revertedBy(id: EventId): readonly EventId[] | undefined {
    return this.reverted.get(idKey(id));
  }

  /** How many undo and redo events of this author the fold has taken. */
  get revertCount(): number {
    return this.reverted.size;
  }

  /** What undo reverts next, or null when there is nothing to undo. */
  nextUndo(): UndoTarget | null {
    const s = this.done[this.done.length - 1];
    return s === undefined ? null : { step: s.key, events: s.events.slice() };
  }

  /** What redo reverts next (an undo event), or null when there is nothing to redo. */
  nextRedo(): UndoTarget | null {
    const s = this.redoable[this.redoable.length - 1];
    return s === undefined ? null : { step: s.key, events: s.events.slice() };
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.redoable.length > 0;
  }

  /** Sizes of the two stacks (for display and tests). */
  get depth(): { undo: number; redo: number } {
    return { undo: this.done.length, redo: this.redoable.length };
  }

  /**
   * The key of the step an edit by this author would continue, if it is still the top
   * of the done stack (the caller decides about time and caret jumps).
   */
  get openStep(): StepKey | null {
    const s = this.done[this.done.length - 1];
    return s === undefined ? null : s.key;
  }
}

function remove(list: StepState[], s: StepState): boolean {
  const i = list.lastIndexOf(s);
  if (i < 0) return false;
  list.splice(i, 1);
  return true;
}
