/**
 * Where undo steps begin (issue 5): which local edits continue the open undo step and
 * which start a new one. Pure: the editor binding feeds it what each transaction was
 * (its kind, from CodeMirror's userEvent, and its shape) and the time, and records the
 * answer in the event (`meta.step`, shared/src/history/undo.ts), so after a reload undo
 * walks exactly the same steps.
 *
 * A run of typing continues one step while each edit
 *   - is of the same class as the run (typing, or deleting with Backspace/Delete: a
 *     switch between them starts a new step, as in most editors),
 *   - comes within `gapMs` (500 ms) of the previous edit of the run,
 *   - has one caret and no selection it replaces,
 *   - and nothing broke the run in between: a caret jump (a selection change that was
 *     not an edit: a click, an arrow key), an undo or a redo, a remote reset.
 * Typing over a selection starts a new step (which the typing after it continues).
 * Everything else (a paste, a cut, a drop, a multi-caret edit, an autocompletion, any
 * edit the binding cannot name) is a step of its own, and the edit after it starts a
 * new step again.
 */

/** What kind of edit a transaction is, as far as steps are concerned. */
export type EditClass = 'type' | 'delete' | 'other';

/** What the binding knows about one local edit. */
export interface EditShape {
  readonly cls: EditClass;
  /** More than one caret or changed range. */
  readonly multi: boolean;
  /** It replaced a non-empty selection. */
  readonly replacedSelection: boolean;
  /** ms (any clock, increasing). */
  readonly time: number;
}

/** The class of a CodeMirror transaction's `userEvent` (undefined: not a user event). */
export function classOfUserEvent(userEvent: string | undefined): EditClass {
  if (userEvent === undefined) return 'other';
  // 'input.type' and 'input.type.compose' (IME); plain 'input' is Enter and friends from the keymap.
  if (userEvent === 'input' || userEvent === 'input.type' || userEvent.startsWith('input.type.')) return 'type';
  if (userEvent === 'delete.backward' || userEvent === 'delete.forward' || userEvent.startsWith('delete.backward.') || userEvent.startsWith('delete.forward.')) {
    return 'delete';
  }
  // input.paste, input.drop, input.complete, delete.cut, delete.selection, delete.line, move.*, ...
  return 'other';
}

export const STEP_GAP_MS = 500;

export class StepGrouper {
  /** The open run: its step key, class, and the time of its last edit. */
  private run: { key: string; cls: 'type' | 'delete'; last: number } | null = null;

  constructor(private readonly gapMs: number = STEP_GAP_MS) {}

  /**
   * The step key for the next edit: the open run's, or `ownKey` (the key the edit's own
   * event will have) when it starts a new step. Records the edit.
   */
  stepFor(edit: EditShape, ownKey: string): string {
    const r = this.run;
    // Typing over a selection starts a step that the typing after it continues.
    const single = edit.cls !== 'other' && !edit.multi;
    if (r !== null && single && !edit.replacedSelection && edit.cls === r.cls && edit.time - r.last <= this.gapMs && edit.time >= r.last) {
      r.last = edit.time;
      return r.key;
    }
    this.run = single ? { key: ownKey, cls: edit.cls as 'type' | 'delete', last: edit.time } : null;
    return ownKey;
  }

  /** The caret moved without an edit, or an undo/redo happened: the next edit starts a step. */
  breakRun(): void {
    this.run = null;
  }

  /** The key of the open run, if any (tests). */
  get openKey(): string | null {
    return this.run?.key ?? null;
  }
}
