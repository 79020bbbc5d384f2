/**
 * Expected failures are values, bugs throw. Every function of the core that can be
 * handed bad input from outside (a peer, a file, a store) returns a `Result`, so the
 * caller must decide what the user sees; nothing is half-done when `ok` is false.
 */

/** A failure with a stable machine-readable `code` and a sentence for people. */
export interface CodedError<C extends string = string> {
  readonly code: C;
  readonly message: string;
}

export type Result<T, E extends CodedError = CodedError> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

export function err<C extends string>(code: C, message: string): { ok: false; error: CodedError<C> } {
  return { ok: false, error: { code, message } };
}

/** Unwrap where failure would be a bug (tests, trusted data): throws with the coded message. */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new Error(`${r.error.code}: ${r.error.message}`);
}
