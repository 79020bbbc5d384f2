/**
 * The binary frames of the protocol: the three messages that carry the log itself (a
 * welcome, a history page and the live `events` of a commit turn) as encoded blocks.
 *
 * Why binary: as JSON an event costs about 130-180 bytes and a parse with validation of
 * every field; as a block (shared/src/log/block) it costs a few bytes to a few dozen and
 * decodes in one pass, already checked. A welcome or a page is often a lot of log (a late
 * joiner walks the whole history). A live frame is small, but it goes to every connection
 * of the document once a commit turn: in a crowded document (issue 15) 500 typists meant
 * ~450 MB/s of JSON through the server's sockets, each frame also made into UTF-8 again for
 * every receiver and validated by every receiver (spec P25). Every other message
 * (acks, errors, presence, slow-down) stays a JSON text frame: a text frame is decoded by
 * `decodeServerMessage`, a binary one by this file, and `decodeServerFrame` takes either,
 * so a client's session sees the same message objects whichever way they came.
 *
 * Layout (all varints are the blocks' LEB128, bytes.ts):
 *
 *   kind (1 byte: FRAME_WELCOME, FRAME_HISTORY_PAGE or FRAME_EVENTS) · header length ·
 *   header (UTF-8 JSON: the message's scalar fields plus `from`, where its events start) ·
 *   number of event blocks · number of checkpoint blocks · the length of every block,
 *   events first · CRC-32 of everything so far (4 bytes, little-endian) · the blocks, back
 *   to back
 *
 * The events are one or more event blocks that continue each other (the server sends the
 * cached blocks of whole chunks as they are and encodes only the partial ones, so a page
 * is mostly concatenated bytes); together they are exactly the seqs `from + 1 … end`
 * (`head` for a welcome). The checkpoints are checkpoint blocks: at most one for a welcome,
 * at `from`; for a page, those of `(from, end]`, in seq order; none in a live frame, whose
 * events (at least one) are one block encoded without deflate (`LIVE_LEVEL`).
 *
 * Damage is refused, never read as other events: the CRC covers the header and the block
 * lengths, each block carries its own CRC, a block length that is off makes some block's
 * envelope disagree with its bytes, and the decoded seqs must be the ones the header
 * names. Every refusal is the coded error `bad-frame` (S1), whose message says which check
 * failed; the session treats it as any undecodable message (re-sync).
 */
import { z } from 'zod';
import type { DocEvent } from '../log/event.js';
import type { Checkpoint } from '../log/checkpoint.js';
import { decodeBlock, decodeCheckpointBlock, encodeBlock, encodeCheckpointBlock, crc32 } from '../log/block/index.js';
import { ByteReader, ByteWriter } from '../log/block/bytes.js';
import { type Result, type CodedError, ok, err } from '../result.js';
import {
  PROTOCOL_VERSION,
  decodeServerMessage,
  encodeServerMessage,
  type DecodeErrorCode,
  type HistoryPageMessage,
  type ServerMessage,
  type WelcomeMessage,
} from './messages.js';

/** The first byte of a binary welcome. */
export const FRAME_WELCOME = 0x57;
/** The first byte of a binary history page. */
export const FRAME_HISTORY_PAGE = 0x48;
/** The first byte of a live `events` frame (P25). */
export const FRAME_EVENTS = 0x45;

/**
 * A live frame's block is not deflated: it is encoded once a commit turn and read at once,
 * and deflate's two streams cost more time than the bytes they save are worth there
 * (bench/results/live-frames-2026-12-06.md).
 */
export const LIVE_LEVEL = 0;

/** What decoding a server frame may refuse: the JSON codes, and `bad-frame` for a binary frame. */
export type FrameErrorCode = DecodeErrorCode | 'bad-frame';

const seqNum = z.int().nonnegative();

