/**
 * The history panel's data: the whole log of the open document, loaded page by page
 * from the event source (memory, IndexedDB: the local store and the history cache, the
 * server's paged history; pages from the server go into the cache) into a
 * `HistoryIndex`, then kept up to date by the confirmed events that keep arriving.
 *
 * Promises:
 *   - `index` holds events 1..`loaded` exactly as the log has them (contiguous); the
 *     slider never offers a version that is not loaded;
 *   - live events extend `loaded` (the head moves) but never change what a version is,
 *     so a view at version v stays the same while others type;
 *   - expected failures (offline, a timeout) are a `problem` string and a `retry()`,
 *     never a throw; what was loaded stays usable.
 *
 * It also derives the two things drawn on the slider's track: named versions (label
 * events, see labels.ts) and author sessions (a person's events with no pause longer
 * than SESSION_GAP_MS between them).
 */
import type { DocEvent } from '../../../shared/src/index.js';
import { HistoryIndex } from '../../../shared/src/index.js';
import type { EventSource } from './event-source.js';
import { labelOf, type NamedVersion } from './labels.js';

/** Events per page asked for (the protocol's most), and pages asked for at once. */
const PAGE = 1000;
const IN_FLIGHT = 4;

/** A pause longer than this (server clock) ends an author's session. */
export const SESSION_GAP_MS = 10 * 60_000;

/** One author's stretch of work: their events from `from` to `to` (seqs). */
export interface Session {
  readonly author: string;
  readonly from: number;
  readonly to: number;
  readonly start: number;
  readonly end: number;
}

export interface HistorySnapshot {
  /** Versions 0..loaded are available. */
  readonly loaded: number;
  /** The last confirmed seq the client knows (loaded catches up with it). */
  readonly head: number;
  readonly loading: boolean;
  readonly problem: string | null;
  readonly sessions: readonly Session[];
  readonly labels: readonly NamedVersion[];
}

export class HistoryModel {
  readonly index = new HistoryIndex([], { every: 1000 });
  private readonly source: EventSource;
  private readonly listeners = new Set<() => void>();
  private readonly sessions: Session[] = [];
  private readonly open = new Map<string, number>(); // author → index in sessions of their open session
  private readonly labels: NamedVersion[] = [];
  private snap: HistorySnapshot;
  private loading = false;
  private again = false;
  private problem: string | null = null;
  private closed = false;
  private off: (() => void) | null = null;

  /** `fromServer`: called with each page that came from the server (to cache it). */
  constructor(
    source: EventSource,
    private readonly fromServer: (events: readonly DocEvent[]) => void = () => {},
  ) {
    this.source = source;
    this.snap = this.compute();
  }

  /** Starts loading the log and following new events. */
  start(): void {
    this.off = this.source.onAppend((events) => this.live(events));
    void this.load();
  }

  close(): void {
    this.closed = true;
    this.off?.();
    this.listeners.clear();
  }

  /** Tries loading again after a problem (e.g. back online). */
  retry(): void {
    this.problem = null;
    void this.load();
  }

  subscribe = (f: () => void): (() => void) => {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  };

  getSnapshot = (): HistorySnapshot => this.snap;

  /** The events `from < seq ≤ to` that are loaded. */
  events(from: number, to: number): readonly DocEvent[] {
    return this.index.eventsBetween(from, to);
  }

  /** The version the document was at, at wall-clock time `t` (server clock): the last event at or before it. */
  versionAtTime(t: number): number {
    let lo = 0;
    let hi = this.index.head;
    // Server times never go backwards within a log (one sequencer), so bisect.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.index.eventAt(mid)!.time <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private live(events: readonly DocEvent[]): void {
    if (this.closed || events.length === 0) return;
    if (!this.loading && events[0].seq === this.index.head + 1) {
      this.take(events);
      this.changed();
    } else void this.load();
  }

  private take(events: readonly DocEvent[]): void {
    const fresh = events.filter((e) => e.seq > this.index.head);
    if (fresh.length === 0) return;
    this.index.append(fresh);
    for (const e of fresh) this.note(e);
  }

  /** Loads pages until the index reaches the head; one loop at a time. */
  private async load(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    this.changed();
    try {
      do {
        this.again = false;
        while (!this.closed && this.index.head < this.source.head()) {
          // Several pages in flight at once: the round trips overlap (a long history from the
          // server is hundreds of pages). They are appended in order; one that does not start
          // where the index ends (a page cut short) is dropped and asked again.
          const start = this.index.head;
          const head = this.source.head();
          const asks: Promise<Awaited<ReturnType<EventSource['page']>>>[] = [];
          for (let k = 0; k < IN_FLIGHT && start + k * PAGE < head; k++) {
            asks.push(this.source.page(start + k * PAGE, Math.min(head, start + (k + 1) * PAGE)));
          }
          const pages = await Promise.all(asks);
          if (this.closed) return;
          // Every page from the server goes to the cache, also those not appended now (fetched
          // ahead of a page cut short): asked again, they may come from memory instead.
          for (const r of pages) if (r.ok && r.value.origin === 'server') this.fromServer(r.value.events);
          let progressed = false;
          for (const r of pages) {
            if (!r.ok) {
              if (progressed) break; // load what came, ask again from there
              this.problem =
                r.error.code === 'offline'
                  ? `The rest of the history (after version ${this.index.head}) is not on this device; it loads when you are back online.`
                  : `The history could not be loaded: ${r.error.message}`;
              return;
            }
            const evs = r.value.events;
            if (evs.length === 0 || evs[0].seq > this.index.head + 1) break;
            try {
              this.take(evs);
            } catch (e) {
              this.problem = `The history did not fit together: ${(e as Error).message}`;
              return;
            }
            progressed = true;
          }
          if (!progressed) break;
          this.problem = null;
          this.changed();
        }
      } while (this.again && !this.closed);
    } finally {
      this.loading = false;
      this.changed();
    }
  }

  private note(e: DocEvent): void {
    const at = this.open.get(e.author);
    const s = at === undefined ? undefined : this.sessions[at];
    if (s !== undefined && e.time - s.end <= SESSION_GAP_MS) {
      this.sessions[at!] = { ...s, to: e.seq, end: e.time };
    } else {
      this.open.set(e.author, this.sessions.length);
      this.sessions.push({ author: e.author, from: e.seq, to: e.seq, start: e.time, end: e.time });
    }
    const label = labelOf(e);
    if (label !== null) this.labels.push(label);
  }

  private compute(): HistorySnapshot {
    return {
      loaded: this.index.head,
      head: Math.max(this.source.head(), this.index.head),
      loading: this.loading,
      problem: this.problem,
      sessions: this.sessions.slice(),
      labels: this.labels.slice(),
    };
  }

  private changed(): void {
    if (this.closed) return;
    this.snap = this.compute();
    for (const f of [...this.listeners]) f();
  }
}
