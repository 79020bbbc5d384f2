/**
 * Blocks: the compact binary form of the log, one encoding for the store, the wire and
 * IndexedDB. A block of events is a contiguous run of the log (event-block.ts); a checkpoint
 * block is a checkpoint (checkpoint-block.ts); both travel in the same envelope (envelope.ts):
 * a version byte, a type, a length and a CRC-32, and decode to a value or a coded error.
 */
export { BLOCK_VERSION, type BlockErrorCode } from './envelope.js';
export { encodeBlock, decodeBlock, MAX_BLOCK_EVENTS, type EventRun } from './event-block.js';
export { encodeCheckpointBlock, decodeCheckpointBlock } from './checkpoint-block.js';
