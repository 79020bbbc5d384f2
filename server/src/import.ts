/**
 * `npm run import -- --doc ID FILE [--data DIR]`: makes a sequential editing trace
 * (fixtures/traces format, `.json` or `.json.gz`) the history of document ID in the
 * server's store, `<DATA_DIR>/eventide.sqlite` (DATA_DIR from --data, else the DATA_DIR
 * environment variable, else ./data), one event per patch.
 *
 * Events: author and client `import`, clientSeq = seq, time = the patch's txn time
 * (Date.parse, 0 if missing or invalid). They go in by chunks of 10,000, each one
 * transaction that writes them straight as blocks of 1,000 with their id index
 * (`appendSealed`: no rows, no seal afterwards; the last block shorter; docs/storage.md),
 * then `settle`: the blocks compacted into blocks of up to 16,384 (R25), the checkpoints
 * written again at deflate level 9.
 * Checkpoints follow the server's policy, one every 1,000 events, of which only those the
 * store's retention rule keeps (R16: the newest two, and multiples of 150,000) are built and
 * written, during a single replay pass. Everything that can be wrong
 * with the trace (unreadable, not sequential, a patch outside the document, a result
 * other than its endContent) is found before the first write. Refuses a document that
 * already has events. A store failure part-way (full disk) leaves a valid prefix of
 * the history, and the message says up to which seq.
 *
 * Prints one JSON line: {"doc","file","events","checkpoints","length","ms","store","edit","view"}
 * (`ms`: the import itself, trace loading excluded; `edit` and `view`: the document's two
 * links, with a fresh random edit token registered in `<DATA_DIR>/access.sqlite`, on
 * `--origin` (default http://localhost:$PORT or 8080); the tokens are printed only here).
 * Exits 1 with a message on stderr on any refusal or failure.
 */
import path from 'node:path';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { LogStore } from './store/log-store.js';
import { SqliteLogStore } from './store/sqlite-log-store.js';
import { randomBytes } from 'node:crypto';
import { SqliteAccessStore, ACCESS_FILE } from './access/sqlite-access-store.js';
import { loadTrace, flattenPatches } from '../../tools/trace-file.js';
import {
  type Patch,
  type Result,
  ok,
  err,
  Rope,
  replay,
  replayInto,
  traceToEvents,
  checkpointOf,
  type CheckpointRetention,
  CHECKPOINT_RETENTION,
  checkRetention,
  keptCheckpoints,
  TOKEN_BYTES,
  tokenFromBytes,
  tokenHash,
  viewTokenOf,
  docLink,
} from '../../shared/src/index.js';

/** Events per append (one transaction each). */
export const IMPORT_CHUNK = 10_000;
/** The server's checkpoint policy: one every this many events. */
export const CHECKPOINT_EVERY = 1_000;
/** The server's store file inside DATA_DIR. */
export const STORE_FILE = 'eventide.sqlite';

export interface ImportSummary {
  events: number;
  checkpoints: number;
  /** Length of the final text, UTF-16 units. */
  length: number;
}

export interface ImportOptions {
  /** If given, the replayed history must end at exactly this text (checked before any write). */
  endContent?: string;
  chunk?: number;
  checkpointEvery?: number;
  /** The store's checkpoint retention rule (default CHECKPOINT_RETENTION): which checkpoints are worth writing. */
  checkpointRetention?: CheckpointRetention;
}

/**
 * Appends `patches` (a sequential trace, from the empty document) as `docId`'s whole
 * history, `times[i]` being patch i's time, with the checkpoints the retention rule keeps
 * of one every 1,000 events (R16), in chunks of 10,000 events, each one transaction
 * (`appendSealed` when the store has it: blocks of 1,000 straight away).
 * Refuses a document that has events (`doc-not-empty`), an empty or invalid trace
 * (`trace-invalid`), a result other than `endContent` (`trace-mismatch`); store errors
 * come back as the store's codes with the seq reached.
 */
