/**
 * The client's view of a document's log: confirmed events by seq, from wherever they
 * are cheapest to get (undo, issue 5; the history panel, issue 6).
 *
 *   1. memory: one contiguous run of events, `(memFrom, memTo]`, kept since the page
 *      opened (every confirmed event the sync client sees) and grown downwards by what
 *      was fetched for earlier ranges, so asking again for the same history is free;
 *   2. IndexedDB: the stored tail and the history cache the local store keeps below its
 *      checkpoint (local-store.ts, HISTORY_KEEP), so history works offline when it was
 *      seen here before;
 *   3. the server: the protocol's paged `history` request (docs/protocol.md), when the
 *      first two do not have it. Offline, that is an `offline` error value.
 *
 * Ranges follow the protocol: `from < seq ≤ to`. `page` returns one page and `next` (the
 * `from` of the next page, or null when `to` is reached); `events` walks every page.
 * Nothing here throws for an expected failure (offline, storage broken): they are values.
 * The source never goes beyond `head()`, the last confirmed seq; the outbox (the
 * client's unconfirmed events) is not part of it.
 */
import type { Checkpoint, CodedError, DocEvent, Result } from '../../../shared/src/index.js';
import { err, ok, OpSummaries, protocolLimits, type OpSummaryView } from '../../../shared/src/index.js';

export type EventSourceErrorCode = 'offline' | 'timeout' | 'storage' | 'server' | 'range';
export type EventSourceError = CodedError<EventSourceErrorCode>;

/** One page of the log: events `from < seq ≤ end` in seq order, contiguous. */
export interface EventPage {
  readonly events: readonly DocEvent[];
  /** Where the next page starts (its `from`), or null when the range is done. */
  readonly next: number | null;
  /** Server checkpoints inside the page, when it came from the server (may be empty). */
  readonly checkpoints: readonly Checkpoint[];
  /** Where the page came from (for tests and diagnostics). */
  readonly origin: 'memory' | 'local' | 'server';
}

/** What the source needs of the local store (`LocalStore` fits). */
export interface LocalEvents {
  events(docId: string, from: number, to: number, limit?: number): Promise<Result<DocEvent[], CodedError>>;
}

/** What the source needs of the server (`SyncClient.history` fits). */
export type RemoteHistory = (
  from: number,
  to: number,
  limit: number,
) => Promise<Result<{ readonly events: readonly DocEvent[]; readonly next: number | null; readonly checkpoints?: readonly Checkpoint[] }, CodedError>>;

export interface EventSourceOptions {
  readonly docId: string;
  /** The last confirmed seq (what the sync client has). */
  readonly head: () => number;
  /** null: no local store. */
  readonly local: LocalEvents | null;
  /** null: no server (tests, or a document that lives only here). */
  readonly remote: RemoteHistory | null;
  /**
   * Events per page asked for (at most the protocol's limit). The server's pages are bounded
   * by their encoded bytes (1 MiB, a few bytes an event), so by default a page asks for many
   * and the server says where it stopped (`next`).
   */
  readonly pageSize?: number;
}

/** Events a page asks for by default: a stretch the server sends in a page or two of blocks. */
export const PAGE_EVENTS = 32_000;

/** Events read from the local store at once when filling memory downwards. */
const LOCAL_CHUNK = 10_000;

export class EventSource {
  private readonly o: EventSourceOptions;
  private readonly pageSize: number;
  /** Memory: events with memFrom < seq ≤ memFrom + mem.length, contiguous. */
  private mem: DocEvent[] = [];
  private memFrom: number;
  /** Summaries of `sumsOf`'s ops (the memory array they were made for). */
  private sums = new OpSummaries();
  private sumsOf: DocEvent[] | null = null;
  private readonly appendListeners = new Set<(events: readonly DocEvent[]) => void>();

  constructor(options: EventSourceOptions) {
    this.o = options;
    this.pageSize = Math.max(1, Math.min(options.pageSize ?? PAGE_EVENTS, protocolLimits.maxHistoryLimit));
    this.memFrom = options.head();
  }

  /** The last confirmed seq. */
  head(): number {
    return this.o.head();
  }

  /** The range held in memory, `(from, to]`. */
  get memoryRange(): { from: number; to: number } {
    return { from: this.memFrom, to: this.memFrom + this.mem.length };
  }

  /**
   * Confirmed events as the sync client takes them (SyncClient.onConfirmed). `reset`: the
   * state jumped to a server checkpoint; memory starts again after it.
   */
  add(events: readonly DocEvent[], reset = false): void {
    if (reset) {
      this.mem = [];
      this.memFrom = events.length > 0 ? events[0].seq - 1 : this.o.head();
    }
    const fresh: DocEvent[] = [];
    for (const e of events) {
      const top = this.memFrom + this.mem.length;
      if (e.seq <= top) continue;
      if (e.seq !== top + 1) {
        // A jump (should not happen: the stream is gap-free): memory restarts here.
        this.mem = [];
        this.memFrom = e.seq - 1;
      }
      this.mem.push(e);
      fresh.push(e);
    }
    if (fresh.length > 0) for (const f of [...this.appendListeners]) f(fresh);
  }

