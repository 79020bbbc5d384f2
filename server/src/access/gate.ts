/**
 * The access decision for a hello: which role (edit, view) the presented token gives on
 * `docId`, or a refusal. It is the only place that reads access records, so the rules are
 * in one spot:
 *
 *   - a known document: the token's SHA-256 must equal the stored edit hash (edit) or view
 *     hash (view); anything else, including no token, is `access-denied`;
 *   - an unknown document: only a hello with `create` and a well-formed token registers it,
 *     with that token as its edit token, and only while its log is empty (a log without a
 *     record, from before access control, is never given to whoever asks first); creations
 *     are counted per address (`too-many-documents`);
 *   - every refusal says the same thing whether or not the document exists, so a hello
 *     cannot probe for document ids.
 */
import { timingSafeEqual } from 'node:crypto';
import { err, ok, tokenHash, viewTokenOf, isWellFormedToken, type CodedError, type Result, type Role } from '../../../shared/src/index.js';
import type { AccessStore } from './access-store.js';
import { AddressBuckets } from '../limits/address-buckets.js';
import type { Bucket } from '../limits/token-bucket.js';

export type AccessErrorCode = 'access-denied' | 'too-many-documents';

export interface GateRequest {
  readonly docId: string;
  readonly token: string | undefined;
  readonly create: boolean;
  /** The remote address, for the creation limit. */
  readonly address: string;
}

const DENIED = 'this link does not give access to this document (a missing, mistyped or foreign token)';

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export class AccessGate {
  private readonly creates: AddressBuckets;

  constructor(
    private readonly access: AccessStore,
    /** The committed head of a document's log (0: empty or unknown). */
    private readonly head: (docId: string) => number | Promise<number>,
    creates: Bucket,
    private readonly now: () => number = Date.now,
  ) {
    this.creates = new AddressBuckets(creates);
  }

  /**
   * New links for a registered document: `token` becomes its edit token and `viewTokenOf(token)`
   * its view token; the old ones give nothing from the next hello on. The caller has checked
   * that the asking connection joined with the edit role. Rejects only if a store does.
   */
  async rotate(docId: string, token: string): Promise<Result<null, CodedError<'access-denied'>>> {
    if (!isWellFormedToken(token)) return err('access-denied', 'a new token must be 22-128 of A-Z a-z 0-9 _ -');
    if (!(await this.access.replace(docId, tokenHash(token), tokenHash(viewTokenOf(token))))) return err('access-denied', DENIED);
    return ok(null);
  }

  /**
   * What each token hash gives on `docId` now (one read of the access record), for the
   * connections opened before another node replaced the links (R28). Rejects only if a store does.
   */
  async roleOfHash(docId: string): Promise<(hash: string | null) => Role | null> {
    const record = await this.access.get(docId);
    return (hash) => {
      if (record === null || hash === null) return null;
      if (sameHash(hash, record.editHash)) return 'edit';
      if (sameHash(hash, record.viewHash)) return 'view';
      return null;
    };
  }

  /** The role `req.token` gives on `req.docId`. Rejects only if a store does. */
  async authorize(req: GateRequest): Promise<Result<Role, CodedError<AccessErrorCode>>> {
    const { docId, token } = req;
    if (token === undefined || !isWellFormedToken(token)) return err('access-denied', DENIED);
    const hash = tokenHash(token);
    const record = await this.access.get(docId);
    if (record !== null) {
      if (sameHash(hash, record.editHash)) return ok('edit');
      if (sameHash(hash, record.viewHash)) return ok('view');
      return err('access-denied', DENIED);
    }
    if (!req.create || (await this.head(docId)) !== 0) return err('access-denied', DENIED);
    if (!this.creates.take(req.address)) {
      return err('too-many-documents', 'too many new documents from this address; try again in a minute');
    }
    const registered = await this.access.register({ docId, editHash: hash, viewHash: tokenHash(viewTokenOf(token)), createdAt: this.now() });
    if (registered) return ok('edit');
    // Registered by someone else in between (another process sharing the file): their record rules.
    return this.authorize({ ...req, create: false });
  }
}
