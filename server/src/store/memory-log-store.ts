/**
 * The LogStore in memory: one array of events per document, plus the id index L3 needs.
 * For tests, simulations and benchmarks; it passes the same contract suite as the SQLite
 * store (server/test/store/contract.ts), so code tested against it behaves the same on disk.
 *
 * Stored events are frozen copies (only the DocEvent fields are kept, as SQLite keeps
 * them), so neither the caller's later changes to what it appended nor changes to what
 * `range` returned can alter the log. Checkpoints are kept encoded, exactly as on disk.
 *
 * What the contract treats as the caller's bug, not as an expected failure (both stores
 * throw and store nothing): events whose seqs do not continue the head one by one
 * (expectedHead + 1, + 2, …; L1), a malformed event (see checkEvents), an event id
 * already in the document's log or twice in one call (L3), and a checkpoint beyond the
 * document's head.
 */
import type { LogStore, DocumentInfo, StoredBlock } from './log-store.js';
import {
  type Checkpoint,
  type DocEvent,
  type EventId,
  type Result,
  ok,
  err,
  idKey,
  eventKinds,
  decodeOp,
  encodeCheckpoint,
  type CheckpointRetention,
  CHECKPOINT_RETENTION,
  checkRetention,
  prunedCheckpoints,
  decodeCheckpoint,
  encodeBlock,
  encodeCheckpointBlock,
} from '../../../shared/src/index.js';
import type { Component } from '../../../shared/src/index.js';

interface DocLog {
  readonly events: DocEvent[];
  readonly ids: Map<string, number>;
  readonly lastCs: Map<string, number>;
  /** seq → encodeCheckpoint text. */
  readonly checkpoints: Map<number, string>;
}

type Entry = { docId: string; expectedHead: number; events: readonly DocEvent[] };

export interface MemoryLogStoreOptions {
  /** Which checkpoints a document keeps (default CHECKPOINT_RETENTION, spec R16). */
  checkpointRetention?: CheckpointRetention;
}

export class MemoryLogStore implements LogStore {
  private readonly docs = new Map<string, DocLog>();
  private closed = false;
  private readonly retention: CheckpointRetention;

  constructor(options: MemoryLogStoreOptions = {}) {
    this.retention = checkRetention(options.checkpointRetention ?? CHECKPOINT_RETENTION);
  }

  append(docId: string, expectedHead: number, events: readonly DocEvent[]): Result<null> {
    return this.appendMany([{ docId, expectedHead, events }]);
  }

  appendMany(entries: readonly Entry[]): Result<null> {
    this.open();
    // Check everything first (entries apply in order, so a later entry for the same
    // document continues an earlier one), then store: nothing is half-done.
    const heads = new Map<string, number>();
    const newIds = new Map<string, Set<string>>();
    const staged: { docId: string; events: DocEvent[] }[] = [];
    for (const { docId, expectedHead, events } of entries) {
      const log = this.docs.get(docId);
      const head = heads.get(docId) ?? log?.events.length ?? 0;
      if (head !== expectedHead) return headMismatch(docId, expectedHead, head);
      checkEvents(docId, expectedHead, events);
      let fresh = newIds.get(docId);
      if (fresh === undefined) newIds.set(docId, (fresh = new Set()));
      for (const e of events) {
        const k = idKey(e.id);
        if (log?.ids.has(k) || fresh.has(k)) throw duplicateId(docId, e);
        fresh.add(k);
      }
      heads.set(docId, expectedHead + events.length);
      staged.push({ docId, events: events.map(frozenCopy) });
    }
    for (const { docId, events } of staged) {
      if (events.length === 0) continue;
      const log = this.docLog(docId);
      for (const e of events) {
        log.events.push(e);
        log.ids.set(idKey(e.id), e.seq);
        log.lastCs.set(e.id.client, Math.max(log.lastCs.get(e.id.client) ?? 0, e.id.clientSeq));
      }
    }
    return ok(null);
  }

  head(docId: string): number {
    this.open();
    return this.docs.get(docId)?.events.length ?? 0;
  }

  range(docId: string, from: number, to: number): DocEvent[] {
    this.open();
    const events = this.docs.get(docId)?.events;
    if (events === undefined) return [];
    const lo = Math.max(0, Math.floor(from));
    const hi = Math.min(events.length, Math.floor(to));
    return hi > lo ? events.slice(lo, hi) : [];
  }

  /** LogStore: one block of the whole range, encoded now (this store keeps events as values). */
  storedBlocks(docId: string, from: number, to: number): StoredBlock[] {
    const events = this.range(docId, from, to);
    if (events.length === 0) return [];
    return [{ first: events[0].seq, last: events[events.length - 1].seq, data: encodeBlock(events) }];
  }

  /** LogStore: the checkpoint at `seq` as a block, encoded now. */
  storedCheckpoint(docId: string, seq: number): Uint8Array | null {
    const cp = this.checkpointAtOrBefore(docId, seq);
    return cp !== null && cp.seq === seq ? encodeCheckpointBlock(cp) : null;
  }

  seqOf(docId: string, id: EventId): number | undefined {
    this.open();
    return this.docs.get(docId)?.ids.get(idKey(id));
  }

  lastClientSeq(docId: string, client: string): number {
    this.open();
    return this.docs.get(docId)?.lastCs.get(client) ?? 0;
  }

  putCheckpoint(cp: Checkpoint): Result<null> {
    this.open();
    checkCheckpoint(cp, this.head(cp.docId));
    const cps = this.docLog(cp.docId).checkpoints;
    cps.set(cp.seq, encodeCheckpoint(cp));
    for (const seq of prunedCheckpoints([...cps.keys()], this.retention)) cps.delete(seq);
    return ok(null);
  }

