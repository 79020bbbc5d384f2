/**
 * The layout of an event block: what the encoder (event-encode.ts) writes and the decoder
 * (event-decode.ts) reads, in one place.
 *
 * A block is a run of events with contiguous seqs. It is column-wise, after Yjs's update v2
 * and diamond-types: instead of one record an event, each field of every event goes into a
 * column of its own, written as what changes from what one would expect. A log is
 * overwhelmingly runs: one person types a sentence (same client, same author, same kind,
 * clientSeq + 1, base = seq - 1, the caret where their last insert ended, one character each,
 * a few milliseconds apart), then someone else does. Written as "the same again, n times", such
 * a run costs a few bytes whatever its length, and what remains per event is the text itself,
 * which deflate packs. When many people type at once the runs are short, so the predictions are
 * per client (each client's own previous clientSeq, author and caret), and the numeric columns
 * are deflated as well when that is smaller (the interleaving of clients repeats).
 *
 * Expected values, so that a typist's events write zeros and zeros collapse into runs:
 *   - seq: not stored: the first seq, then + 1;
 *   - client: the previous event's client index + the stored delta (round robins are runs);
 *   - clientSeq: the same client's previous clientSeq in the block + 1 (absolute the first time);
 *   - author: 0 means "this client's previous author"; otherwise table index + 1;
 *   - base: seq - 1 (the stored value is how far behind the author was);
 *   - time: the previous event's time;
 *   - position: where this client's previous op ended (the caret after an insert, the place of
 *     a delete), so typing forward and backspacing write 0 and -1 over and over.
 * Strings (clients, authors, meta keys and string values) are in a table, by index. A meta
 * string that is an id key of the event's own client (`"57@k3v9x2m8q1"`, as `meta.step` and
 * `meta.target` are: undo.ts) is stored as the distance from the event's own clientSeq.
 *
 * Payload (inside the envelope, envelope.ts):
 *   n · first seq · flags · table size · text units · insert units · text column (chars.ts) ·
 *   columns' raw length · columns' stored length · columns (deflated iff flags bit 1)
 * The text column is the table's strings, then the text of every insert, then the text of every
 * delete (two streams, so that deflate sees the typed text unbroken by what was deleted). The
 * columns, each its byte length then its bytes, in the order of `Col`. All columns are RLE
 * (bytes.ts) but the table lengths, meta and general ops, which are plain varints.
 *
 * Op shapes: 0 empty, 1 insert, 2 delete, 3 insert then delete (a replacement), each at the
 * position of the op's leading retain (0 without one); 4 anything else, component by component
 * in the general column (length * 3 + 0 retain, 1 insert, 2 delete).
 * Times are integers nearly always (the server's clock); a block with any other time (or one
 * beyond ±2^49) keeps all its times as doubles (flags bit 0), so every time survives bit for bit
 * either way. Likewise a block with a clientSeq beyond 2^49 keeps all its clientSeqs as plain
 * varints (flags bit 2): the protocol allows any positive safe integer.
 */

/** The columns, in payload order. */
export const Col = {
  TableLengths: 0,
  Clients: 1,
  ClientSeqs: 2,
  Bases: 3,
  Authors: 4,
  Times: 5,
  Kinds: 6,
  MetaCounts: 7,
  Meta: 8,
  Shapes: 9,
  Positions: 10,
  InsertLengths: 11,
  DeleteLengths: 12,
  General: 13,
} as const;

export const COLUMN_COUNT = 14;

export const SHAPE_EMPTY = 0;
export const SHAPE_INSERT = 1;
export const SHAPE_DELETE = 2;
export const SHAPE_REPLACE = 3;
export const SHAPE_GENERAL = 4;

export const META_NULL = 0;
export const META_FALSE = 1;
export const META_TRUE = 2;
export const META_INT = 3;
export const META_FLOAT = 4;
export const META_STRING = 5;
/** A string `${clientSeq - d}@${client}` of the event's own client; d follows. */
export const META_OWN_KEY = 6;

export const FLAG_FLOAT_TIMES = 1;
export const FLAG_DEFLATED_COLUMNS = 2;
export const FLAG_WIDE_CLIENT_SEQS = 4;
export const KNOWN_FLAGS = FLAG_FLOAT_TIMES | FLAG_DEFLATED_COLUMNS | FLAG_WIDE_CLIENT_SEQS;

/**
 * Beyond this, a value's difference from its prediction might not fit a zigzag varint exactly
 * (2^53 is where doubles stop counting by one; an RLE entry doubles a zigzag, which doubles
 * the delta). Times and clientSeqs past it switch their block
 * to the wide form (flags), which keeps any value.
 */
export const NARROW_LIMIT = 2 ** 49;

/** Most events a block may hold, so a tiny hostile block cannot claim billions of events. */
export const MAX_BLOCK_EVENTS = 1 << 22;

/** RLE entries double a zigzag value (bytes.ts), so deltas stay within ±2^50 to keep every entry a safe integer. */
const MAX_DELTA = 2 ** 50;

/** An integer the columns can hold as a zigzag delta. */
export const isDeltaInt = (v: number): boolean => Number.isSafeInteger(v) && v <= MAX_DELTA && v >= -MAX_DELTA;

/**
 * If `s` is the id key (`${clientSeq}@${client}`) of an event of `client`, the distance from
 * `clientSeq` to that event's; otherwise null. Only the canonical spelling counts (no leading
 * zeros), so the string rebuilt from the distance is `s` exactly.
 */
export function ownKeyDistance(s: string, client: string, clientSeq: number): number | null {
  const at = s.length - client.length - 1;
  if (at < 1 || s.charCodeAt(at) !== 64 /* @ */ || !s.endsWith(client)) return null;
  const head = s.slice(0, at);
  const n = Number(head);
  if (!Number.isSafeInteger(n) || n < 0 || String(n) !== head) return null;
  const d = clientSeq - n;
  return isDeltaInt(d) ? d : null;
}
