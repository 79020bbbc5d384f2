/**
 * Rate limits and budgets of the server, in one place: what bounds the work one
 * connection or one remote address can cause (docs/security.md has the figures).
 *
 *   - `TokenBucket` / `Bucket`: the building block (per connection: events, frames);
 *   - `AddressBuckets`: one bucket per remote address, forgotten when full (connections
 *     and new documents a minute, frames a second, the read budget of history events);
 *   - `TurnBudget`: frame-handling time per turn of the event loop, shared fairly;
 *   - `clientAddress` / `parseTrustedProxies`: which address a request is charged to behind
 *     trusted proxies (X-Forwarded-For, TRUSTED_PROXIES).
 */
export { TokenBucket, type Bucket } from './token-bucket.js';
export { AddressBuckets } from './address-buckets.js';
export { TurnBudget, type TurnBudgetOptions, type Waiting } from './turn-budget.js';
export { clientAddress, parseTrustedProxies, type TrustedProxies } from './trusted-proxies.js';