  checkpointAtOrBefore(docId: string, at: number): Checkpoint | null {
    this.open();
    const cps = this.docs.get(docId)?.checkpoints;
    if (cps === undefined) return null;
    // Newest first; one that does not decode is skipped (a cache, never the truth).
    const seqs = [...cps.keys()].filter((s) => s <= at).sort((a, b) => b - a);
    for (const seq of seqs) {
      const cp = decodeCheckpoint(cps.get(seq)!);
      if (cp.ok && cp.value.docId === docId && cp.value.seq === seq) return cp.value;
    }
    return null;
  }

  checkpointSeqs(docId: string, from: number, to: number): number[] {
    this.open();
    const cps = this.docs.get(docId)?.checkpoints;
    if (cps === undefined) return [];
    return [...cps.keys()].filter((s) => s >= from && s <= to).sort((a, b) => a - b);
  }

  listDocuments(): DocumentInfo[] {
    this.open();
    const out: DocumentInfo[] = [];
    for (const [docId, log] of this.docs) {
      const n = log.events.length;
      if (n > 0) out.push({ docId, head: n, updatedAt: log.events[n - 1].time });
    }
    return out.sort(byRecency);
  }

  close(): void {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw new Error('MemoryLogStore: used after close()');
  }

  private docLog(docId: string): DocLog {
    let log = this.docs.get(docId);
    if (log === undefined) {
      log = { events: [], ids: new Map(), lastCs: new Map(), checkpoints: new Map() };
      this.docs.set(docId, log);
    }
    return log;
  }
}

/** Most recently edited first; ties by docId, so the order is total and the same in every store. */
export function byRecency(a: DocumentInfo, b: DocumentInfo): number {
  return b.updatedAt - a.updatedAt || (a.docId < b.docId ? -1 : a.docId > b.docId ? 1 : 0);
}

export function headMismatch(docId: string, expected: number, head: number) {
  return err('head-mismatch', `document ${JSON.stringify(docId)}: expected head ${expected}, the log's head is ${head}`);
}

/**
 * Throws (a caller's bug) unless `events` are seqs head + 1, head + 2, … (L1) and each is
 * a well-formed DocEvent: a canonical op (a bad one stored would make the log unreadable
 * for good), 0 ≤ base < seq, clientSeq ≥ 1, a known kind, a finite time, flat meta, and
 * docId, client and author without lone surrogates (SQLite stores text as UTF-8, where
 * they cannot be kept; op and meta are JSON, which escapes them).
 */
export function checkEvents(docId: string, head: number, events: readonly DocEvent[]): void {
  if (!isWellFormed(docId)) throw new Error(`LogStore: document id ${JSON.stringify(docId)} has a lone surrogate`);
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const bad = (what: string) =>
      new Error(`LogStore: document ${JSON.stringify(docId)}: event ${i} of the append (seq ${String(e?.seq)}): ${what}`);
    if (e === null || typeof e !== 'object') throw bad('not an event');
    if (e.seq !== head + i + 1) throw bad(`expected seq ${head + i + 1} (L1: seqs continue the head without a gap)`);
    const id = e.id as Partial<EventId> | undefined;
    if (typeof id?.client !== 'string' || !isWellFormed(id.client)) throw bad('id.client must be a string without lone surrogates');
    if (!Number.isSafeInteger(id.clientSeq) || (id.clientSeq as number) < 1) throw bad('id.clientSeq must be an integer ≥ 1');
    if (!Number.isSafeInteger(e.base) || e.base < 0 || e.base >= e.seq) throw bad(`base must be an integer from 0 to seq - 1, got ${e.base}`);
    if (typeof e.author !== 'string' || !isWellFormed(e.author)) throw bad('author must be a string without lone surrogates');
    if (typeof e.time !== 'number' || !Number.isFinite(e.time)) throw bad('time must be a finite number');
    if (!kinds.has(e.kind)) throw bad(`unknown kind ${JSON.stringify(e.kind)}`);
    const op = decodeOp(e.op);
    if (!op.ok) throw bad(`op: ${op.error.message}`);
    if (e.meta !== undefined) {
      if (e.meta === null || typeof e.meta !== 'object' || Array.isArray(e.meta)) throw bad('meta must be an object');
      for (const [k, v] of Object.entries(e.meta)) {
        const okValue = v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
        if (!okValue) throw bad(`meta.${k} must be a string, a finite number, a boolean or null`);
      }
    }
  }
}

const kinds = new Set<string>(eventKinds);

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function isWellFormed(s: string): boolean {
  return !loneSurrogate.test(s);
}

export function duplicateId(docId: string, e: DocEvent): Error {
  return new Error(`LogStore: document ${JSON.stringify(docId)}: event id ${idKey(e.id)} is already in the log (L3: an id is appended at most once)`);
}

/** Throws (a caller's bug) for a checkpoint the document's log cannot have produced. */
export function checkCheckpoint(cp: Checkpoint, head: number): void {
  if (!Number.isInteger(cp.seq) || cp.seq < 0 || cp.seq > head) {
    throw new Error(`LogStore: checkpoint of ${JSON.stringify(cp.docId)} at seq ${cp.seq}, but the log's head is ${head}`);
  }
}

function frozenCopy(e: DocEvent): DocEvent {
  const op = Object.freeze(e.op.map((c: Component) => (typeof c === 'object' ? Object.freeze({ d: c.d }) : c)));
  const copy: DocEvent = {
    id: Object.freeze({ client: e.id.client, clientSeq: e.id.clientSeq }),
    seq: e.seq,
    base: e.base,
    author: e.author,
    time: e.time,
    op,
    kind: e.kind,
    ...(e.meta !== undefined ? { meta: Object.freeze({ ...e.meta }) } : {}),
  };
  return Object.freeze(copy);
}
