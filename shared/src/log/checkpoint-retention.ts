/**
 * Which server checkpoints a document keeps.
 *
 * The server writes a checkpoint every 1,000 committed events (R4), because loading a room
 * and welcoming a new client want one near the head. Each is the whole text of its time
 * (compressed, ~30 KB for automerge-paper's 105 KB), so keeping all of them makes a document
 * grow by a whole text per 1,000 events: for automerge-paper, 259 of them were 95% of the
 * SQLite file, 26x the log itself in blocks. Only the newest is needed to load; older ones are
 * starting points for history pages (a browser loading the history backwards prepends a
 * stretch from the lowest checkpoint in it, docs/history.md), and for that a few per document
 * do: a stretch with none waits for the next one down, and version 0 needs none.
 *
 * The rule (spec R16): a document keeps its `keepNewest` newest checkpoints and, older than
 * those, only the ones whose seq is a multiple of `thinEvery`. The store applies it when it
 * writes a checkpoint, in the same transaction, so it never holds more than
 * `keepNewest + head / thinEvery` of them. The outcome depends only on the set of seqs
 * written, not on their order: a checkpoint that falls out of the newest few never comes back
 * into them, and a multiple of `thinEvery` is never pruned.
 *
 * Why two newest: if the newest is damaged (R4 skips it), the next one is still ~1,000 events
 * back, not `thinEvery`; and a browser that asked for the last page a moment before a new
 * checkpoint was written still finds the one it was told about.
 *
 * Why 150,000: a kept old checkpoint costs its compressed text; spread over the events it
 * stands for, automerge-paper's (~30 KB at its largest) costs 0.2 B per event at one per
 * 150,000, against ~0.7 B per event of log in blocks of 1,000. One per 50,000 would be 0.6 B,
 * and the file (blocks, id index, SQLite's pages, these checkpoints) would pass twice the
 * blocks' bytes, the bound this rule is for (bench/results/figures-from-docs.md has the figures). The browser's
 * history cache keeps whole checkpoints even more sparsely (one per 250,000 seqs), so the
 * history panel loses nothing it relied on. The bound is per checkpoint, not a guarantee for
 * every document: a log that only ever grows its text pays more per kept checkpoint as it
 * grows, which `thinEvery` (a store option, `EVENTIDE_CHECKPOINT_KEEP_EVERY` on the server)
 * can answer.
 */

/**
 * A checkpoint retention rule. Promises: `keepNewest` ≥ 1 (the newest checkpoint is always
 * kept, so a room's welcome always finds it) and `thinEvery` ≥ 1 (a positive integer).
 */
export interface CheckpointRetention {
  /** The newest this many checkpoints of a document are kept whatever their seqs. */
  readonly keepNewest: number;
  /** Older ones are kept only at seqs that are multiples of this. */
  readonly thinEvery: number;
}

/** The server's rule: the newest two, then one per 150,000 seqs (see above for why). */
export const CHECKPOINT_RETENTION: CheckpointRetention = { keepNewest: 2, thinEvery: 150_000 };

/** `rule`, checked: throws (a caller's bug) for counts that are not positive integers. */
export function checkRetention(rule: CheckpointRetention): CheckpointRetention {
  if (!Number.isSafeInteger(rule.keepNewest) || rule.keepNewest < 1) throw new Error(`checkpoint retention: keepNewest ${rule.keepNewest} is not a positive integer`);
  if (!Number.isSafeInteger(rule.thinEvery) || rule.thinEvery < 1) throw new Error(`checkpoint retention: thinEvery ${rule.thinEvery} is not a positive integer`);
  return rule;
}

/**
 * The seqs of `seqs` (one document's checkpoints, in any order, no repeats) that `rule`
 * prunes, ascending: those below the `keepNewest` newest that are not multiples of `thinEvery`.
 */
export function prunedCheckpoints(seqs: readonly number[], rule: CheckpointRetention): number[] {
  if (seqs.length <= rule.keepNewest) return [];
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: number[] = [];
  for (let i = 0; i < sorted.length - rule.keepNewest; i++) if (sorted[i] % rule.thinEvery !== 0) out.push(sorted[i]);
  return out;
}

/** The seqs of `seqs` that `rule` keeps, ascending (what a store holds after writing all of them). */
export function keptCheckpoints(seqs: readonly number[], rule: CheckpointRetention): number[] {
  const pruned = new Set(prunedCheckpoints(seqs, rule));
  return [...seqs].sort((a, b) => a - b).filter((s) => !pruned.has(s));
}
