/**
 * The client session's public surface: a client's whole sync session as a pure state
 * machine (client-session.ts explains it; effects.ts and resync.ts each hold one part).
 */
export { ClientSession, DEFAULT_BACKOFF, type ClientSessionOptions } from './client-session.js';
export type { SessionEffect } from './effects.js';
export { FATAL_ERROR_CODES, isFatalError, backoffDelay, MAX_BACKOFF_ATTEMPT, type Backoff } from './resync.js';
