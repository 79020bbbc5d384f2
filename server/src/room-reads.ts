/**
 * The bridge between the asynchronous store (store/log-store.ts) and the room core, which
 * reads its log synchronously (shared/src/room/room-log.ts): one document's reads as a
 * read-through view that a step runs against.
 *
 * Why a bridge instead of an asynchronous core: the core's rules (sequencing, rebasing,
 * welcomes, history pages) are easiest to get right, test and simulate as plain
 * synchronous code, and on the hot path they read nothing (the sequencer's memory holds
 * the recent log). What they do read (a client's last clientSeq after a load, an event
 * older than the sequencer's window, checkpoints, chunks for a page) is rare.
 *
 * How: the shell runs each core step through `run`. A read the view does not have throws
 * a `Miss`; `run` fetches that read from the store, keeps the answer for this step only,
 * and runs the step again. That is sound because the core reads everything before it
 * changes anything (room-log.ts, room-core.ts: a throwing log leaves the core as it was),
 * and a step's reads are the same on the next try until it gets past them. The answers
 * are forgotten when the step ends, so a later step never sees a stale one (an id that
 * was not in the log then, a head that moved).
 *
 * `head` is the room's committed head, kept by the room (it is the only appender on this
 * node, and the sequencer asks for it mid-step, so it must never miss). A step that must
 * start from the store's own head (a load, a reload after a failed commit) asks for it
 * with `freshHead`.
 */
import type { Checkpoint, DocEvent, EventId, RoomLog } from '../../shared/src/index.js';
import type { LogStore } from './store/log-store.js';

/** A read the view did not have; `run` fetches it and runs the step again. Never escapes `run`. */
class Miss {
  constructor(readonly fetch: () => Promise<void>) {}
}

/** The answers fetched for one step, by read and arguments. */
interface Memo {
  head?: number;
  readonly answers: Map<string, unknown>;
}

/** Steps that keep missing are a bug (a step whose reads never settle), not a slow store. */
const MAX_MISSES = 10_000;

export class RoomReads implements RoomLog {
  /** The committed head as the room knows it; the room moves it after each commit and load. */
  committed = 0;
  private memo: Memo | null = null;

  constructor(
    private readonly store: LogStore,
    readonly docId: string,
  ) {}

  get head(): number {
    return this.memo?.head ?? this.committed;
  }

  range(from: number, to: number): readonly DocEvent[] {
    return this.read(`r${from}:${to}`, () => this.store.range(this.docId, from, to));
  }

  seqOf(id: EventId): number | undefined {
    return this.read(`s${id.client}\u0000${id.clientSeq}`, () => this.store.seqOf(this.docId, id));
  }

  lastClientSeq(client: string): number {
    return this.read(`l${client}`, () => this.store.lastClientSeq(this.docId, client));
  }

  checkpointAtOrBefore(at: number): Checkpoint | null {
    return this.read(`c${at}`, () => this.store.checkpointAtOrBefore(this.docId, at));
  }

  checkpointSeqs(from: number, to: number): readonly number[] {
    return this.read(`k${from}:${to}`, () => this.store.checkpointSeqs(this.docId, from, to));
  }

  /**
   * Runs `step` (synchronous, against this view) until it gets past every read, fetching
   * each missing one from the store in between; resolves with what it returned. Rejects
   * if the store does (a failed read, nothing the step decided has happened) or the step
   * throws. With `freshHead`, `head` is the store's head for this step.
   */
  async run<T>(step: () => T, opts: { freshHead?: boolean } = {}): Promise<T> {
    const memo: Memo = { answers: new Map() };
    if (opts.freshHead === true) memo.head = await this.store.head(this.docId);
    for (let misses = 0; ; misses++) {
      let miss: Miss;
      const outer = this.memo;
      this.memo = memo;
      try {
        return step();
      } catch (e) {
        if (!(e instanceof Miss)) throw e;
        miss = e;
      } finally {
        this.memo = outer;
      }
      if (misses >= MAX_MISSES) throw new Error(`room ${this.docId}: a step missed ${MAX_MISSES} reads`);
      await miss.fetch();
    }
  }

  private read<T>(key: string, fetch: () => Promise<T>): T {
    const memo = this.memo;
    if (memo === null) throw new Error(`room ${this.docId}: a log read outside RoomReads.run`);
    if (memo.answers.has(key)) return memo.answers.get(key) as T;
    throw new Miss(async () => {
      memo.answers.set(key, await fetch());
    });
  }
}