export function importTrace(
  store: LogStore,
  docId: string,
  patches: readonly Patch[],
  times: readonly number[],
  opts: ImportOptions = {},
): Result<ImportSummary> {
  const chunk = opts.chunk ?? IMPORT_CHUNK;
  const every = opts.checkpointEvery ?? CHECKPOINT_EVERY;
  const retention = checkRetention(opts.checkpointRetention ?? CHECKPOINT_RETENTION);
  const existing = store.head(docId);
  if (existing !== 0) {
    return err('doc-not-empty', `document ${JSON.stringify(docId)} already has ${existing} events; import only makes new documents`);
  }
  if (patches.length === 0) return err('trace-invalid', 'the trace has no patches: nothing to import');

  let events;
  try {
    events = traceToEvents(patches, { author: 'import', client: 'import', times });
  } catch (e) {
    return err('trace-invalid', (e as Error).message);
  }
  if (opts.endContent !== undefined) {
    const text = replay(null, events).toString();
    if (text !== opts.endContent) {
      return err('trace-mismatch', `the patches give a text of ${text.length} units that differs from endContent (${opts.endContent.length} units)`);
    }
  }

  // The checkpoints to write: of one every `every` events, only those the store's retention
  // rule (R16) would keep once the import is done; writing the others would only have them
  // encoded and pruned again.
  const due: number[] = [];
  for (let at = every; at <= events.length; at += every) due.push(at);
  const wanted = keptCheckpoints(due, retention);

  // One replay pass, interleaved with the writes: append a chunk (straight into blocks when
  // the store can), then walk the rope through it and store the checkpoints inside it.
  const write = store.appendSealed?.bind(store) ?? store.append.bind(store);
  const rope = Rope.empty();
  let checkpoints = 0;
  let next = 0;
  for (let from = 0; from < events.length; from += chunk) {
    const to = Math.min(events.length, from + chunk);
    const appended = write(docId, from, events.slice(from, to));
    if (!appended.ok) return stopped(appended.error, docId, from, events.length);
    let at = from;
    while (next < wanted.length && wanted[next] <= to) {
      replayInto(rope, at, events.slice(at, wanted[next]));
      at = wanted[next++];
      const put = store.putCheckpoint(checkpointOf(docId, at, rope));
      if (!put.ok) return stopped(put.error, docId, to, events.length);
      checkpoints++;
    }
    replayInto(rope, at, events.slice(at, to));
  }
  // The document is finished: written as it will stay (blocks compacted, R25), so that
  // the file is at its smallest from the start rather than after the server's first idle minute.
  store.settle?.(docId);
  return ok({ events: events.length, checkpoints, length: rope.length });
}

function stopped(e: { code: string; message: string }, docId: string, head: number, total: number) {
  const state = head === 0 ? 'nothing was stored' : `the document now holds seqs 1…${head}, a valid prefix of the history`;
  return err(e.code, `import of ${JSON.stringify(docId)} stopped at seq ${head} of ${total} (${state}): ${e.message}`);
}

interface Args {
  docId: string;
  file: string;
  dataDir: string;
  /** Where the printed links point. */
  origin: string;
}

const USAGE = 'usage: npm run import -- --doc ID FILE.json[.gz] [--data DIR] [--origin URL]';

