/**
 * The bytes the browser keeps for confirmed events and checkpoints: one door between the
 * stores (local-store.ts, history-cache.ts) and the block codec, so both store exactly what
 * the server stores and the wire carries, and a change of codec is a change here only.
 *
 * A stored value is untrusted on the way back in (another version of the app wrote it, the
 * disk flipped a bit, a test seeded it): decoding is a `Result` with a code, never a
 * wrong event. What a caller does with a failure is its business (a history cache fetches
 * again; the local store reports the range it cannot read).
 */
import { strFromU8, strToU8, deflateSync, inflateSync } from 'fflate';
import {
  type Checkpoint,
  type DocEvent,
  type Result,
  err,
  ok,
  encodeCheckpoint,
  decodeCheckpoint,
  docEventSchema,
} from '../../../shared/src/index.js';

/** First byte of a stored events block or checkpoint written by this layout. */
const FORMAT = 0x45;

/** A run of confirmed events, contiguous in seq, as the bytes IndexedDB keeps. */
export function encodeStoredEvents(events: readonly DocEvent[]): Uint8Array {
  return pack(JSON.stringify(events));
}

/** The events of `encodeStoredEvents`, or a coded error (`block-malformed`). */
export function decodeStoredEvents(bytes: Uint8Array): Result<DocEvent[]> {
  const text = unpack(bytes);
  if (!text.ok) return text;
  let raw: unknown;
  try {
    raw = JSON.parse(text.value);
  } catch (e) {
    return err('block-malformed', `the stored events are not readable: ${(e as Error).message}`);
  }
  if (!Array.isArray(raw)) return err('block-malformed', 'the stored events are not a list');
  const out: DocEvent[] = [];
  for (let i = 0; i < raw.length; i++) {
    const r = docEventSchema.safeParse(raw[i]);
    if (!r.success) return err('block-malformed', `stored event ${i} is malformed: ${r.error.issues[0]?.message ?? 'bad shape'}`);
    const e = r.data as DocEvent;
    if (i > 0 && e.seq !== out[i - 1].seq + 1) return err('block-malformed', `stored events are not contiguous at seq ${e.seq}`);
    out.push(e);
  }
  return ok(out);
}

/** A checkpoint as the bytes IndexedDB keeps. */
export function encodeStoredCheckpoint(cp: Checkpoint): Uint8Array {
  return pack(encodeCheckpoint(cp));
}

/** The checkpoint of `encodeStoredCheckpoint`, or a coded error. */
export function decodeStoredCheckpoint(bytes: Uint8Array): Result<Checkpoint> {
  const text = unpack(bytes);
  return text.ok ? decodeCheckpoint(text.value) : text;
}

function pack(text: string): Uint8Array {
  const body = deflateSync(strToU8(text), { level: 6 });
  const out = new Uint8Array(body.length + 1);
  out[0] = FORMAT;
  out.set(body, 1);
  return out;
}

function unpack(bytes: Uint8Array): Result<string> {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2) return err('block-malformed', 'the stored value is not a block');
  if (bytes[0] !== FORMAT) return err('block-version', `unknown stored block format ${bytes[0]}`);
  try {
    return ok(strFromU8(inflateSync(bytes.subarray(1))));
  } catch (e) {
    return err('block-malformed', `the stored block is truncated or damaged: ${(e as Error).message}`);
  }
}
