/**
 * CRC-32 (IEEE 802.3, the one zlib and PNG use), table-driven. A block carries it over
 * everything before it, so a flipped bit or a torn write is refused as `block-checksum`
 * instead of decoding into a different, plausible event: every single-bit and burst error
 * up to 32 bits is caught, and other damage with odds of 1 in 2^32.
 */

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
