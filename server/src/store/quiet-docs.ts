/**
 * Which documents are busy, for work that should wait until a document is quiet: the SQLite
 * store's merges of small blocks (R25). A merge decodes and re-encodes up to 16,384 events in
 * one synchronous transaction (130-160 ms measured at 300 typists), which stalls every
 * connection of the process; a busy document's merges can wait, nothing reads differently
 * meanwhile, and a quiet one's cost no one a keystroke's latency.
 *
 * A document is busy while it had an append within `quietMs`. `busy` answers that and, when
 * it says yes, remembers the document and calls `onQuiet` once it has had no append for
 * `quietMs` (one timer for all, re-armed for the next to go quiet). `quietMs` 0: nothing is
 * ever busy.
 */
export class QuietDocs {
  /** Each document's last append, ms on the caller's clock (performance.now()). */
  private readonly appendedAt = new Map<string, number>();
  /** Documents told busy, waiting to hear they are quiet. */
  private readonly waiting = new Set<string>();
  /** Since when each waiting document has been told busy, for `maxWaitMs`. */
  private readonly busySince = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly quietMs: number,
    private readonly onQuiet: (docId: string) => void,
    private readonly maxWaitMs = Infinity,
  ) {}

  /**
   * `docId` was appended to at `now`; `due`: it has work that may ask `busy`. Only those and
   * the documents already followed are kept, so the map holds the busy ones, not every
   * document ever appended to (an entry goes once `busy` or the timer finds it quiet).
   */
  appended(docId: string, now: number, due: boolean): void {
    if (this.quietMs > 0 && (due || this.appendedAt.has(docId))) this.appendedAt.set(docId, now);
  }

  /** Whether `docId` had an append within quietMs of `now`; if so, `onQuiet(docId)` follows once it is quiet. */
  busy(docId: string, now: number): boolean {
    if (this.quietMs === 0) return false;
    const wait = (this.appendedAt.get(docId) ?? -Infinity) + this.quietMs - now;
    if (wait <= 0) {
      this.appendedAt.delete(docId);
      this.busySince.delete(docId);
      return false;
    }
    const since = this.busySince.get(docId);
    if (since === undefined) this.busySince.set(docId, now);
    else if (now - since >= this.maxWaitMs) {
      this.busySince.set(docId, now);
      return false;
    }
    this.waiting.add(docId);
    this.arm(wait);
    return true;
  }

  /** Stops the timer; nothing more is reported. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.waiting.clear();
    this.busySince.clear();
  }

  private arm(ms: number): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.check(), Math.ceil(ms));
    this.timer.unref(); // waiting merges never keep the process alive
  }

  private check(): void {
    this.timer = null;
    const now = performance.now();
    let next = Infinity;
    for (const docId of [...this.waiting]) {
      const wait = (this.appendedAt.get(docId) ?? -Infinity) + this.quietMs - now;
      if (wait > 0) {
        next = Math.min(next, wait);
        continue;
      }
      this.waiting.delete(docId);
      this.appendedAt.delete(docId);
      this.busySince.delete(docId);
      this.onQuiet(docId);
    }
    if (next < Infinity) this.arm(next);
  }
}
