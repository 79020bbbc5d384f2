/**
 * Compare two versions (`history-compare`): the later text with insertions (underlined)
 * and deletions (struck through) marked in their authors' colours (compare.ts). Text only.
 */
import { useMemo } from 'react';
import type { HistoryModel } from './history-model.js';
import { compareVersions, MAX_COMPARE_EVENTS, type Segment } from './compare.js';
import { authorColor } from './author-color.js';

export function CompareView({
  model,
  at,
  other,
  onOther,
  max,
  base,
}: {
  model: HistoryModel;
  at: number;
  other: number;
  onOther: (v: number) => void;
  max: number;
  /** The lowest loaded version: below it there is nothing to compare yet. */
  base: number;
}) {
  const a = Math.min(at, other);
  const b = Math.max(at, other);
  const result = useMemo((): Segment[] | string => {
    if (b - a > MAX_COMPARE_EVENTS) return `Too far apart to compare event by event (at most ${MAX_COMPARE_EVENTS} events).`;
    if (a < base) return `Loading the history before version ${base}…`;
    const rope = model.index.ropeAt(a);
    try {
      return compareVersions(rope.toString(), rope.authorship(), model.events(a, b));
    } catch (e) {
      return `Could not compare: ${(e as Error).message}`;
    }
  }, [model, a, b, base]);
  return (
    <div className="history-compare-box">
      <label>
        Compare version {at} with version{' '}
        <input
          type="number"
          data-testid="history-compare-other"
          min={0}
          max={max}
          value={other}
          onChange={(e) => onOther(Math.max(0, Math.min(max, Math.floor(Number(e.currentTarget.value) || 0))))}
        />
      </label>
      <p className="history-compare-legend">
        Changes from version {a} to version {b}: insertions underlined, deletions struck through, in the colour of who made them.
      </p>
      {typeof result === 'string' ? (
        <p className="problem">{result}</p>
      ) : (
        <div className="history-view history-compare" data-testid="history-compare">
          {result.map((s, i) =>
            s.kind === 'same' ? (
              <span key={i}>{s.text}</span>
            ) : s.kind === 'ins' ? (
              <ins key={i} data-author={s.author} title={`inserted by ${s.author}`} style={{ textDecorationColor: authorColor(s.author), background: `${authorColor(s.author)}33` }}>
                {s.text}
              </ins>
            ) : (
              <del key={i} data-author={s.author} title={`deleted by ${s.author}`} style={{ textDecorationColor: authorColor(s.author), color: authorColor(s.author) }}>
                {s.text}
              </del>
            ),
          )}
        </div>
      )}
    </div>
  );
}
