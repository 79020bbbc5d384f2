/** fast-check generators for documents and ops that fit them. */
import fc from 'fast-check';
import { type Op, OpBuilder } from '../../src/op/op.js';
import { applyToString } from '../../src/op/apply.js';
import { unwrap } from '../../src/result.js';

/** Small alphabets make ties and overlapping deletes common, which is where bugs live. */
export const docArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'x', '😀'), maxLength: 12 });
const insArb = fc.string({ unit: fc.constantFrom('1', '2', '3', 'Z'), minLength: 1, maxLength: 3 });

/** A random op that applies to `doc`. */
export function opArb(doc: string): fc.Arbitrary<Op> {
  return fc
    .array(
      fc.tuple(fc.constantFrom('retain', 'insert', 'delete'), fc.nat({ max: 4 }), insArb),
      { maxLength: 6 },
    )
    .map((steps) => {
      const b = new OpBuilder();
      let pos = 0;
      for (const [kind, n, s] of steps) {
        const room = doc.length - pos;
        if (kind === 'insert') b.insert(s);
        else if (room > 0) {
          const k = Math.min(room, n + 1);
          if (kind === 'retain') b.retain(k);
          else b.delete(doc.slice(pos, pos + k));
          pos += k;
        }
      }
      return b.done();
    });
}

/** A document and a sequence of `n` ops applying one after the other. */
export function seqArb(doc: string, n: number): fc.Arbitrary<Op[]> {
  if (n === 0) return fc.constant([]);
  return opArb(doc).chain((op) => {
    const next = unwrap(applyToString(doc, op));
    return seqArb(next, n - 1).map((rest) => [op, ...rest]);
  });
}

export function applyAll(doc: string, ops: readonly Op[]): string {
  for (const op of ops) doc = unwrap(applyToString(doc, op));
  return doc;
}

/**
 * The seed for a property: the fixed `fallback` unless `FC_SEED` is set, so a failure
 * (fast-check prints its seed and path) can be replayed with
 * `FC_SEED=<seed> npx vitest run <file> -t '<name>'`.
 */
export function seed(fallback: number): number {
  const env = process.env.FC_SEED;
  if (env === undefined || env === '') return fallback;
  const n = Number(env);
  if (!Number.isInteger(n)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(env)}`);
  return n;
}
