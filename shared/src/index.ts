/**
 * The public surface of the core. Everything here is pure: no I/O, no clock, no
 * randomness; time and ids come in as arguments.
 */
export type { CodedError, Result } from './result.js';
export { ok, err, unwrap } from './result.js';

// Ops: the change format (op.ts explains it).
export type { Op, Component, Delete } from './op/op.js';
export {
  OpBuilder,
  normalize,
  invert,
  isNoop,
  opsEqual,
  minDocLength,
  lengthDelta,
  opFromSplice,
} from './op/op.js';
export { diffOp } from './op/diff.js';
export { transform, transformPair, transformPosition, flip, type Side } from './op/transform.js';
export { compose, composeAll } from './op/compose.js';
export { applyToString, checkOp } from './op/apply.js';
export { decodeOp, encodeOp, defaultOpLimits, type OpLimits } from './op/codec.js';

// Text and authorship.
export { Rope } from './text/rope.js';
export type { AuthorRun } from './text/authorship.js';

// The log.
export type { DocEvent, LocalEvent, EventId, EventKind, EventMeta } from './log/event.js';
export { eventKinds, idKey, sameId } from './log/event.js';
export {
  type Checkpoint,
  CHECKPOINT_VERSION,
  checkpointOf,
  ropeFromCheckpoint,
  encodeCheckpoint,
  decodeCheckpoint,
} from './log/checkpoint.js';
export {
  type CheckpointRetention,
  CHECKPOINT_RETENTION,
  checkRetention,
  prunedCheckpoints,
  keptCheckpoints,
} from './log/checkpoint-retention.js';
export { replay, replayInto, replayColumnsInto, traceToEvents, type Patch } from './log/replay.js';
export {
  BLOCK_VERSION,
  type BlockErrorCode,
  encodeBlock,
  decodeBlock,
  decodeColumns,
  EventColumns,
  OpShape,
  MAX_BLOCK_EVENTS,
  type EventRun,
  encodeCheckpointBlock,
  decodeCheckpointBlock,
  encodeCheckpointBlockSmallest,
} from './log/block/index.js';

// Sync as pure state machines.
export { rebase, type Rebased } from './sync/rebase.js';
export {
  Sequencer,
  type SequencerLog,
  type SubmitBatch,
  type SubmitOutcome,
  type SubmitErrorCode,
  type SequencerOptions,
} from './sync/sequencer.js';
export {
  ClientState,
  type ClientStateInit,
  type PendingEvent,
  type LiveChange,
  type ClientErrorCode,
} from './sync/client-state.js';

// The client's sync session: hello, catch-up, stream, outbox, re-sync (session/client-session.ts).
export * from './session/index.js';

// History.
export { HistoryIndex, INDEX_SPACING, type HistoryIndexOptions, type HistoryBase, type IndexMove } from './history/timeline.js';
export { planRevert, MarkTracker } from './history/marks.js';
export { revertEvents, caretAfter, type RevertableEvent, type RevertContext, type RevertHints } from './history/revert.js';
export { OpSummaries, summarizeInto, type OpSummaryView } from './history/op-summary.js';
export {
  UndoHistory,
  stepOf,
  targetOf,
  type StepKey,
  type UndoTarget,
  type UndoFoldEvent,
} from './history/undo.js';
export { MemoryLog } from './log/memory-log.js';

// The room: what the server decides per document, as values (room/room-core.ts).
export * from './room/index.js';

// The wire protocol (docs/protocol.md).
export * from './protocol/messages.js';
export * from './protocol/frames.js';

// Capability links and their tokens (docs/security.md).
export {
  type Role,
  TOKEN_BYTES,
  TOKEN_PATTERN,
  tokenFromBytes,
  isWellFormedToken,
  viewTokenOf,
  tokenHash,
  docLink,
  docLinkPath,
  parseCapability,
} from './access/capability.js';
export { sha256 } from './access/sha256.js';
