/**
 * The history panel's data: the log of the open document, loaded newest first into a
 * `HistoryIndex` from the event source (memory, IndexedDB: the local store and the
 * history cache, the server's paged history; pages from the server go into the cache,
 * with their server checkpoints), then kept up to date by the confirmed events that keep
 * arriving.
 *
 * Newest first, so a browser that joined a long document late can scrub recent versions
 * after a round trip or two, not after the whole log (automerge-paper: 260,000 events, nine
 * stretches of 32,000, each one server page of blocks):
 *   1. a base near the head: the newest server checkpoint at or before the head, from the
 *      history cache, else from the server's page of the last stretch (which carries it);
 *      a short log (no checkpoint) starts at 0;
 *   2. forward: the events from the base to the head (the index answers base..head);
 *   3. backward: stretches of STRETCH events below the base, a few in flight, each with the server
 *      checkpoint it starts from (cache, else server), prepended to the index (which
 *      checks that each fits) until the base is 0. Offline, what the cache and the
 *      local store hold still loads (a stretch without a checkpoint waits for the next
 *      one down, down to 0).
 *
 * Promises:
 *   - `index` holds events base+1..`loaded` exactly as the log has them (contiguous); the
 *     slider spans 0..loaded and a version below `base` is shown as loading;
 *   - live events extend `loaded` (the head moves) but never change what a version is,
 *     so a view at version v stays the same while others type;
 *   - expected failures (offline, a timeout, a stretch that does not fit) are a `problem`
 *     string and a `retry()`, never a throw; what was loaded stays usable.
 *
 * It also derives the two things drawn on the slider's track: named versions (label
 * events, see labels.ts) and author sessions (a person's events with no pause longer
 * than SESSION_GAP_MS between them). Older stretches arrive after newer ones, so their
 * sessions are computed alone and merged at the seam (an author's last older session
 * and first newer one join when the pause between them is short): exact, and costs the
 * number of sessions, not of events.
 */
import type { Checkpoint, CodedError, DocEvent, Result } from '../../../shared/src/index.js';
import { HistoryIndex, ropeFromCheckpoint, Rope } from '../../../shared/src/index.js';
import { PAGE_EVENTS, type EventPage, type EventSource, type EventSourceError } from './event-source.js';
import { labelOf, type NamedVersion } from './labels.js';

/**
 * Events per page asked for near the head (where the base and the newest events are: a
 * checkpoint interval), and pages or stretches asked for at once.
 */
const PAGE = 1000;
const IN_FLIGHT = 4;
/**
 * Events per stretch below the base. The server bounds a page by its encoded bytes (1 MiB),
 * not by 1,000 events as when pages were JSON, so a stretch is one request or two.
 */
const STRETCH = PAGE_EVENTS;
/** A cached checkpoint this far below the head is a good first base; further, the server is asked for a nearer one. */
const NEAR = 2 * PAGE;

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

/** Server checkpoints kept on this device (the history cache, `checkpointsOf`). */
export interface CheckpointLookup {
  /** The newest kept checkpoint with seq ≤ `seq`, or null. */
  atOrBefore(seq: number): Promise<Result<Checkpoint | null, CodedError>>;
  /** Kept checkpoints with `from < seq ≤ to`, in seq order. */
  inRange(from: number, to: number): Promise<Result<readonly Checkpoint[], CodedError>>;
}

export interface HistorySnapshot {
  /** Versions base..loaded are available; loaded is the highest. */
  readonly loaded: number;
  /** The lowest loaded version (0 once the whole history is in). */
  readonly base: number;
  /** The last confirmed seq the client knows (loaded catches up with it). */
  readonly head: number;
  /** The first step is done: the versions near the head are loaded (base found, head reached once). */
  readonly ready: boolean;
  readonly loading: boolean;
  readonly problem: string | null;
  readonly sessions: readonly Session[];
  readonly labels: readonly NamedVersion[];
}

type Stretch = { readonly events: readonly DocEvent[]; readonly checkpoints: readonly Checkpoint[] };

export class HistoryModel {
  private idx = new HistoryIndex([]);
  private readonly source: EventSource;
  private readonly listeners = new Set<() => void>();
  private sessions: Session[] = [];
  private readonly open = new Map<string, number>(); // author → index in sessions of their open session
  private labels: NamedVersion[] = [];
  private snap: HistorySnapshot;
  private loading = false;
  private again = false;
  private based = false;
  private ready = false;
  private problem: string | null = null;
  private closed = false;
  private off: (() => void) | null = null;
  /** Events fetched below the base, `stashFrom < seq ≤ base`, waiting for a checkpoint to start from. */
  private stash: DocEvent[] = [];
  private stashFrom = 0;
  private readonly stashCps = new Map<number, Checkpoint>();
  /** Server pages not handed to `fromServer` yet: the cache is written once a load is done (see `toCache`). */
  private unsaved: Stretch[] = [];

