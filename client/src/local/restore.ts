/**
 * From what the local store holds to a `ClientState`: the checkpoint, the tail up to
 * where the stored outbox applies, the outbox, then the rest of the tail received as
 * if from the server (it rebases the outbox, exactly as it would have live). The
 * stored tail may run past the outbox's base when another tab of the same document
 * stored events this tab had not seen.
 */
import { ClientState } from '../../../shared/src/index.js';
import type { StoredDoc } from './local-store.js';

export interface Restored {
  readonly state: ClientState;
  /** The outbox forms changed while restoring (they should be stored again). */
  readonly rebased: boolean;
  /** What could not be restored, for the UI. */
  readonly problems: readonly string[];
}

export function restoreState(doc: StoredDoc, client: string, author: string): Restored {
  const problems = [...doc.problems];
  const before = doc.tail.filter((e) => e.seq <= doc.outboxBase);
  const after = doc.tail.filter((e) => e.seq > doc.outboxBase);
  try {
    const state = new ClientState({
      client,
      author,
      checkpoint: doc.checkpoint,
      tail: before,
      outbox: doc.outbox,
      nextClientSeq: doc.nextClientSeq,
    });
    if (after.length > 0) {
      const r = state.receive(after);
      if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    }
    return { state, rebased: after.length > 0 && doc.outbox.length > 0, problems };
  } catch (e) {
    // The stored copy does not fit together: start empty (the server has the log) and
    // say so; what was in the outbox cannot be placed.
    problems.push(`the stored copy could not be read (${(e as Error).message}); loading from the server`);
    return {
      state: new ClientState({ client, author, nextClientSeq: doc.nextClientSeq }),
      rebased: false,
      problems,
    };
  }
}
