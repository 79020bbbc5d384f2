/**
 * The wire and storage form of an op is its canonical JSON: `[5, "abc", {"d": "xy"}]`.
 * `decodeOp` is the only door from untrusted JSON into `Op`: it rejects anything that
 * is not exactly a canonical op (wrong types, empty or fractional pieces, non-canonical
 * order), with a message that says where. Positions are UTF-16 units as in the editor,
 * so an op may split a surrogate pair; that is the editor's business, not the codec's. Whether the op fits a document is
 * a separate question, answered by `checkOp` when it is applied.
 */
import type { Component, Op } from './op.js';
import { type Result, ok, err } from '../result.js';

export type OpCodecErrorCode = 'op-malformed';

/** Limits that keep a hostile op from costing more than its size. */
export interface OpLimits {
  /** Most components in one op. */
  maxComponents: number;
  /** Largest retain (positions beyond any real document are rejected early). */
  maxRetain: number;
}

export const defaultOpLimits: OpLimits = { maxComponents: 100_000, maxRetain: 1 << 30 };

/** The JSON value for an op (ops are already plain JSON; this documents the intent). */
export function encodeOp(op: Op): unknown {
  return op;
}

/** Validates untrusted JSON as a canonical op. */
export function decodeOp(json: unknown, limits: OpLimits = defaultOpLimits): Result<Op> {
  if (!Array.isArray(json)) return bad('an op must be an array');
  if (json.length > limits.maxComponents) {
    return bad(`an op may have at most ${limits.maxComponents} components, this one has ${json.length}`);
  }
  let prev: 'retain' | 'insert' | 'delete' | null = null;
  for (let i = 0; i < json.length; i++) {
    const c: unknown = json[i];
    let kind: 'retain' | 'insert' | 'delete';
    if (typeof c === 'number') {
      if (!Number.isInteger(c) || c <= 0 || c > limits.maxRetain) {
        return bad(`component ${i}: a retain must be a positive integer up to ${limits.maxRetain}, got ${c}`);
      }
      kind = 'retain';
    } else if (typeof c === 'string') {
      if (c.length === 0) return bad(`component ${i}: an insert must not be empty`);
      kind = 'insert';
    } else if (c !== null && typeof c === 'object' && !Array.isArray(c)) {
      const keys = Object.keys(c);
      const d = (c as { d?: unknown }).d;
      if (keys.length !== 1 || typeof d !== 'string') {
        return bad(`component ${i}: a delete must be {"d": "<text>"} and nothing else`);
      }
      if (d.length === 0) return bad(`component ${i}: a delete must not be empty`);
      kind = 'delete';
    } else {
      return bad(`component ${i}: expected a number, a string or {"d": ...}, got ${describe(c)}`);
    }
    if (kind === prev) return bad(`component ${i}: two ${kind}s in a row must be merged into one`);
    if (kind === 'insert' && prev === 'delete') {
      return bad(`component ${i}: an insert next to a delete must come before it`);
    }
    prev = kind;
  }
  if (prev === 'retain') return bad(`component ${json.length - 1}: an op must not end with a retain`);
  return ok(json as Component[]);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v;
}

function bad(message: string) {
  return err('op-malformed', message);
}
