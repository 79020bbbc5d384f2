/**
 * The text column: every string of a block (its table of clients, authors and meta strings,
 * then the text of every insert and delete) joined into one, stored once, deflated.
 *
 * Strings survive exactly, lone surrogates included. Ops may hold them (the op codec lets an
 * op split a surrogate pair, and the JSON store keeps them), and UTF-8 cannot: TextEncoder
 * would turn each into U+FFFD, a different string. So the column is UTF-8 when the joined text
 * is well-formed (nearly always: the smallest and fastest to decode, by the platform's
 * TextDecoder) and UTF-16LE code units otherwise, which keep any string. Joining cannot hide a
 * lone surrogate that matters: if two halves meet across a boundary they form a pair, UTF-8
 * keeps the pair, and slicing the decoded text at the same UTF-16 offsets gives the halves back.
 *
 * The lengths that slice the text are UTF-16 units and live in the numeric columns; the decoder
 * checks that the decoded text is exactly as long as they say.
 *
 * Layout: flags (bit 0: UTF-16LE, bit 1: deflated), raw byte length, stored byte length, the
 * stored bytes. Deflate is fflate's (pure JS, the same bytes in Node and the browser), kept only
 * when it is smaller.
 */
import { deflateSync, inflateSync } from 'fflate';
import type { ByteReader, ByteWriter } from './bytes.js';

const UTF16 = 1;
const DEFLATED = 2;

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function wellFormed(s: string): boolean {
  const native = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return native !== undefined ? native.call(s) : !loneSurrogate.test(s);
}

/** fflate's levels, and 0 for none. */
export type DeflateLevel = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

const encoder = new TextEncoder();
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Writes `text` as the text column, deflated at `level` (fflate's 1-9; 9, the default, is
 * the smallest; 0 stores it as it is, for bytes that are sent once and read at once).
 * The reader does not depend on the level.
 */
export function writeChars(out: ByteWriter, text: string, level: DeflateLevel = 9): void {
  let flags = 0;
  let raw: Uint8Array;
  if (wellFormed(text)) raw = encoder.encode(text);
  else {
    flags |= UTF16;
    raw = new Uint8Array(text.length * 2);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      raw[2 * i] = c & 0xff;
      raw[2 * i + 1] = c >>> 8;
    }
  }
  let stored = raw;
  if (level > 0 && raw.length > 32) {
    const packed = deflateSync(raw, { level: level as Exclude<DeflateLevel, 0> });
    if (packed.length < raw.length) {
      stored = packed;
      flags |= DEFLATED;
    }
  }
  out.byte(flags);
  out.uint(raw.length);
  out.uint(stored.length);
  out.bytes(stored);
}

/**
 * Reads the text column: the text, `units` UTF-16 units long, or null (and nothing thrown)
 * when the column is damaged, too short or too long.
 */
export function readChars(in_: ByteReader, units: number): string | null {
  const flags = in_.byte();
  const rawLength = in_.uint();
  const storedLength = in_.uint();
  const stored = in_.take(storedLength);
  if (in_.failed || flags > (UTF16 | DEFLATED)) return null;
  // A UTF-16 unit is 2 bytes; in UTF-8 it is 1 to 3 (a pair's 4 bytes are 2 units).
  if (flags & UTF16 ? rawLength !== units * 2 : rawLength < units || rawLength > units * 3) return null;
  let raw = stored;
  if (flags & DEFLATED) {
    try {
      // One byte more than expected, so that a stream that inflates to more shows it.
      raw = inflateSync(stored, { out: new Uint8Array(rawLength + 1) });
    } catch {
      return null;
    }
  }
  if (raw.length !== rawLength) return null;
  let text: string;
  if (flags & UTF16) {
    const parts: string[] = [];
    const codes = new Uint16Array(Math.min(units, 8192));
    for (let i = 0; i < units; i += codes.length) {
      const n = Math.min(codes.length, units - i);
      for (let k = 0; k < n; k++) codes[k] = raw[2 * (i + k)] | (raw[2 * (i + k) + 1] << 8);
      parts.push(String.fromCharCode.apply(null, Array.from(codes.subarray(0, n))));
    }
    text = parts.join('');
  } else {
    try {
      text = utf8.decode(raw);
    } catch {
      return null;
    }
  }
  return text.length === units ? text : null;
}