  /** Calls `f` with each run of newly confirmed events (the history panel's live end). */
  onAppend(f: (events: readonly DocEvent[]) => void): () => void {
    this.appendListeners.add(f);
    return () => this.appendListeners.delete(f);
  }

  /** Events `from < seq ≤ to` that are in memory right now (synchronous; may be partial). */
  inMemory(from: number, to: number): readonly DocEvent[] {
    const lo = Math.max(from, this.memFrom);
    const hi = Math.min(to, this.memFrom + this.mem.length);
    return hi <= lo ? [] : this.mem.slice(lo - this.memFrom, hi - this.memFrom);
  }

  /**
   * Summaries of the ops of `inMemory(from, to)` (op-summary.ts), aligned with it, for
   * `revertEvents`: an undo far back then passes over others' events without reading them.
   * Kept beside memory: extended as it grows at the top, rebuilt once when it is replaced
   * or grown downwards (a fetch of older history, which costs more than that anyway).
   */
  summaries(from: number, to: number): OpSummaryView {
    if (this.sumsOf !== this.mem) {
      this.sums = OpSummaries.of(this.mem);
      this.sumsOf = this.mem;
    } else {
      for (let i = this.sums.length; i < this.mem.length; i++) this.sums.push(this.mem[i]);
    }
    const lo = Math.max(from, this.memFrom);
    const hi = Math.min(to, this.memFrom + this.mem.length);
    return this.sums.view(lo - this.memFrom, Math.max(lo, hi) - this.memFrom);
  }

  /** One page of `from < seq ≤ to` (to clamped to the head), at most `limit` events. */
  async page(from: number, to: number, limit = this.pageSize): Promise<Result<EventPage, EventSourceError>> {
    const head = this.o.head();
    to = Math.min(to, head);
    from = Math.max(0, Math.floor(from));
    limit = Math.max(1, Math.min(limit, this.pageSize));
    if (!Number.isFinite(to) || to <= from) return ok({ events: [], next: null, checkpoints: [], origin: 'memory' });
    const end = Math.min(to, from + limit);
    const memTo = this.memFrom + this.mem.length;
    // 1. Memory holds the start of the range.
    if (from >= this.memFrom && from < memTo) {
      const events = this.inMemory(from, end);
      return ok(pageOf(events, to, [], 'memory'));
    }
    // Below memory: what is fetched stops where memory begins.
    const below = Math.min(end, from < this.memFrom ? this.memFrom : end);
    // 2. The local store.
    if (this.o.local !== null) {
      const r = await this.o.local.events(this.o.docId, from, below, below - from);
      if (r.ok) {
        const run = contiguous(r.value, from);
        if (run.length > 0) {
          this.remember(run);
          return ok(pageOf(run, to, [], 'local'));
        }
      }
      // A storage failure is not fatal here: the server may still have it.
    }
    // 3. The server.
    if (this.o.remote === null) return err('offline', `events ${from + 1}–${below} are not stored here`);
    const r = await this.askServer(from, below);
    if (!r.ok) return r;
    return ok(pageOf(r.value.run, to, r.value.checkpoints, 'server'));
  }

  /**
   * One page of `from < seq ≤ to` straight from the server, with the server checkpoints
   * inside it: memory and the local stores hold no server checkpoints, so the history
   * panel asks here for the bases it starts from (history-model.ts). `offline` without a
   * server.
   */
  async serverPage(from: number, to: number): Promise<Result<EventPage, EventSourceError>> {
    to = Math.min(to, this.o.head());
    from = Math.max(0, Math.floor(from));
    if (!Number.isFinite(to) || to <= from) return ok({ events: [], next: null, checkpoints: [], origin: 'server' });
    if (this.o.remote === null) return err('offline', `events ${from + 1}–${to} are not stored here`);
    const end = Math.min(to, from + this.pageSize);
    const r = await this.askServer(from, end);
    if (!r.ok) return r;
    const { run } = r.value;
    const last = run[run.length - 1].seq;
    const checkpoints = r.value.checkpoints.filter((c) => c.seq > from && c.seq <= last);
    return ok(pageOf(run, to, checkpoints, 'server'));
  }

