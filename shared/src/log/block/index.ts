/**
 * Blocks: the compact binary form of the log, one encoding for the store, the wire and
 * IndexedDB. A block of events is a contiguous run of the log (event-layout.ts says how it is
 * laid out, event-encode.ts and event-decode.ts write and read it, the latter with its checked
 * pass in event-pass.ts, into events or into columns, event-columns.ts, the lean form for hot
 * readers); a checkpoint block is a
 * checkpoint (checkpoint-block.ts). Both travel in the same envelope (envelope.ts): a version
 * byte, a type, a length and a CRC-32, and decode to a value or a coded error.
 */
export { BLOCK_VERSION, crc32, type BlockErrorCode } from './envelope.js';
export { MAX_BLOCK_EVENTS } from './event-layout.js';
export { encodeBlock, type EventRun, type EncodeOptions } from './event-encode.js';
export { decodeBlock, decodeColumns } from './event-decode.js';
export { EventColumns, OpShape } from './event-columns.js';
export { encodeCheckpointBlock, decodeCheckpointBlock, encodeCheckpointBlockSmallest } from './checkpoint-block.js';
