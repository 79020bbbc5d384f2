/**
 * The wire protocol on `/ws` (docs/protocol.md tells the story; this file is the law).
 *
 * Every message is one JSON text frame with a `type`, except the welcome and the history
 * page, which go out as binary frames of encoded blocks (frames.ts). The shapes are defined once, here,
 * with zod, and the TypeScript types are inferred from them, so the validator and the
 * types cannot drift apart. Ops are never trusted to a schema of their own: the op
 * field runs through the core's `decodeOp` (the codec is the only door for ops), and a
 * bad op is reported as `op-malformed`, not as a generic shape error, because the
 * client can do something specific about it (drop the event: it is a bug).
 *
 * `decodeClientMessage` is what the server calls on every frame. It never throws: bad
 * JSON, unknown types, wrong shapes, a foreign protocol version all come back as a
 * coded `Result`, which the server turns into an `error` message (S1). Decoding is on
 * the hot path (every keystroke is a submit), so the decoder dispatches on `type`
 * itself and runs only that message's schema; its cost is measured in
 * shared/test/protocol/messages.test.ts.
 */
import { z } from 'zod';
import { decodeOp, defaultOpLimits } from '../op/codec.js';
import { eventKinds, type EventKind } from '../log/event.js';
import { type Result, type CodedError, ok, err } from '../result.js';
import { TOKEN_PATTERN } from '../access/capability.js';

/** Bumped on any change a peer of the previous version would misread. */
export const PROTOCOL_VERSION = 4;

/** Limits of the protocol; the server enforces them, the client stays inside them. */
export const protocolLimits = {
  /** Largest frame, in bytes; bigger ones close the socket with 1009. */
  maxFrameBytes: 1 << 20,
  /** Most events in one submit. */
  maxEventsPerSubmit: 1000,
  /**
   * Most events a history request may ask for. Generous: a page is bounded by its encoded
   * bytes (MAX_PAGE_BYTES, shared/src/room/history-page.ts), a few bytes an event.
   */
  maxHistoryLimit: 1_000_000,
  /** A client further behind than this (or new) is caught up from a checkpoint. */
  catchUpCheckpointAfter: 1000,
  /** Lengths of identifiers and names, in UTF-16 units. */
  maxIdLength: 128,
  maxNameLength: 64,
  maxMetaKeys: 16,
} as const;

/** Stable error codes: clients switch on these (docs/protocol.md has what to do for each). */
export const errorCodes = [
  'bad-json',
  'bad-message',
  'unknown-type',
  'protocol-version',
  'not-joined',
  'already-joined',
  'frame-too-large',
  'rate-limited',
  'op-malformed',
  'op-out-of-range',
  'op-delete-mismatch',
  'base-ahead',
  'wrong-client',
  'out-of-order',
  'rebase-required',
  'doc-too-large',
  'store-failed',
  'server-shutting-down',
  'access-denied',
  'read-only',
  'too-many-documents',
  'hello-timeout',
  'links-replaced',
] as const;
export type ErrorCode = (typeof errorCodes)[number];

// ---- building blocks -------------------------------------------------------------

const seqNum = z.int().nonnegative();
const idString = z.string().min(1).max(protocolLimits.maxIdLength);
/** Document ids appear in URLs and file names: keep them plain. */
const docId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'docId must be 1-128 of A-Z a-z 0-9 _ -');

/** An op, through the codec. Issues carry `params.code = 'op-malformed'`. */
export const opSchema = z.unknown().transform((value, ctx) => {
  const r = decodeOp(value, defaultOpLimits);
  if (r.ok) return r.value;
  ctx.issues.push({ code: 'custom', message: r.error.message, input: value, params: { code: 'op-malformed' } });
  return z.NEVER;
});

const eventIdSchema = z.object({ client: idString, clientSeq: z.int().positive() });
const kindSchema = z.enum(eventKinds as unknown as [EventKind, ...EventKind[]]);
const metaSchema = z
  .record(z.string().max(64), z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]))
  .refine((m) => Object.keys(m).length <= protocolLimits.maxMetaKeys, `meta may have at most ${protocolLimits.maxMetaKeys} keys`);