  /** The server's events `from < seq ≤ end` (a non-empty contiguous run from `from`, remembered) and its checkpoints. */
  private async askServer(from: number, end: number): Promise<Result<{ run: DocEvent[]; checkpoints: readonly Checkpoint[] }, EventSourceError>> {
    const r = await this.o.remote!(from, end, end - from);
    if (!r.ok) {
      const code: EventSourceErrorCode = r.error.code === 'offline' ? 'offline' : r.error.code === 'timeout' ? 'timeout' : 'server';
      return err(code, r.error.message);
    }
    const run = contiguous(r.value.events, from).filter((e) => e.seq <= end);
    if (run.length === 0) return err('server', `the server sent no events after ${from}`);
    this.remember(run);
    return ok({ run, checkpoints: r.value.checkpoints ?? [] });
  }

  /** Every event `from < seq ≤ to` (to clamped to the head), page by page. */
  async events(from: number, to: number): Promise<Result<DocEvent[], EventSourceError>> {
    const out: DocEvent[] = [];
    let at: number | null = from;
    while (at !== null) {
      const r = await this.page(at, to);
      if (!r.ok) return r;
      for (const e of r.value.events) out.push(e);
      at = r.value.next;
    }
    return ok(out);
  }

  /**
   * Makes memory reach down to `from` (so `inMemory(from, head)` is the whole stretch),
   * fetching pages backwards-adjacent to memory. Undo calls this before it reads the
   * log synchronously.
   */
  async ensureMemoryFrom(from: number): Promise<Result<null, EventSourceError>> {
    from = Math.max(0, from);
    while (this.memFrom > from) {
      // Fetch the stretch that ends where memory begins: first from the local store in one
      // large read (IndexedDB reads 10,000 events about as fast as 1,000), else page by page.
      const start = Math.max(from, this.memFrom - LOCAL_CHUNK);
      const target = this.memFrom;
      if (this.o.local !== null) {
        const r = await this.o.local.events(this.o.docId, start, target, target - start);
        if (r.ok && this.memFrom === target) {
          const run = contiguous(r.value, start);
          if (run.length === target - start) {
            this.mem = run.concat(this.mem);
            this.memFrom = start;
            continue;
          }
        }
      }
      const got: DocEvent[] = [];
      let at: number | null = start;
      while (at !== null && at < target && this.memFrom > start) {
        const r = await this.page(at, target);
        if (!r.ok) return r;
        for (const e of r.value.events) got.push(e);
        at = r.value.next;
      }
      // Pages that did not touch memory's lower end were not remembered: add the run now.
      const run = contiguous(got, start).filter((e) => e.seq <= this.memFrom);
      if (this.memFrom > start && run.length > 0 && run[run.length - 1].seq === this.memFrom) {
        this.mem = run.concat(this.mem);
        this.memFrom = start;
      }
      if (this.memFrom > start) return err('range', `could not bring events ${start + 1}–${target} into memory`);
    }
    return ok(null);
  }

  /** Adds a fetched run to memory when it touches memory's lower end (contiguous only). */
  private remember(run: readonly DocEvent[]): void {
    if (run.length === 0) return;
    const last = run[run.length - 1].seq;
    const first = run[0].seq;
    if (last < this.memFrom || first > this.memFrom) return;
    const keep = run.filter((e) => e.seq <= this.memFrom);
    if (keep.length === 0) return;
    this.mem = keep.concat(this.mem);
    this.memFrom = keep[0].seq - 1;
  }
}

/** The run of `events` that continues contiguously from `from`. */
function contiguous(events: readonly DocEvent[], from: number): DocEvent[] {
  const run: DocEvent[] = [];
  for (const e of events) {
    if (e.seq <= from + run.length) continue;
    if (e.seq !== from + run.length + 1) break;
    run.push(e);
  }
  return run;
}

function pageOf(events: readonly DocEvent[], to: number, checkpoints: readonly Checkpoint[], origin: EventPage['origin']): EventPage {
  const last = events.length > 0 ? events[events.length - 1].seq : null;
  return { events, next: last === null || last >= to ? null : last, checkpoints, origin };
}

/** What `eventSourceFor` needs of a sync client (`SyncClient` fits). */
export interface EventSourceClient {
  readonly docId: string;
  readonly state: { readonly confirmedSeq: number };
  onConfirmed(f: (events: readonly DocEvent[], reset: boolean) => void): () => void;
  history: RemoteHistory;
}

/**
 * The event source of an open document: memory fed by the sync client's confirmed
 * events, the local store, the server. `close()` stops listening.
 */
export function eventSourceFor(client: EventSourceClient, local: LocalEvents | null): EventSource & { close(): void } {
  const source = new EventSource({
    docId: client.docId,
    head: () => client.state.confirmedSeq,
    local,
    remote: (from, to, limit) => client.history(from, to, limit),
  });
  const off = client.onConfirmed((events, reset) => source.add(events, reset));
  return Object.assign(source, { close: off });
}
