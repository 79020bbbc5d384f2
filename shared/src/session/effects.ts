/**
 * What a client session asks its shell to do. The session (client-session.ts) is a pure
 * state machine: it never touches a socket, a timer or a store. Every input returns a
 * list of these values, in the order the shell must carry them out.
 */
import type { ClientMessage, ServerMessage } from '../protocol/messages.js';
import type { Role } from '../access/capability.js';
import type { DocEvent } from '../log/event.js';
import type { LiveChange } from '../sync/client-state.js';
import type { ClientState } from '../sync/client-state.js';

/**
 * One thing for the shell to do. Promises of the list as a whole: `send`s are in wire
 * order; `confirmed` events follow each other in seq order (a `reset` one starts again
 * from a checkpoint); `live` changes apply, in order, to the text the editor showed
 * after the previous ones; after `reconnect` or `close` nothing more belongs to the
 * connection (the session ignores what it still delivers).
 */
export type SessionEffect =
  /** Put this message on the current connection (dropped by the shell if it is not open). */
  | { readonly type: 'send'; readonly message: ClientMessage }
  /** Drop the current connection now and open a new one after `afterMs` (the backoff). */
  | { readonly type: 'reconnect'; readonly afterMs: number }
  /** Drop the current connection for good: the server refused this copy (see `problem`). */
  | { readonly type: 'close' }
  /**
   * The confirmed state was replaced from a server checkpoint (`state` is now the
   * session's): the shell's store writes it whole. Only ever happens to a state that
   * had nothing (seq 0, empty outbox), so no local history is cut. `seq`: the
   * checkpoint's, after which the `confirmed` events start again.
   */
  | { readonly type: 'reset'; readonly state: ClientState; readonly seq: number }
  /**
   * Events now confirmed, in seq order, in the form the log holds (own acked events
   * included, with the server's time). `reset`: they follow a `reset` state, not the
   * previous confirmed events. `rebased`: others' events among them moved the outbox,
   * whose new forms the store must write too.
   */
  | { readonly type: 'confirmed'; readonly events: readonly DocEvent[]; readonly reset: boolean; readonly rebased: boolean }
  /** Changes to the live text, for the editor. */
  | { readonly type: 'live'; readonly changes: readonly LiveChange[] }
  /** Caught up on this connection: the stream is taken, submits go out, presence may follow. */
  | { readonly type: 'caught-up'; readonly role: Role }
  /**
   * Something went wrong. `source`: the server's `error` message, the stream (a gap, an
   * unexpected ack, a divergence), or an undecodable frame. `fatal`: no reconnect follows.
   */
  | { readonly type: 'problem'; readonly source: 'server' | 'stream' | 'decode'; readonly code: string; readonly message: string; readonly fatal: boolean }
  /** A message that is not part of the stream (presence, pong, a history page someone else asked for). */
  | { readonly type: 'other'; readonly message: ServerMessage };
