/**
 * What a stored block says it holds, checked without decoding it: the envelope (version,
 * type, length, CRC-32: block/envelope.ts) and the first fields of the payload (an event
 * block's count and first seq, a checkpoint block's seq).
 *
 * Why: a store that keeps blocks in the wire's encoding (the server's sealed blocks and
 * checkpoints, server/src/store/sqlite-blocks.ts) can send them as they are, without the
 * decode and re-encode that used to cost a late joiner's pages most of their time on the
 * server. The store checked each block when it wrote it (it decodes back to exactly its
 * events); the CRC says the bytes are the ones written, and the span says they are the
 * seqs asked for. A block that fails either is a coded error here (the store turns it into
 * a corrupt-store failure, never a wrong event on the wire), and the client decodes every
 * block it receives in full anyway (frames.ts).
 *
 * Pure: bytes in, a value out; nothing is inflated or allocated beyond a small reader.
 */
import { ByteReader } from './block/bytes.js';
import { BLOCK_VERSION, crc32 } from './block/index.js';
import { type CodedError, type Result, ok, err } from '../result.js';

/** The envelope's type bytes (block/envelope.ts: EVENTS_BLOCK, CHECKPOINT_BLOCK). */
const EVENTS = 1;
const CHECKPOINT = 2;

export type BlockSpanErrorCode = 'block-malformed' | 'block-truncated' | 'block-version' | 'block-checksum';

/** The seqs an event block holds: `first … first + count - 1`. */
export interface EventBlockSpan {
  readonly first: number;
  readonly count: number;
}

/** Checks the envelope of a block of `type`; the payload's reader, or why the bytes are not such a block. */
function payload(bytes: Uint8Array, type: number): Result<ByteReader, CodedError<BlockSpanErrorCode>> {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return err('block-truncated', 'block: empty');
  if (bytes[0] !== BLOCK_VERSION) return err('block-version', `block: version ${bytes[0]}, this code reads version ${BLOCK_VERSION}`);
  const head = new ByteReader(bytes, 1);
  const t = head.byte();
  const length = head.uint();
  if (head.failed) return err('block-truncated', 'block: the header is cut off or damaged');
  if (t !== type) return err('block-malformed', `block: a block of type ${t}, expected ${type}`);
  const end = head.pos + length;
  if (bytes.length < end + 4) return err('block-truncated', `block: ${bytes.length} bytes, the header says ${end + 4}`);
  if (bytes.length > end + 4) return err('block-malformed', `block: ${bytes.length - end - 4} bytes after the end of the block`);
  const want = (bytes[end] | (bytes[end + 1] << 8) | (bytes[end + 2] << 16) | (bytes[end + 3] << 24)) >>> 0;
  if (crc32(bytes, 0, end) !== want) return err('block-checksum', 'block: the checksum does not match: the block was damaged');
  return ok(new ByteReader(bytes, head.pos, end));
}

/** The seqs an event block holds, from its envelope and header alone; a coded error for damaged bytes. */
export function eventBlockSpan(bytes: Uint8Array): Result<EventBlockSpan, CodedError<BlockSpanErrorCode>> {
  const r = payload(bytes, EVENTS);
  if (!r.ok) return r;
  const count = r.value.uint();
  const first = r.value.uint();
  if (r.value.failed || count < 1 || first < 1) return err('block-malformed', 'block: bad header');
  return ok({ first, count });
}

/** The seq of a checkpoint block, from its envelope and header alone; a coded error for damaged bytes. */
export function checkpointBlockSeq(bytes: Uint8Array): Result<number, CodedError<BlockSpanErrorCode>> {
  const r = payload(bytes, CHECKPOINT);
  if (!r.ok) return r;
  const seq = r.value.uint();
  if (r.value.failed) return err('block-malformed', 'block: bad header');
  return ok(seq);
}
