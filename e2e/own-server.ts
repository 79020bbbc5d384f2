import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is in e2e/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  // A port of the caller's choosing (a shared machine gives each person a range).
  if (process.env.E2E_OWN_PORT) return Number(process.env.E2E_OWN_PORT);
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDataDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A server of this test's own (not the config's webServer): `node --import tsx server/src/main.ts`
 * on `port` with `dataDir`, serving the already built dist/client. Resolves once /healthz answers.
 */
export class OwnServer {
  private proc: ChildProcess | null = null;
  private output = '';

  constructor(
    readonly port: number,
    readonly dataDir: string,
    /** Extra environment (DATABASE_URL for a node of a cluster). */
    readonly env: Record<string, string> = {},
  ) {}

  get url(): string {
    return `http://localhost:${this.port}`;
  }

  /** What the server printed so far (for failure messages). */
  get log(): string {
    return this.output;
  }

  async start(timeoutMs = 20_000): Promise<void> {
    if (this.proc) throw new Error('already running');
    const proc = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, PORT: String(this.port), DATA_DIR: this.dataDir, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    let exited: string | null = null;
    proc.once('exit', (code, signal) => {
      exited = `exited with ${code ?? signal}`;
      if (this.proc === proc) this.proc = null;
    });
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (exited) throw new Error(`server ${exited} before it was healthy:\n${this.output}`);
      try {
        const res = await fetch(`${this.url}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > end) throw new Error(`server not healthy after ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends `signal` and waits until the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.proc = null;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await gone;
  }
}

/** Runs `npx tsx server/src/import.ts --doc ID FILE --data DIR` (before the server opens the store); returns its JSON line. */
export async function importTraceFile(docId: string, file: string, dataDir: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'server/src/import.ts', '--doc', docId, file, '--data', dataDir], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let errOut = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (errOut += c.toString()));
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) reject(new Error(`import exited with ${code}: ${errOut}`));
      else resolve(JSON.parse(out.trim()) as Record<string, unknown>);
    });
  });
}

/** automerge-paper's trace (~260k events, ~105k characters): the large document of the e2e tests. */
export const PAPER_TRACE = path.resolve(repoRoot, 'fixtures', 'traces', 'sequential', 'automerge-paper.json.gz');

/** A document imported from a trace file into a fresh data directory, served by a server of the test's own. */
export interface ImportedDocument {
  readonly server: OwnServer;
  readonly dataDir: string;
  /** The import's JSON line (events, length, ms, edit link, …). */
  readonly imported: Record<string, unknown>;
  /** The document's edit link on this server. */
  readonly editUrl: string;
}

/**
 * Imports `trace` as document `docId` into a fresh data directory (named after `prefix`), then
 * starts a server of its own on it (E2E_OWN_PORT, else a free port). Stop it with `stopImported`.
 */
export async function startImported(docId: string, trace: string, prefix: string): Promise<ImportedDocument> {
  const dataDir = tempDataDir(prefix);
  let server: OwnServer | null = null;
  try {
    const imported = await importTraceFile(docId, trace, dataDir);
    server = new OwnServer(await freePort(), dataDir);
    await server.start();
    const link = new URL(String(imported.edit));
    return { server, dataDir, imported, editUrl: `${server.url}${link.pathname}${link.hash}` };
  } catch (e) {
    // A server that did not become healthy in time may still be running.
    await server?.stop('SIGKILL');
    removeDir(dataDir);
    throw e;
  }
}

/** Stops the server and removes the data directory (either may be missing after a failed start). */
export async function stopImported(d: ImportedDocument | undefined): Promise<void> {
  if (d === undefined) return;
  await d.server.stop('SIGTERM');
  removeDir(d.dataDir);
}
