/**
 * Who inserted each character, kept as runs: `[{ author, length }, …]` covering the
 * text exactly, neighbours always by different authors. Inside the rope a leaf keeps
 * its runs as a flat number array `[authorIndex, length, authorIndex, length, …]`
 * (no objects per keystroke); authors are interned per rope.
 *
 * A run is inherited by nothing: an insert is always by the event's author, whatever
 * is around it, and a delete just shortens runs. So authorship needs no op of its own
 * and follows from the log alone (L4 holds for it as for the text).
 */

/** A span of `length` UTF-16 units inserted by `author`. */
export interface AuthorRun {
  readonly author: string;
  readonly length: number;
}

/** Flat leaf runs: even slots author indices, odd slots lengths (all > 0). */
export type FlatRuns = number[];

/** Inserts `n` units by author `a` at offset `off` of a leaf's runs. */
export function runsInsert(runs: FlatRuns, off: number, n: number, a: number): void {
  let acc = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const end = acc + runs[i + 1];
    if (off <= end) {
      if (runs[i] === a) {
        runs[i + 1] += n;
      } else if (off === end) {
        if (i + 2 < runs.length && runs[i + 2] === a) runs[i + 3] += n;
        else runs.splice(i + 2, 0, a, n);
      } else if (off === acc) {
        runs.splice(i, 0, a, n);
      } else {
        runs.splice(i, 2, runs[i], off - acc, a, n, runs[i], end - off);
      }
      return;
    }
    acc = end;
  }
  // off is past the end (only possible with empty runs): append.
  if (runs.length > 0 && runs[runs.length - 2] === a) runs[runs.length - 1] += n;
  else runs.push(a, n);
}

/** Removes `n` units from offset `off`, merging neighbours that become adjacent. */
export function runsDelete(runs: FlatRuns, off: number, n: number): void {
  let acc = 0;
  let i = 0;
  while (i < runs.length && n > 0) {
    const len = runs[i + 1];
    const end = acc + len;
    if (off < end) {
      const cut = Math.min(n, end - off);
      runs[i + 1] = len - cut;
      n -= cut;
      if (runs[i + 1] === 0) {
        runs.splice(i, 2);
        continue; // acc unchanged, next run slid into slot i
      }
      acc = end - cut;
      off = acc; // further deletion starts at the next run
    } else {
      acc = end;
    }
    i += 2;
  }
  // Merge neighbours with equal authors (at most one seam per delete, but be thorough).
  for (let j = 2; j < runs.length; ) {
    if (runs[j] === runs[j - 2]) {
      runs[j - 1] += runs[j + 1];
      runs.splice(j, 2);
    } else j += 2;
  }
}

/** Cuts flat runs at `off`: returns the part after it, leaving the part before in place. */
export function runsSplit(runs: FlatRuns, off: number): FlatRuns {
  let acc = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const end = acc + runs[i + 1];
    if (off < end) {
      if (off === acc) return runs.splice(i);
      const tail = runs.splice(i + 2);
      tail.unshift(runs[i], end - off);
      runs[i + 1] = off - acc;
      return tail;
    }
    acc = end;
  }
  return [];
}

/** Appends flat runs `b` to `a`, merging the seam. */
export function runsAppend(a: FlatRuns, b: FlatRuns): void {
  if (b.length === 0) return;
  let k = 0;
  if (a.length > 0 && a[a.length - 2] === b[0]) {
    a[a.length - 1] += b[1];
    k = 2;
  }
  for (; k < b.length; k++) a.push(b[k]);
}

/** Total length covered by flat runs. */
export function runsLength(runs: FlatRuns): number {
  let n = 0;
  for (let i = 1; i < runs.length; i += 2) n += runs[i];
  return n;
}

/** Appends a run to a list of `AuthorRun`s, merging with the last when the author repeats. */
export function pushRun(out: AuthorRun[], author: string, length: number): void {
  if (length <= 0) return;
  const last = out[out.length - 1];
  if (last !== undefined && last.author === author) out[out.length - 1] = { author, length: last.length + length };
  else out.push({ author, length });
}