export const localEventSchema = z.object({
  id: eventIdSchema,
  author: z.string().max(protocolLimits.maxIdLength),
  op: opSchema,
  kind: kindSchema,
  meta: metaSchema.optional(),
});

export const docEventSchema = z.object({
  id: eventIdSchema,
  seq: z.int().positive(),
  base: seqNum,
  author: z.string(),
  time: z.number(),
  op: opSchema,
  kind: kindSchema,
  meta: metaSchema.optional(),
});

export const checkpointSchema = z
  .object({
    docId: z.string(),
    seq: seqNum,
    text: z.string(),
    authorship: z.array(z.object({ author: z.string(), length: z.int().positive() })).readonly(),
  })
  .refine((cp) => cp.authorship.reduce((n, r) => n + r.length, 0) === cp.text.length, 'authorship must cover the text exactly');

export const userSchema = z.object({
  name: z.string().max(protocolLimits.maxNameLength),
  color: z.string().max(32),
});

export const cursorSchema = z.object({ anchor: seqNum, head: seqNum }).nullable();

// ---- client → server -------------------------------------------------------------

export const helloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.literal(PROTOCOL_VERSION),
  docId,
  client: idString,
  user: userSchema,
  /** The client's confirmed seq: the last seq it has received (0: none). */
  last: seqNum,
  /** The link's token (edit or view); without a valid one the hello is refused (access-denied). */
  token: z.string().regex(TOKEN_PATTERN, 'token must be 22-128 of A-Z a-z 0-9 _ -').optional(),
  /**
   * Set by the document's creator only: if the server has never heard of `docId` (and its
   * log is empty), `token` becomes the document's edit token. Ignored for a known document.
   */
  create: z.boolean().optional(),
});

export const submitSchema = z.object({
  type: z.literal('submit'),
  base: seqNum,
  events: z.array(localEventSchema).min(1).max(protocolLimits.maxEventsPerSubmit),
});

/** `user`, when present, replaces the name and colour the hello gave (a rename, live). */
export const presenceUpSchema = z.object({ type: z.literal('presence'), cursor: cursorSchema, user: userSchema.optional() });

export const historySchema = z
  .object({
    type: z.literal('history'),
    reqId: z.int().nonnegative(),
    from: seqNum,
    to: seqNum,
    limit: z.int().min(1).max(protocolLimits.maxHistoryLimit),
  })
  .refine((h) => h.from <= h.to, 'history needs from ≤ to');

export const pingSchema = z.object({ type: z.literal('ping'), t: z.number() });

/**
 * Replaces the document's links (edit connections only): `token` becomes the edit token and
 * its derived view token the view token; every other connection to the document, all of
 * which joined with the old tokens, is closed with `links-replaced`. Answered by `links-rotated`.
 */
export const rotateLinksSchema = z.object({
  type: z.literal('rotate-links'),
  reqId: z.int().nonnegative(),
  token: z.string().regex(TOKEN_PATTERN, 'token must be 22-128 of A-Z a-z 0-9 _ -'),
});

