/**
 * A checkpoint caches the fold of a log prefix: the text and its authorship at `seq`.
 * It is never the truth (the log is), so a checkpoint that fails to decode is simply
 * not used; replaying from an earlier one, or from empty, gives the same state (L5).
 *
 * Encoding, version 1, JSON:
 *   {"v":1,"docId":"…","seq":N,"text":"…","authors":["ann","bob"],"runs":[0,12,1,3,…]}
 * with `runs` flat pairs (index into `authors`, length), covering `text` exactly. JSON
 * because `JSON.parse` of a large string is about as fast as any decoder written in JS
 * and the format stays readable in IndexedDB and SQLite.
 */
import type { AuthorRun } from '../text/authorship.js';
import { Rope } from '../text/rope.js';
import { type Result, ok, err } from '../result.js';

export const CHECKPOINT_VERSION = 1;

/** The document at `seq`: text plus runs that cover it exactly, neighbours by different authors. */
export interface Checkpoint {
  readonly docId: string;
  readonly seq: number;
  readonly text: string;
  readonly authorship: readonly AuthorRun[];
}

export function checkpointOf(docId: string, seq: number, rope: Rope): Checkpoint {
  return { docId, seq, text: rope.toString(), authorship: rope.authorship() };
}

export function ropeFromCheckpoint(cp: Checkpoint): Rope {
  return Rope.fromRuns(cp.text, cp.authorship);
}

export function encodeCheckpoint(cp: Checkpoint): string {
  const authors: string[] = [];
  const index = new Map<string, number>();
  const runs: number[] = [];
  for (const r of cp.authorship) {
    let i = index.get(r.author);
    if (i === undefined) {
      i = authors.length;
      authors.push(r.author);
      index.set(r.author, i);
    }
    runs.push(i, r.length);
  }
  return JSON.stringify({ v: CHECKPOINT_VERSION, docId: cp.docId, seq: cp.seq, text: cp.text, authors, runs });
}

export function decodeCheckpoint(encoded: string): Result<Checkpoint> {
  let raw: unknown;
  try {
    raw = JSON.parse(encoded);
  } catch (e) {
    return bad(`not JSON: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object') return bad('not an object');
  const o = raw as Record<string, unknown>;
  if (o.v !== CHECKPOINT_VERSION) return err('checkpoint-version', `unsupported checkpoint version ${String(o.v)}`);
  if (typeof o.docId !== 'string') return bad('docId must be a string');
  if (typeof o.seq !== 'number' || !Number.isInteger(o.seq) || o.seq < 0) return bad('seq must be a non-negative integer');
  if (typeof o.text !== 'string') return bad('text must be a string');
  if (!Array.isArray(o.authors) || !o.authors.every((a) => typeof a === 'string')) return bad('authors must be strings');
  if (!Array.isArray(o.runs) || o.runs.length % 2 !== 0) return bad('runs must be pairs of numbers');
  const authors = o.authors as string[];
  const flat = o.runs as unknown[];
  const authorship: AuthorRun[] = [];
  let covered = 0;
  for (let i = 0; i < flat.length; i += 2) {
    const a = flat[i];
    const len = flat[i + 1];
    if (typeof a !== 'number' || !Number.isInteger(a) || a < 0 || a >= authors.length) return bad(`run ${i / 2}: bad author index`);
    if (typeof len !== 'number' || !Number.isInteger(len) || len <= 0) return bad(`run ${i / 2}: bad length`);
    authorship.push({ author: authors[a], length: len });
    covered += len;
  }
  if (covered !== o.text.length) return bad(`runs cover ${covered} units but the text has ${o.text.length}`);
  return ok({ docId: o.docId, seq: o.seq, text: o.text, authorship });
}

function bad(message: string) {
  return err('checkpoint-malformed', `checkpoint: ${message}`);
}