function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Args | string {
  let docId: string | undefined;
  let dataDir: string | undefined;
  let origin: string | undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--doc' || a === '--data' || a === '--origin') {
      const v = argv[++i];
      if (v === undefined || v === '' || v.startsWith('--')) return `${a} needs a value (use ${a}=VALUE for one that starts with --)`;
      if (a === '--doc') docId = v;
      else if (a === '--origin') origin = v;
      else dataDir = v;
    } else if (a.startsWith('--origin=')) origin = a.slice(9);
    else if (a.startsWith('--doc=')) docId = a.slice(6);
    else if (a.startsWith('--data=')) dataDir = a.slice(7);
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else files.push(a);
  }
  if (docId === undefined || docId === '') return 'missing --doc ID';
  if (files.length !== 1) return `expected exactly one trace file, got ${files.length}`;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(docId)) return 'the document id must be 1-128 of A-Z a-z 0-9 _ -';
  origin ??= `http://localhost:${env.PORT || 8080}`;
  if (!/^https?:\/\/[^/\s]+\/?$/.test(origin)) return `--origin must look like https://host[:port], got ${JSON.stringify(origin)}`;
  return { docId, file: files[0], dataDir: path.resolve(dataDir ?? (env.DATA_DIR || './data')), origin };
}

/** Where the command writes; tests pass their own. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const processIo: Io = {
  out: (line) => process.stdout.write(line),
  err: (line) => process.stderr.write(line),
};

/** The command: returns the exit code. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, io: Io = processIo): Promise<number> {
  const args = parseArgs(argv, env);
  if (typeof args === 'string') {
    io.err(`import: ${args}\n${USAGE}\n`);
    return 1;
  }
  let trace;
  try {
    trace = await loadTrace(args.file);
  } catch (e) {
    io.err(`import: ${(e as Error).message}\n`);
    return 1;
  }
  if (trace.kind !== 'sequential') {
    io.err(`import: ${args.file}: a ${trace.kind} trace; only sequential traces can be imported as one document's history\n`);
    return 1;
  }
  if (trace.startContent !== '') {
    io.err(`import: ${args.file}: the trace starts from non-empty content; a document's history starts from the empty document\n`);
    return 1;
  }
  const patches = flattenPatches(trace);
  const times = trace.txns.flatMap((t) => {
    const time = t.time === undefined ? NaN : Date.parse(t.time);
    return t.patches.map(() => (Number.isFinite(time) ? time : 0));
  });

  const storeFile = path.join(args.dataDir, STORE_FILE);
  let store: SqliteLogStore;
  try {
    // Chunks go straight into blocks (appendSealed); a seal would only concern rows the server wrote.
    store = SqliteLogStore.open(storeFile, { onSealError: (m) => io.err(`import: ${m}\n`) });
  } catch (e) {
    io.err(`import: cannot open the store ${storeFile}: ${(e as Error).message}\n`);
    return 1;
  }
  let access: SqliteAccessStore;
  try {
    access = SqliteAccessStore.open(path.join(args.dataDir, ACCESS_FILE));
  } catch (e) {
    store.close();
    io.err(`import: cannot open the access store in ${args.dataDir}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    // (A document with events is refused by importTrace itself, with its own message.)
    if (store.head(args.docId) === 0 && access.get(args.docId) !== null) {
      io.err(`import: document ${args.docId} already exists (it has links); import into a new id\n`);
      return 1;
    }
    const t0 = performance.now();
    const r = importTrace(store, args.docId, patches, times, { endContent: trace.endContent });
    const ms = Math.round(performance.now() - t0);
    if (!r.ok) {
      io.err(`import: ${args.file}: ${r.error.code}: ${r.error.message}\n`);
      return 1;
    }
    // The document's links: a fresh edit token, only its hash (and its view token's) stored.
    const token = tokenFromBytes(randomBytes(TOKEN_BYTES));
    const view = viewTokenOf(token);
    if (!access.register({ docId: args.docId, editHash: tokenHash(token), viewHash: tokenHash(view), createdAt: Date.now() })) {
      io.err(`import: document ${args.docId} was registered by someone else meanwhile; its history is imported, but these links would not work\n`);
      return 1;
    }
    const edit = docLink(args.origin, args.docId, 'edit', token);
    const line = { doc: args.docId, file: args.file, ...r.value, ms, store: storeFile, edit, view: docLink(args.origin, args.docId, 'view', view) };
    io.out(`${JSON.stringify(line)}\n`);
    return 0;
  } finally {
    store.close();
    access.close();
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`import: ${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
