/**
 * The bytes the browser keeps for confirmed events and checkpoints: the core's block codec
 * (shared/src/log/block), the same bytes the server stores and the wire carries, so a
 * document's local footprint is about the server's. This file is the one door between the
 * stores (local-store.ts, history-cache.ts) and the codec.
 *
 * A stored value is untrusted on the way back in (another version of the app wrote it, the
 * disk lost its end, a test damaged it): decoding is a `Result` with the codec's code
 * (`block-truncated`, `block-checksum`, `block-version`, `block-malformed`), never a wrong
 * event. What a caller does with a failure is its business (the history cache fetches
 * again; the local store reports the range it cannot read and never writes over it).
 */
import {
  type Checkpoint,
  type DocEvent,
  type Result,
  err,
  encodeBlock,
  decodeBlock,
  encodeCheckpointBlock,
  decodeCheckpointBlock,
} from '../../../shared/src/index.js';

/** A run of confirmed events, contiguous in seq, as the bytes IndexedDB keeps. */
export function encodeStoredEvents(events: readonly DocEvent[]): Uint8Array {
  return encodeBlock(events);
}

/** The events of `encodeStoredEvents`, or a coded error. */
export function decodeStoredEvents(bytes: Uint8Array): Result<DocEvent[]> {
  if (!(bytes instanceof Uint8Array)) return err('block-malformed', 'the stored value is not a block of bytes');
  return decodeBlock(bytes);
}

/** A checkpoint as the bytes IndexedDB keeps. */
export function encodeStoredCheckpoint(cp: Checkpoint): Uint8Array {
  return encodeCheckpointBlock(cp);
}

/** The checkpoint of `encodeStoredCheckpoint`, or a coded error. */
export function decodeStoredCheckpoint(bytes: Uint8Array): Result<Checkpoint> {
  if (!(bytes instanceof Uint8Array)) return err('block-malformed', 'the stored value is not a block of bytes');
  return decodeCheckpointBlock(bytes);
}
