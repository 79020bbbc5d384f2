/**
 * The envelope every block travels in: what it is, how long it is, and a checksum, so that
 * the decoder can tell a block of another version, a cut-off one and a damaged one apart
 * before it reads a single event, each with its own code.
 *
 *   version (1 byte, BLOCK_VERSION) · type (1 byte) · payload length (varint) · payload ·
 *   CRC-32 of everything before it (4 bytes, little-endian)
 *
 * A reader of version 1 refuses any other version byte (`block-version`): a new layout gets a
 * new byte, and old blocks stay readable by keeping the old decoder beside the new one.
 *
 * The checksum is CRC-32 (IEEE 802.3, the one zlib and PNG use), so a flipped bit or a torn
 * write is refused as `block-checksum` instead of decoding into a different, plausible event:
 * every single-bit error and every burst up to 32 bits is caught, other damage with odds of
 * 1 in 2^32.
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { type Result, ok, err } from '../../result.js';

/** The version byte at the front of every block this code writes and reads. */
export const BLOCK_VERSION = 1;

/** What a block holds; the byte after the version. */
export type BlockType = typeof EVENTS_BLOCK | typeof CHECKPOINT_BLOCK;
export const EVENTS_BLOCK = 1;
export const CHECKPOINT_BLOCK = 2;

/**
 * Why a block was refused. `block-version`: written by another version of the format;
 * `block-truncated`: shorter than its header says (a cut-off read or write); `block-checksum`:
 * the bytes were changed after writing; `block-malformed`: anything else that is not a block
 * this code wrote (wrong type, trailing bytes, columns that do not add up).
 */
export type BlockErrorCode = 'block-malformed' | 'block-truncated' | 'block-version' | 'block-checksum';

export function blockError(code: BlockErrorCode, message: string) {
  return err(code, `block: ${message}`);
}

/** Wraps a payload in the envelope. */
export function seal(type: BlockType, payload: Uint8Array): Uint8Array {
  const head = new ByteWriter(16);
  head.byte(BLOCK_VERSION);
  head.byte(type);
  head.uint(payload.length);
  const out = new Uint8Array(head.length + payload.length + 4);
  out.set(head.view(), 0);
  out.set(payload, head.length);
  const end = head.length + payload.length;
  const sum = crc32(out, 0, end);
  out[end] = sum & 0xff;
  out[end + 1] = (sum >>> 8) & 0xff;
  out[end + 2] = (sum >>> 16) & 0xff;
  out[end + 3] = sum >>> 24;
  return out;
}

/** Checks the envelope and returns a reader over the payload. */
export function open(bytes: Uint8Array, type: BlockType): Result<ByteReader> {
  if (!(bytes instanceof Uint8Array)) return blockError('block-malformed', 'not bytes');
  if (bytes.length === 0) return blockError('block-truncated', 'empty');
  if (bytes[0] !== BLOCK_VERSION) return blockError('block-version', `version ${bytes[0]}, this code reads version ${BLOCK_VERSION}`);
  const head = new ByteReader(bytes, 1);
  const t = head.byte();
  const length = head.uint();
  if (head.failed) {
    // A header cut short runs off the end (its last byte says "more"); a damaged one has a
    // varint that is too long or not minimal.
    const cut = bytes.length <= 2 || bytes[bytes.length - 1] >= 0x80;
    return cut ? blockError('block-truncated', 'the header is cut off') : blockError('block-malformed', 'bad header');
  }
  if (t !== type) return blockError('block-malformed', `a block of type ${t}, expected ${type}`);
  const end = head.pos + length;
  if (bytes.length < end + 4) return blockError('block-truncated', `${bytes.length} bytes, the header says ${end + 4}`);
  if (bytes.length > end + 4) return blockError('block-malformed', `${bytes.length - end - 4} bytes after the end of the block`);
  const want = (bytes[end] | (bytes[end + 1] << 8) | (bytes[end + 2] << 16) | (bytes[end + 3] << 24)) >>> 0;
  if (crc32(bytes, 0, end) !== want) return blockError('block-checksum', 'the checksum does not match: the block was damaged');
  return ok(new ByteReader(bytes, head.pos, end));
}

const TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** The CRC-32 of `bytes[start..end)`, as an unsigned 32-bit integer. */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = -1;
  for (let i = start; i < end; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}