/** A welcome's scalar fields; `from` is where its events start (the checkpoint's seq, or the hello's `last`). */
const welcomeHeaderSchema = z.strictObject({
  protocol: z.literal(PROTOCOL_VERSION),
  docId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  role: z.enum(['edit', 'view']),
  head: seqNum,
  from: seqNum,
});
/** A live frame's fields: its events are `from < seq ≤ end`, at least one. */
const eventsHeaderSchema = z.strictObject({ from: seqNum, end: seqNum });
/** A page's scalar fields; its events are `from < seq ≤ end`. */
const historyHeaderSchema = z.strictObject({
  reqId: seqNum,
  next: seqNum.nullable(),
  from: seqNum,
  end: seqNum,
});
export type WelcomeHeader = z.infer<typeof welcomeHeaderSchema>;
export type EventsHeader = z.infer<typeof eventsHeaderSchema>;
export type HistoryHeader = z.infer<typeof historyHeaderSchema>;

/**
 * The encoded parts of a frame: event blocks that continue each other from `from + 1` to
 * the end, and checkpoint blocks in seq order. The encoder trusts them (the caller encoded
 * them from its own log); the decoder checks them.
 */
export interface FrameBlocks {
  readonly events: readonly Uint8Array[];
  readonly checkpoints: readonly Uint8Array[];
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function frame(kind: number, header: object, blocks: FrameBlocks): Uint8Array {
  const json = utf8.encode(JSON.stringify(header));
  const head = new ByteWriter(32 + json.length + 4 * (blocks.events.length + blocks.checkpoints.length));
  head.byte(kind);
  head.uint(json.length);
  head.bytes(json);
  head.uint(blocks.events.length);
  head.uint(blocks.checkpoints.length);
  let total = 0;
  for (const b of blocks.events) {
    head.uint(b.length);
    total += b.length;
  }
  for (const b of blocks.checkpoints) {
    head.uint(b.length);
    total += b.length;
  }
  const sum = crc32(head.view());
  head.byte(sum & 0xff);
  head.byte((sum >>> 8) & 0xff);
  head.byte((sum >>> 16) & 0xff);
  head.byte(sum >>> 24);
  const out = new Uint8Array(head.length + total);
  out.set(head.view(), 0);
  let at = head.length;
  for (const b of blocks.events) {
    out.set(b, at);
    at += b.length;
  }
  for (const b of blocks.checkpoints) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** A binary welcome from its header and blocks. */
export function encodeWelcomeFrame(header: WelcomeHeader, blocks: FrameBlocks): Uint8Array {
  return frame(FRAME_WELCOME, header, blocks);
}

/** A binary history page from its header and blocks. */
export function encodeHistoryFrame(header: HistoryHeader, blocks: FrameBlocks): Uint8Array {
  return frame(FRAME_HISTORY_PAGE, header, blocks);
}

/**
 * The live frame of a commit turn's events (P25): one block, not deflated. The events must
 * be a contiguous run of at least one (the stream's next seqs); `encodeBlock` throws on
 * anything else, a bug of the caller.
 */
export function encodeEventsFrame(events: readonly DocEvent[]): Uint8Array {
  if (events.length === 0) throw new Error('encodeEventsFrame: an events frame carries at least one event');
  const from = events[0].seq - 1;
  return frame(FRAME_EVENTS, { from, end: from + events.length }, { events: [encodeBlock(events, { level: LIVE_LEVEL })], checkpoints: [] });
}

/**
 * The seqs a live frame carries, `from < seq ≤ end`, read from its header alone (the
 * blocks are not decoded, nor the header's checksum checked): for readers that only follow
 * the stream's head, such as load generators. Null for any other frame or a damaged header.
 */
export function eventsFrameSpan(bytes: Uint8Array): EventsHeader | null {
  if (bytes.length < 2 || bytes[0] !== FRAME_EVENTS) return null;
  const r = new ByteReader(bytes, 1);
  const json = r.take(r.uint());
  if (r.failed) return null;
  try {
    const h = eventsHeaderSchema.safeParse(JSON.parse(utf8Strict.decode(json)));
    return h.success ? h.data : null;
  } catch {
    return null;
  }
}

/**
 * A server message as it goes on the wire: a welcome, a history page or live events as a
 * binary frame (its events as one block), anything else as JSON text. The server builds
 * welcomes and pages from cached blocks instead (server/src/block-cache.ts); this is the
 * reference both must agree with.
 */
export function encodeServerFrame(msg: ServerMessage): string | Uint8Array {
  if (msg.type === 'events') return encodeEventsFrame(msg.events);
  if (msg.type === 'welcome') {
    const from = msg.checkpoint !== null ? msg.checkpoint.seq : msg.events.length > 0 ? msg.events[0].seq - 1 : msg.head;
    return encodeWelcomeFrame(
      { protocol: msg.protocol, docId: msg.docId, role: msg.role, head: msg.head, from },
      { events: msg.events.length > 0 ? [encodeBlock(msg.events)] : [], checkpoints: msg.checkpoint !== null ? [encodeCheckpointBlock(msg.checkpoint)] : [] },
    );
  }
  if (msg.type === 'history-page') {
    const from = msg.events.length > 0 ? msg.events[0].seq - 1 : msg.checkpoints.length > 0 ? msg.checkpoints[0].seq : 0;
    const end = msg.events.length > 0 ? msg.events[msg.events.length - 1].seq : from;
    return encodeHistoryFrame(
      { reqId: msg.reqId, next: msg.next, from, end },
      { events: msg.events.length > 0 ? [encodeBlock(msg.events)] : [], checkpoints: msg.checkpoints.map(encodeCheckpointBlock) },
    );
  }
  return encodeServerMessage(msg);
}

type FrameResult = Result<ServerMessage, CodedError<FrameErrorCode>>;
const bad = (message: string): { ok: false; error: CodedError<'bad-frame'> } => err('bad-frame', `binary frame: ${message}`);

/**
 * Decodes one frame from the server: text as JSON (`decodeServerMessage`), bytes as a
 * binary welcome, history page or live events. Never throws; a damaged or cut-off frame is `bad-frame`.
 */
export function decodeServerFrame(data: string | Uint8Array): FrameResult {
  if (typeof data === 'string') return decodeServerMessage(data);
  if (!(data instanceof Uint8Array)) return bad('neither text nor bytes');
  try {
    return decodeBinary(data);
  } catch (e) {
    // The block decoders and zod return values; a guard keeps the promise if one throws.
    return bad((e as Error).message);
  }
}

function decodeBinary(bytes: Uint8Array): FrameResult {
  if (bytes.length === 0) return bad('empty');
  const kind = bytes[0];
  if (kind !== FRAME_WELCOME && kind !== FRAME_HISTORY_PAGE && kind !== FRAME_EVENTS) return bad(`unknown kind ${kind}`);
  const r = new ByteReader(bytes, 1);
  const jsonLength = r.uint();
  const json = r.take(jsonLength);
  const nEvents = r.uint();
  const nCheckpoints = r.uint();
  if (r.failed) return bad('the header is cut off or damaged');
  // Each block is at least its 7-byte envelope: counts beyond that are damage, not a reason to allocate.
  if (nEvents + nCheckpoints > bytes.length / 7) return bad('more blocks than bytes');
  const lengths: number[] = [];
  for (let i = 0; i < nEvents + nCheckpoints; i++) lengths.push(r.uint());
  if (r.failed || bytes.length - r.pos < 4) return bad('the header is cut off');
  const sumAt = r.pos;
  const want = (bytes[sumAt] | (bytes[sumAt + 1] << 8) | (bytes[sumAt + 2] << 16) | (bytes[sumAt + 3] << 24)) >>> 0;
  if (crc32(bytes, 0, sumAt) !== want) return bad('the header checksum does not match: the frame was damaged');
  let at = sumAt + 4;
  const total = lengths.reduce((a, b) => a + b, 0);
  if (bytes.length < at + total) return bad(`${bytes.length} bytes, the header says ${at + total}`);
  if (bytes.length > at + total) return bad(`${bytes.length - at - total} bytes after the last block`);

  let header: unknown;
  try {
    header = JSON.parse(utf8Strict.decode(json));
  } catch (e) {
    return bad(`the header is not JSON: ${(e as Error).message}`);
  }

  const events: DocEvent[] = [];
  const checkpoints: Checkpoint[] = [];
  for (let i = 0; i < lengths.length; i++) {
    const block = bytes.subarray(at, at + lengths[i]);
    at += lengths[i];
    if (i < nEvents) {
      const d = decodeBlock(block);
      if (!d.ok) return bad(`event block ${i}: ${d.error.code}: ${d.error.message}`);
      for (const e of d.value) events.push(e);
    } else {
      const d = decodeCheckpointBlock(block);
      if (!d.ok) return bad(`checkpoint block ${i - nEvents}: ${d.error.code}: ${d.error.message}`);
      checkpoints.push(d.value);
    }
  }

  if (kind === FRAME_WELCOME) {
    const h = welcomeHeaderSchema.safeParse(header);
    if (!h.success) {
      const proto = (header as { protocol?: unknown } | null)?.protocol;
      if (proto !== PROTOCOL_VERSION) return err('protocol-version', `a welcome of protocol ${JSON.stringify(proto)}, this client speaks ${PROTOCOL_VERSION}`);
      return bad(`welcome header: ${h.error.issues[0].message}`);
    }
    const { from, head } = h.data;
    const run = checkRun(events, from, head);
    if (run !== null) return bad(`welcome: ${run}`);
    if (checkpoints.length > 1) return bad(`welcome: ${checkpoints.length} checkpoints, at most one`);
    const checkpoint = checkpoints.length === 1 ? checkpoints[0] : null;
    if (checkpoint !== null && (checkpoint.seq !== from || checkpoint.docId !== h.data.docId)) {
      return bad(`welcome: the checkpoint is at ${checkpoint.seq} of ${checkpoint.docId}, the events start after ${from} of ${h.data.docId}`);
    }
    const msg: WelcomeMessage = { type: 'welcome', protocol: h.data.protocol, docId: h.data.docId, role: h.data.role, head, checkpoint, events };
    return ok(msg);
  }
  if (kind === FRAME_EVENTS) {
    const h = eventsHeaderSchema.safeParse(header);
    if (!h.success) return bad(`events header: ${h.error.issues[0].message}`);
    const run = checkRun(events, h.data.from, h.data.end);
    if (run !== null) return bad(`events: ${run}`);
    if (events.length === 0) return bad('events: no event');
    if (checkpoints.length > 0) return bad(`events: ${checkpoints.length} checkpoints, a live frame has none`);
    return ok({ type: 'events', events });
  }
  const h = historyHeaderSchema.safeParse(header);
  if (!h.success) return bad(`history-page header: ${h.error.issues[0].message}`);
  const { from, end, next } = h.data;
  const run = checkRun(events, from, end);
  if (run !== null) return bad(`history-page: ${run}`);
  let prev = from;
  for (const cp of checkpoints) {
    if (cp.seq <= prev || cp.seq > end) return bad(`history-page: a checkpoint at ${cp.seq} is not in order within (${from}, ${end}]`);
    prev = cp.seq;
  }
  if (next !== null && next !== end) return bad(`history-page: next ${next} is not the page's end ${end}`);
  const msg: HistoryPageMessage = { type: 'history-page', reqId: h.data.reqId, events, checkpoints, next };
  return ok(msg);
}

/** Null when `events` are exactly the seqs `from + 1 … end`, else what is wrong. */
function checkRun(events: readonly DocEvent[], from: number, end: number): string | null {
  if (end < from) return `the events end at ${end}, before they start (${from})`;
  if (events.length !== end - from) return `${events.length} events, the header says ${end - from} (${from} < seq ≤ ${end})`;
  for (let i = 0; i < events.length; i++) {
    if (events[i].seq !== from + 1 + i) return `event ${i} has seq ${events[i].seq}, expected ${from + 1 + i}`;
  }
  return null;
}
