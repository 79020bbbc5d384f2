/**
 * TEMPORARY stand-in for the block codec of branch `codec` (shared/src), with its
 * signatures, JSON inside. Deleted when that branch is merged; nothing may ship with it.
 */
import { type Checkpoint, type DocEvent, type Result, ok, err, encodeCheckpoint, decodeCheckpoint } from '../../../shared/src/index.js';

export function encodeBlock(events: readonly DocEvent[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(events));
}

export function decodeBlock(bytes: Uint8Array): Result<DocEvent[]> {
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (!Array.isArray(v)) return err('block-malformed', 'not an array');
    return ok(v as DocEvent[]);
  } catch (e) {
    return err('block-malformed', (e as Error).message);
  }
}

export function encodeCheckpointBytes(cp: Checkpoint): Uint8Array {
  return new TextEncoder().encode(encodeCheckpoint(cp));
}

export function decodeCheckpointBytes(bytes: Uint8Array): Result<Checkpoint> {
  try {
    return decodeCheckpoint(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return err('checkpoint-malformed', (e as Error).message);
  }
}