  /**
   * `fromServer`: called with each page that came from the server and its checkpoints (to
   * cache them). `checkpoints`: the server checkpoints kept on this device, or null.
   */
  constructor(
    source: EventSource,
    private readonly fromServer: (events: readonly DocEvent[], checkpoints: readonly Checkpoint[]) => void = () => {},
    private readonly checkpoints: CheckpointLookup | null = null,
  ) {
    this.source = source;
    this.snap = this.compute();
  }

  /** The index of the loaded versions (replaced once, when the first base is found). */
  get index(): HistoryIndex {
    return this.idx;
  }

  /** Starts loading the log and following new events. */
  start(): void {
    this.off = this.source.onAppend((events) => this.live(events));
    void this.load();
  }

  close(): void {
    this.closed = true;
    this.saveCached();
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
    return this.idx.eventsBetween(from, to);
  }

  /**
   * The version the document was at, at wall-clock time `t` (server clock): the last
   * event at or before it, among the loaded ones (the base when all are later).
   */
  versionAtTime(t: number): number {
    let lo = this.idx.base;
    let hi = this.idx.head;
    // Server times never go backwards within a log (one sequencer), so bisect.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.idx.eventAt(mid)!.time <= t) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private live(events: readonly DocEvent[]): void {
    if (this.closed || events.length === 0) return;
    // Taken at once, also while older history loads (the head and the base grow apart; a
    // forward page that arrives later skips what is already in). A gap is fetched.
    if (this.based && events[0].seq <= this.idx.head + 1) {
      try {
        this.take(events);
      } catch (e) {
        this.problem = `The history did not fit together: ${(e as Error).message}`;
      }
      this.changed();
    } else void this.load();
  }

  private take(events: readonly DocEvent[]): void {
    const fresh = events.filter((e) => e.seq > this.idx.head);
    if (fresh.length === 0) return;
    this.idx.append(fresh);
    for (const e of fresh) this.note(e);
  }

