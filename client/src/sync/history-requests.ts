/**
 * Awaited `history` requests on one page's connection, matched to their `history-page`
 * answers by reqId (docs/protocol.md): a page of the log for others on the page (the
 * event source, the history panel, the e2e test hook), as a promise that always settles
 * with a value: the page, `timeout` after `timeoutMs`, or `offline` when the connection
 * is lost first (`failAll`). The session's own catch-up requests share the numbering (the
 * reqIds come from the session), so an answer can never be taken for another's.
 */
import {
  protocolLimits,
  type ClientMessage,
  type CodedError,
  type HistoryPageMessage,
  type Result,
} from '../../../shared/src/index.js';

interface Waiter {
  readonly resolve: (r: Result<HistoryPageMessage, CodedError>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class HistoryRequests {
  private readonly send: (msg: ClientMessage) => void;
  private readonly newReqId: () => number;
  /** Awaited requests, by reqId. */
  private readonly waiters = new Map<number, Waiter>();

  /** `send`: the current connection's (a message is not sent without an open socket); `newReqId`: the session's numbering. */
  constructor(send: (msg: ClientMessage) => void, newReqId: () => number) {
    this.send = send;
    this.newReqId = newReqId;
  }

  /**
   * One page of the server's log, `from < seq ≤ to`, at most `limit` events (clamped to
   * the protocol's bounds). The caller checks the connection first.
   */
  request(from: number, to: number, limit: number, timeoutMs: number): Promise<Result<HistoryPageMessage, CodedError>> {
    const reqId = this.newReqId();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(reqId);
        resolve({ ok: false, error: { code: 'timeout', message: `no history from the server within ${Math.round(timeoutMs / 1000)} s` } });
      }, timeoutMs);
      this.waiters.set(reqId, { resolve, timer });
      this.send({ type: 'history', reqId, from, to, limit: Math.max(1, Math.min(limit, protocolLimits.maxHistoryLimit)) });
    });
  }

  /** Settles the awaited request `msg` answers; false when none waits for it (one timed out). */
  answer(msg: HistoryPageMessage): boolean {
    const w = this.waiters.get(msg.reqId);
    if (w === undefined) return false;
    clearTimeout(w.timer);
    this.waiters.delete(msg.reqId);
    w.resolve({ ok: true, value: msg });
    return true;
  }

  /** The connection is gone: every awaited request settles as `offline` (no answer can come on a new one). */
  failAll(message: string): void {
    for (const [id, w] of this.waiters) {
      clearTimeout(w.timer);
      this.waiters.delete(id);
      w.resolve({ ok: false, error: { code: 'offline', message } });
    }
  }
}
