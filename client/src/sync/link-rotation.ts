/**
 * Replacing the open document's links (issue 16, spec A12): `rotate-links` with a new edit
 * token drawn here, awaited until the server's `links-rotated` (matched by reqId), as a
 * promise that always settles with a value: done, `timeout`, or `offline` when the
 * connection goes first (then whether the server replaced them is unknown: the held link
 * still opens the document if not, and the page says to try again).
 */
import type { ClientMessage, CodedError, LinksRotatedMessage, Result } from '../../../shared/src/index.js';

interface Waiter {
  readonly resolve: (r: Result<null, CodedError>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class LinkRotation {
  private readonly waiters = new Map<number, Waiter>();

  constructor(
    private readonly send: (msg: ClientMessage) => void,
    private readonly newReqId: () => number,
  ) {}

  /** Asks the server to make `token` the edit token. The caller checks the connection first. */
  request(token: string, timeoutMs: number): Promise<Result<null, CodedError>> {
    const reqId = this.newReqId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(reqId);
        resolve({ ok: false, error: { code: 'timeout', message: `the server did not confirm the new links within ${Math.round(timeoutMs / 1000)} s` } });
      }, timeoutMs);
      this.waiters.set(reqId, { resolve, timer });
      this.send({ type: 'rotate-links', reqId, token });
    });
  }

  answer(msg: LinksRotatedMessage): void {
    const w = this.waiters.get(msg.reqId);
    if (w === undefined) return;
    clearTimeout(w.timer);
    this.waiters.delete(msg.reqId);
    w.resolve({ ok: true, value: null });
  }

  failAll(message: string): void {
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(id);
      w.resolve({ ok: false, error: { code: 'offline', message } });
    }
  }
}
