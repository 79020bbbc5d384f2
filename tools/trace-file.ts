/**
 * Reads the editing traces of fixtures/traces (josephg/editing-traces format, see its
 * README) from `.json` or `.json.gz`, and checks their shape once here so that the
 * benchmark, the trace tool and tests can trust what they get. A trace is outside input:
 * every failure is an Error that names the file, never a half-loaded trace.
 */
import { readFile } from 'node:fs/promises';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const gunzipAsync = promisify(gunzip);

/** `[position, deleteCount, insertedText]`, like `Array.prototype.splice`. */
export type Patch = [number, number, string];

export interface SequentialTrace {
  kind: 'sequential';
  startContent: string;
  endContent: string;
  txns: { time: string; patches: Patch[] }[];
}

export interface ConcurrentTrace {
  kind: 'concurrent';
  endContent: string;
  numAgents: number;
  txns: { parents: number[]; agent: number; time: string; patches: Patch[] }[];
}

export type Trace = SequentialTrace | ConcurrentTrace;

/** `<repo root>/fixtures/traces`; the repo root is the parent of this file's folder. */
export function tracesDir(): string {
  const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  return resolve(repoRoot, 'fixtures', 'traces');
}

/** Loads and validates one trace file; gzip is recognised by the `.gz` suffix. */
export async function loadTrace(path: string): Promise<SequentialTrace | ConcurrentTrace> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${path}: cannot read trace file: ${(e as Error).message}`);
  }
  let text: string;
  try {
    text = (path.endsWith('.gz') ? await gunzipAsync(bytes) : bytes).toString('utf8');
  } catch (e) {
    throw new Error(`${path}: cannot gunzip trace file: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: trace is not valid JSON: ${(e as Error).message}`);
  }
  const problem = checkShape(raw);
  if (problem !== null) throw new Error(`${path}: not an editing trace: ${problem}`);
  return raw as SequentialTrace | ConcurrentTrace;
}

/** All patches of a sequential trace in order; each applies to the result of the previous. */
export function flattenPatches(trace: SequentialTrace): Patch[] {
  const out: Patch[] = [];
  for (const txn of trace.txns) for (const p of txn.patches) out.push(p);
  return out;
}

/**
 * Returns a sentence naming the first problem, or null. Files without `kind` are
 * sequential (upstream's sequential files have no such field); we set it so callers
 * can switch on it. Only `time` may be absent from a txn (it is metadata).
 */
function checkShape(raw: unknown): string | null {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'top level is not an object';
  const o = raw as Record<string, unknown>;
  const kind = o.kind ?? 'sequential';
  if (kind !== 'sequential' && kind !== 'concurrent') return `unknown kind ${JSON.stringify(o.kind)}`;
  if (typeof o.endContent !== 'string') return 'endContent must be a string';
  if (!Array.isArray(o.txns)) return 'txns must be an array';
  if (kind === 'sequential') {
    if (typeof o.startContent !== 'string') return 'startContent must be a string';
  } else if (typeof o.numAgents !== 'number' || !Number.isInteger(o.numAgents) || o.numAgents < 1) {
    return 'numAgents must be a positive integer';
  }
  const txns = o.txns as unknown[];
  for (let i = 0; i < txns.length; i++) {
    const t = txns[i] as Record<string, unknown> | null;
    if (t === null || typeof t !== 'object') return `txns[${i}] is not an object`;
    if (t.time !== undefined && typeof t.time !== 'string') return `txns[${i}].time must be a string`;
    if (!Array.isArray(t.patches)) return `txns[${i}].patches must be an array`;
    for (let j = 0; j < t.patches.length; j++) {
      const p = t.patches[j] as unknown;
      if (!isPatch(p)) return `txns[${i}].patches[${j}] is not [pos, delCount, insText]`;
    }
    if (kind === 'concurrent') {
      const agent = t.agent;
      if (typeof agent !== 'number' || !Number.isInteger(agent) || agent < 0 || agent >= (o.numAgents as number)) {
        return `txns[${i}].agent must be an integer in 0..numAgents-1`;
      }
      if (!Array.isArray(t.parents)) return `txns[${i}].parents must be an array`;
      for (const p of t.parents as unknown[]) {
        // Parents come earlier in the array: the order is a valid causal order (README).
        if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= i) {
          return `txns[${i}].parents has ${JSON.stringify(p)}, not the index of an earlier txn`;
        }
      }
    }
  }
  o.kind = kind;
  return null;
}

function isPatch(p: unknown): p is Patch {
  return (
    Array.isArray(p) &&
    p.length === 3 &&
    Number.isInteger(p[0]) &&
    p[0] >= 0 &&
    Number.isInteger(p[1]) &&
    p[1] >= 0 &&
    typeof p[2] === 'string'
  );
}
