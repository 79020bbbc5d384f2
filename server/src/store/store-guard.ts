/**
 * The one place where a store's throw becomes a value. The log store's writes report
 * I/O failures as results, but its reads cannot (a broken file, a corrupt row, a dead
 * database: they reject, log-store.ts), and every path from a client message to the store goes through
 * reads: the access check, loading a room, a welcome, the sequencer reaching back past
 * its memory, a history page. Instead of a try/catch at each of those calls, the
 * connection runs a whole store-touching message through `guardStore`, and the commit
 * queue its write; a failure is then `store-failed` to the client (nothing was stored or
 * changed, it may retry) and a log line with the stack for the operator.
 *
 * This is for the store's failures; it also catches a bug on those paths, which is then
 * reported the same way (the client still gets a clear, retryable answer; the log line
 * says what threw).
 */
import { err, type Result } from '../../../shared/src/index.js';
import type { Logger } from '../options.js';

/**
 * Runs `f`; a throw (or a rejection) is logged (`what` failed, with the stack) and returned as
 * `store-failed`. A result `f` returns is passed through, so a write's own failure and a
 * throw come out as one kind of value.
 */
export async function guardStore<T>(log: Logger, what: string, f: () => Result<T> | Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await f();
  } catch (e) {
    log.error(`${what} failed: ${(e as Error).stack ?? String(e)}`);
    return err('store-failed', `${what} failed: ${(e as Error).message}`);
  }
}

