/**
 * Fair turns for frame handling: how the server stays quick for honest clients while
 * others flood it (issue 7, S1).
 *
 * `ws` hands a connection's frames over synchronously, as many as one read from the
 * socket holds: a flooding client's 64 KiB read is hundreds of frames, each parsed,
 * validated and answered before the event loop can read anyone else's socket. The rate
 * limits bound how much work a client may cause a second, not how it is bunched, and
 * bunched work is what an honest client's latency sees: its frame waits behind the whole
 * burst. Measured under the attack test, that was the p99.
 *
 * So frame handling spends from a budget per turn of the event loop (`sliceMs`, shared
 * by all connections). Once it is spent, a connection's further frames in this turn are
 * queued (transport.ts), its socket paused, and it waits here in a round-robin line (its
 * first frame of a turn is always handled at once: that is how a quiet client's single
 * frame gets through a flood without waiting); at the next turn (after the
 * loop has polled for I/O, so fresh frames from quiet clients get in first) the line is
 * served in order, each connection handling at most `quantum` frames before going to
 * the back, until the budget is spent again. A flood thus costs others at most about a
 * slice per turn, never a whole burst, and nobody starves: a connection in the line is
 * served within a bounded number of turns.
 *
 * Time is passed in (`now`) and the turn boundary is `setImmediate`, so the line can be
 * driven in tests.
 */

/** Something with frames waiting: `serve(n)` handles up to n of them and says whether any are left. */
export interface Waiting {
  serve(max: number): boolean;
}

export interface TurnBudgetOptions {
  /** Frame-handling time allowed per turn of the event loop before others go first (ms). */
  readonly sliceMs: number;
  /** Frames a waiting connection handles before going to the back of the line. */
  readonly quantum: number;
  readonly now?: () => number;
  /** The turn boundary (default setImmediate). */
  readonly defer?: (f: () => void) => void;
}

export class TurnBudget {
  private spent = 0;
  private turns = 1;
  private readonly line: Waiting[] = [];
  private readonly inLine = new Set<Waiting>();
  private scheduled = false;
  private readonly now: () => number;
  private readonly defer: (f: () => void) => void;

  constructor(private readonly opts: TurnBudgetOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.defer = opts.defer ?? ((f) => setImmediate(f));
  }

  /** Counts turns: a connection remembers in which turn it last handled a frame. */
  get turnNo(): number {
    return this.turns;
  }

  /**
   * Whether a connection with nothing queued may handle a frame now, given the turn in
   * which it last did. Its first frame of a turn always may, however spent the budget:
   * a quiet client (one frame now and then) then never waits behind a flood, which is the
   * point. Its further frames in the same turn only while budget is left; and a flooder's
   * socket is paused while it waits in line, so this cannot be used to skip the line.
   */
  mayHandle(lastTurn: number): boolean {
    return lastTurn !== this.turns || this.spent < this.opts.sliceMs;
  }

  /** Runs `f` (handling one frame), charging its time to this turn. */
  charge<T>(f: () => T): T {
    const t0 = this.now();
    try {
      return f();
    } finally {
      this.spent += this.now() - t0;
      this.schedule();
    }
  }

  /** Puts `w` at the back of the line (once); it is served at a later turn. */
  wait(w: Waiting): void {
    if (this.inLine.has(w)) return;
    this.inLine.add(w);
    this.line.push(w);
    this.schedule();
  }

  /** Takes `w` out of the line (its connection closed). */
  leave(w: Waiting): void {
    if (!this.inLine.delete(w)) return;
    const i = this.line.indexOf(w);
    if (i >= 0) this.line.splice(i, 1);
  }

  /** Connections waiting (for tests and diagnostics). */
  get waiting(): number {
    return this.line.length;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(() => this.turn());
  }

  /** A new turn: the budget is fresh, and the line is served in order until it is spent. */
  private turn(): void {
    this.scheduled = false;
    this.spent = 0;
    this.turns++;
    // Serve only those in line when the turn began: one that goes to the back waits for
    // the next turn, so a single flooder cannot take a turn's whole budget twice.
    let n = this.line.length;
    while (n-- > 0 && this.spent < this.opts.sliceMs) {
      const w = this.line.shift()!;
      const t0 = this.now();
      let more: boolean;
      try {
        more = w.serve(this.opts.quantum);
      } finally {
        this.spent += this.now() - t0;
      }
      if (more && this.inLine.has(w)) this.line.push(w);
      else this.inLine.delete(w);
    }
    if (this.line.length > 0) this.schedule();
  }
}