export const clientMessageSchema = z.union([helloSchema, submitSchema, presenceUpSchema, historySchema, pingSchema, rotateLinksSchema]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
export type HelloMessage = z.infer<typeof helloSchema>;
export type SubmitMessage = z.infer<typeof submitSchema>;
export type PresenceMessage = z.infer<typeof presenceUpSchema>;
export type HistoryMessage = z.infer<typeof historySchema>;
export type PingMessage = z.infer<typeof pingSchema>;
export type RotateLinksMessage = z.infer<typeof rotateLinksSchema>;
export type Cursor = z.infer<typeof cursorSchema>;
export type User = z.infer<typeof userSchema>;

// ---- server → client -------------------------------------------------------------

export const welcomeSchema = z.object({
  type: z.literal('welcome'),
  protocol: z.literal(PROTOCOL_VERSION),
  docId: z.string(),
  /** What this connection may do, from the hello's token: `view` connections may not submit. */
  role: z.enum(['edit', 'view']),
  /** The document's committed head when the welcome was sent. */
  head: seqNum,
  /** Where the events start: a checkpoint (the client starts over from it), or null. */
  checkpoint: checkpointSchema.nullable(),
  /** Events after the checkpoint, or after the hello's `last` when there is none. */
  events: z.array(docEventSchema).readonly(),
});

export const eventsSchema = z.object({ type: z.literal('events'), events: z.array(docEventSchema).min(1).readonly() });
/** `time`: the server's clock at append (optional: absent on the ack of a duplicate, and from older servers). */
export const ackSchema = z.object({ type: z.literal('ack'), id: eventIdSchema, seq: z.int().positive(), time: z.number().optional() });
export const presenceDownSchema = z.object({
  type: z.literal('presence'),
  client: z.string(),
  user: userSchema,
  cursor: cursorSchema,
});
export const presenceLeaveSchema = z.object({ type: z.literal('presence-leave'), client: z.string() });
/**
 * The carets (and names) that moved in a crowded document since the last presence tick, one
 * entry per connection, all in one frame (K17, P24): the same message goes to every
 * connection, encoded once, so an entry may be the receiver's own client, which it skips.
 * Each entry means what a `presence` with the same fields means.
 */
export const presenceBatchSchema = z.object({
  type: z.literal('presence-batch'),
  entries: z.array(presenceDownSchema.omit({ type: true })).min(1).readonly(),
});
export const historyPageSchema = z.object({
  type: z.literal('history-page'),
  reqId: z.int().nonnegative(),
  events: z.array(docEventSchema).readonly(),
  checkpoints: z.array(checkpointSchema).readonly(),
  /** Where the next page starts (its `from`), or null when `to` was reached. */
  next: seqNum.nullable(),
});
export const errorSchema = z.object({
  type: z.literal('error'),
  code: z.enum(errorCodes),
  message: z.string(),
  fatal: z.boolean(),
});
export const pongSchema = z.object({ type: z.literal('pong'), t: z.number() });
/**
 * The connection could not keep up (its unsent output passed the server's send budget, K15):
 * the stream stops after seq `at`, and once the socket has drained a welcome continues it from
 * `at` (the events after it, or a checkpoint the client fetches history up to, P3/P4). Nothing
 * of the stream is lost; presence starts over with that welcome (P21).
 */
export const behindSchema = z.object({ type: z.literal('behind'), at: seqNum });
/**
 * The document gets more submits than the server sequences in real time (K16): send at most one
 * submit every `batchMs` and only once the previous one is confirmed, keeping the rest in the
 * outbox; 0 lifts it (P22).
 */
/**
 * The shortest interval a server asks editors to batch at (K16): a crowd is held at it
 * (K20, K21). At typing speed (ten keystrokes a second) it delays no keystroke a person
 * would notice; what it changes is one submit in flight per editor. So a client shows `slow`
 * only for a longer interval (P22).
 */
export const SHORTEST_BATCH_MS = 50;

export const slowDownSchema = z.object({ type: z.literal('slow-down'), batchMs: z.int().nonnegative().max(60_000) });
/** The links were replaced: the old tokens give nothing from now on. */
export const linksRotatedSchema = z.object({ type: z.literal('links-rotated'), reqId: z.int().nonnegative() });

export const serverMessageSchema = z.discriminatedUnion('type', [
  welcomeSchema,
  eventsSchema,
  ackSchema,
  presenceDownSchema,
  presenceLeaveSchema,
  presenceBatchSchema,
  historyPageSchema,
  errorSchema,
  pongSchema,
  behindSchema,
  slowDownSchema,
  linksRotatedSchema,
]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;
export type WelcomeMessage = z.infer<typeof welcomeSchema>;
export type EventsMessage = z.infer<typeof eventsSchema>;
export type AckMessage = z.infer<typeof ackSchema>;
export type PresenceDownMessage = z.infer<typeof presenceDownSchema>;
export type PresenceLeaveMessage = z.infer<typeof presenceLeaveSchema>;
export type PresenceBatchMessage = z.infer<typeof presenceBatchSchema>;
/** One connection's presence as a receiver takes it: a `presence` message, or one entry of a `presence-batch`. */
export type PresenceEntry = PresenceBatchMessage['entries'][number];

/**
 * The presence a message carries, entry by entry (`presence`: one; `presence-batch`: each;
 * anything else: none), without the receiver's own client: what a client applies.
 */
export function presenceEntries(msg: ServerMessage, self: string): PresenceEntry[] {
  if (msg.type === 'presence') return msg.client === self ? [] : [{ client: msg.client, user: msg.user, cursor: msg.cursor }];
  if (msg.type === 'presence-batch') return msg.entries.filter((e) => e.client !== self);
  return [];
}
export type HistoryPageMessage = z.infer<typeof historyPageSchema>;
export type ErrorMessage = z.infer<typeof errorSchema>;
export type PongMessage = z.infer<typeof pongSchema>;
export type BehindMessage = z.infer<typeof behindSchema>;
export type SlowDownMessage = z.infer<typeof slowDownSchema>;
export type LinksRotatedMessage = z.infer<typeof linksRotatedSchema>;

// ---- decoding --------------------------------------------------------------------

export type DecodeErrorCode = 'bad-json' | 'bad-message' | 'unknown-type' | 'protocol-version' | 'op-malformed';

const clientSchemas: Record<string, z.ZodType<ClientMessage>> = {
  hello: helloSchema,
  submit: submitSchema,
  presence: presenceUpSchema,
  history: historySchema,
  ping: pingSchema,
  'rotate-links': rotateLinksSchema,
};

/** Parses and validates one frame from a client. Never throws. */
export function decodeClientMessage(raw: string): Result<ClientMessage, CodedError<DecodeErrorCode>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return err('bad-json', `not JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return err('bad-message', 'a message must be a JSON object');
  }
  const type = (json as { type?: unknown }).type;
  if (typeof type !== 'string') return err('bad-message', 'a message needs a string "type"');
  const schema = Object.hasOwn(clientSchemas, type) ? clientSchemas[type] : undefined;
  if (schema === undefined) return err('unknown-type', `unknown message type ${JSON.stringify(type.slice(0, 40))}`);
  if (type === 'submit') {
    // Checked before the schema, which would decode every event of an oversized batch first.
    const events = (json as { events?: unknown }).events;
    if (Array.isArray(events) && events.length > protocolLimits.maxEventsPerSubmit) {
      return err('bad-message', `submit: events: at most ${protocolLimits.maxEventsPerSubmit} events in one submit, got ${events.length}`);
    }
  }
  if (type === 'hello') {
    const protocol = (json as { protocol?: unknown }).protocol;
    if (protocol !== PROTOCOL_VERSION) {
      return err('protocol-version', `this server speaks protocol ${PROTOCOL_VERSION}, the hello says ${JSON.stringify(protocol)}`);
    }
  }
  return validated(schema, json, type);
}

/** Parses and validates one frame from the server (for clients and tests). Never throws. */
export function decodeServerMessage(raw: string): Result<ServerMessage, CodedError<DecodeErrorCode>> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return err('bad-json', `not JSON: ${(e as Error).message}`);
  }
  return validated(serverMessageSchema, json, 'server message');
}

function validated<T>(schema: z.ZodType<T>, json: unknown, what: string): Result<T, CodedError<DecodeErrorCode>> {
  let r: ReturnType<typeof schema.safeParse>;
  try {
    r = schema.safeParse(json);
  } catch (e) {
    // zod does not throw on data, but a guard costs nothing and keeps the promise.
    return err('bad-message', `${what}: ${(e as Error).message}`);
  }
  if (r.success) return ok(r.data);
  const issues = r.error.issues;
  const opIssue = issues.find((i) => i.code === 'custom' && (i as { params?: { code?: string } }).params?.code === 'op-malformed');
  const first = opIssue ?? issues[0];
  const where = first.path.length > 0 ? first.path.join('.') + ': ' : '';
  return err(opIssue ? 'op-malformed' : 'bad-message', `${what}: ${where}${first.message}`);
}

/** Encodes a server message as JSON text (welcomes and history pages go out binary: frames.ts). */
export function encodeServerMessage(msg: ServerMessage): string {
  return JSON.stringify(msg);
}

/** Encodes a client message. */
export function encodeClientMessage(msg: ClientMessage): string {
  return JSON.stringify(msg);
}