  /** Finds a base, loads up to the head, then backwards to 0; one loop at a time. */
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
        if (!this.based) await this.findBase();
        if (this.closed || !(await this.forward())) return;
        this.ready = true;
        this.changed();
        if (!(await this.backward())) return;
      } while (this.again && !this.closed);
    } finally {
      this.saveCached();
      this.loading = false;
      this.changed();
    }
  }

  /** Step 1: the newest server checkpoint at or before the head, from the cache or the server; none: 0. */
  private async findBase(): Promise<void> {
    const head = this.source.head();
    let cp: Checkpoint | null = null;
    let far: Checkpoint | null = null;
    if (head > 0 && this.checkpoints !== null) {
      const r = await this.checkpoints.atOrBefore(head);
      if (r.ok && r.value !== null && r.value.seq > 0) {
        if (head - r.value.seq <= NEAR) cp = r.value;
        else far = r.value;
      }
    }
    // The server's page of the last stretch carries its checkpoint; the one before, if that had none
    // (the server writes one every 1,000 events, not always at a round number).
    for (let hi = head, tries = 0; cp === null && hi > 0 && tries < 2; hi -= PAGE, tries++) {
      const r = await this.source.serverPage(Math.max(0, hi - PAGE), hi);
      if (!r.ok) break; // offline: what is kept here will do
      this.toCache(r.value.events, r.value.checkpoints);
      for (const c of r.value.checkpoints) if (c.seq > 0 && c.seq <= head && (cp === null || c.seq > cp.seq)) cp = c;
    }
    cp ??= far;
    if (this.closed || this.based) return;
    if (cp !== null) {
      this.idx = new HistoryIndex([], { base: { seq: cp.seq, rope: ropeFromCheckpoint(cp) } });
      this.stashFrom = cp.seq;
    }
    this.based = true;
    this.changed();
  }

  /** Step 2 (and live catch-up): pages from the index's head up to the source's head. False on a problem. */
  private async forward(): Promise<boolean> {
    while (!this.closed && this.idx.head < this.source.head()) {
      // Several pages in flight at once: the round trips overlap. They are appended in order;
      // one that does not start where the index ends (a page cut short) is dropped and asked again.
      const start = this.idx.head;
      const head = this.source.head();
      const asks: Promise<Result<EventPage, EventSourceError>>[] = [];
      for (let k = 0; k < IN_FLIGHT && start + k * PAGE < head; k++) {
        asks.push(this.source.page(start + k * PAGE, Math.min(head, start + (k + 1) * PAGE)));
      }
      const pages = await Promise.all(asks);
      if (this.closed) return false;
      // Every page from the server goes to the cache, also those not appended now (fetched
      // ahead of a page cut short): asked again, they may come from memory instead.
      for (const r of pages) if (r.ok && r.value.origin === 'server') this.toCache(r.value.events, r.value.checkpoints);
      let progressed = false;
      for (const r of pages) {
        if (!r.ok) {
          if (progressed) break; // load what came, ask again from there
          this.problem =
            r.error.code === 'offline'
              ? `The rest of the history (after version ${this.idx.head}) is not on this device; it loads when you are back online.`
              : `The history could not be loaded: ${r.error.message}`;
          return false;
        }
        const evs = r.value.events;
        if (evs.length === 0 || evs[0].seq > this.idx.head + 1) break;
        try {
          this.take(evs);
        } catch (e) {
          this.problem = `The history did not fit together: ${(e as Error).message}`;
          return false;
        }
        progressed = true;
      }
      if (!progressed) return true; // asked again by the caller's next round
      this.problem = null;
      this.changed();
    }
    return !this.closed;
  }

  /**
   * Step 3: stretches of STRETCH events below the base, IN_FLIGHT asked at once and kept so (a
   * new one is asked as soon as the highest arrives), each prepended as soon as a checkpoint
   * below it is known. False on a problem (the stretches still in flight are dropped).
   */
  private async backward(): Promise<boolean> {
    const asks: { hi: number; got: Promise<Result<Stretch, EventSourceError>> }[] = [];
    let next = this.stashFrom;
    while (!this.closed && this.idx.base > 0) {
      // Live events that came with a gap are fetched between stretches, not after the whole history.
      if (this.idx.head < this.source.head() && !(await this.forward())) return false;
      while (asks.length < IN_FLIGHT && next > 0) {
        const lo = Math.max(0, next - STRETCH);
        asks.push({ hi: next, got: this.stretch(lo, next) });
        next = lo;
      }
      const ask = asks.shift();
      if (ask === undefined) return true; // nothing below the stash: cannot happen (a stash down to 0 is prepended)
      const r = await ask.got;
      if (this.closed) return false;
      if (!r.ok) {
        this.problem =
          r.error.code === 'offline'
            ? `The history before version ${this.stashFrom} is not on this device; it loads when you are back online.`
            : `The history could not be loaded: ${r.error.message}`;
        return false;
      }
      const evs = r.value.events;
      if (ask.hi !== this.stashFrom || evs.length === 0 || evs[evs.length - 1].seq !== this.stashFrom || evs[0].seq !== this.stashFrom - evs.length + 1) {
        this.problem = `The history before version ${this.stashFrom} could not be loaded (the pages did not join up).`;
        return false;
      }
      this.stash = evs.concat(this.stash);
      this.stashFrom -= evs.length;
      for (const c of r.value.checkpoints) this.stashCps.set(c.seq, c);
      const before = this.idx.base;
      if (!this.prependStash()) return false;
      if (this.idx.base !== before || this.problem !== null) {
        this.problem = null;
        this.changed();
      }
    }
    return !this.closed;
  }

  /** Events and checkpoints `lo < seq ≤ hi`: checkpoints from the cache, else the server (events with them); else events from anywhere. */
  private async stretch(lo: number, hi: number): Promise<Result<Stretch, EventSourceError>> {
    let cps: readonly Checkpoint[] = [];
    if (this.checkpoints !== null) {
      const r = await this.checkpoints.inRange(lo, hi);
      if (r.ok) cps = r.value;
    }
    if (cps.length === 0 && lo > 0) {
      const r = await this.pages(lo, hi, true);
      if (r.ok) return r;
      // Offline: the events may still be kept here; the checkpoint can come from a stretch further down.
    }
    const r = await this.pages(lo, hi, false);
    return r.ok ? { ok: true, value: { events: r.value.events, checkpoints: cps.concat(r.value.checkpoints) } } : r;
  }

  /** Every event `lo < seq ≤ hi`, page by page, from the server only or from the source; server pages are cached. */
  private async pages(lo: number, hi: number, serverOnly: boolean): Promise<Result<Stretch, EventSourceError>> {
    const events: DocEvent[] = [];
    const checkpoints: Checkpoint[] = [];
    let at = lo;
    while (at < hi) {
      const r = serverOnly ? await this.source.serverPage(at, hi) : await this.source.page(at, hi);
      if (!r.ok) return r;
      if (r.value.origin === 'server') this.toCache(r.value.events, r.value.checkpoints);
      if (r.value.events.length === 0) break;
      for (const e of r.value.events) events.push(e);
      for (const c of r.value.checkpoints) checkpoints.push(c);
      at = r.value.events[r.value.events.length - 1].seq;
    }
    return { ok: true, value: { events, checkpoints } };
  }

  /** Prepends the stash from the lowest checkpoint in it (or from 0 when it reaches down to 0). False on a problem. */
  private prependStash(): boolean {
    const base = this.idx.base;
    let from = -1;
    if (this.stashFrom === 0) from = 0;
    else for (const s of this.stashCps.keys()) if (s >= this.stashFrom && s < base && (from < 0 || s < from)) from = s;
    if (from < 0) return true; // no checkpoint yet: fetch further down
    const cut = from - this.stashFrom;
    const segment = this.stash.slice(cut);
    const rope = from === 0 ? Rope.empty() : ropeFromCheckpoint(this.stashCps.get(from)!);
    try {
      this.idx.prepend(segment, { seq: from, rope });
    } catch (e) {
      this.problem = `The history did not fit together: ${(e as Error).message}`;
      return false;
    }
    this.stash = this.stash.slice(0, cut);
    for (const s of [...this.stashCps.keys()]) if (s >= from) this.stashCps.delete(s);
    this.older(segment);
    return true;
  }

  /**
   * A server page for the cache. Held until the load is done, then handed over: writing the
   * cache re-encodes the events into its blocks (history-cache.ts), a few hundred ms of the
   * page's thread for a long history, and while the walk runs that time delayed the next
   * pages' decoding and prepending (bench/results/late-joiner-2-2026-12-05.md). The walk never
   * reads back what it cached (it keeps what it fetched), so nothing waits for the write.
   */
  private toCache(events: readonly DocEvent[], checkpoints: readonly Checkpoint[]): void {
    this.unsaved.push({ events, checkpoints });
  }

  private saveCached(): void {
    const pages = this.unsaved;
    this.unsaved = [];
    for (const p of pages) this.fromServer(p.events, p.checkpoints);
  }

  /** Sessions and labels of an older stretch, merged below the newer ones. */
  private older(segment: readonly DocEvent[]): void {
    const sessions: Session[] = [];
    const open = new Map<string, number>();
    const labels: NamedVersion[] = [];
    for (const e of segment) {
      addToFresh(sessions, open, e);
      const label = labelOf(e);
      if (label !== null) labels.push(label);
    }
    const firstNewer = new Map<string, number>();
    this.sessions.forEach((s, i) => {
      if (!firstNewer.has(s.author)) firstNewer.set(s.author, i);
    });
    const joined = new Set<number>();
    for (const [author, j] of open) {
      const i = firstNewer.get(author);
      if (i === undefined) continue;
      const s = sessions[j];
      const n = this.sessions[i];
      if (n.start - s.end <= SESSION_GAP_MS) {
        sessions[j] = { ...s, to: n.to, end: n.end };
        joined.add(i);
      }
    }
    this.sessions = sessions.concat(this.sessions.filter((_, i) => !joined.has(i)));
    this.open.clear();
    this.sessions.forEach((s, i) => this.open.set(s.author, i));
    this.labels = labels.concat(this.labels);
  }

  private note(e: DocEvent): void {
    addTo(this.sessions, this.open, e);
    const label = labelOf(e);
    if (label !== null) this.labels.push(label);
  }

  private compute(): HistorySnapshot {
    return {
      loaded: this.idx.head,
      base: this.idx.base,
      head: Math.max(this.source.head(), this.idx.head),
      ready: this.ready,
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

/**
 * `addTo` for sessions no snapshot has seen yet (an older stretch's, built in `older`): the
 * open session is extended in place instead of copied, one object a session rather than one
 * an event (a stretch is tens of thousands of events, and the copies were garbage).
 */
function addToFresh(sessions: Session[], open: Map<string, number>, e: DocEvent): void {
  const at = open.get(e.author);
  const s = at === undefined ? undefined : (sessions[at] as { -readonly [K in keyof Session]: Session[K] });
  if (s !== undefined && e.time - s.end <= SESSION_GAP_MS) {
    s.to = e.seq;
    s.end = e.time;
  } else {
    open.set(e.author, sessions.length);
    sessions.push({ author: e.author, from: e.seq, to: e.seq, start: e.time, end: e.time });
  }
}

/** Adds e (the next event in seq order) to the sessions: it joins its author's open session or starts one. */
function addTo(sessions: Session[], open: Map<string, number>, e: DocEvent): void {
  const at = open.get(e.author);
  const s = at === undefined ? undefined : sessions[at];
  if (s !== undefined && e.time - s.end <= SESSION_GAP_MS) {
    sessions[at!] = { ...s, to: e.seq, end: e.time };
  } else {
    open.set(e.author, sessions.length);
    sessions.push({ author: e.author, from: e.seq, to: e.seq, start: e.time, end: e.time });
  }
}
