/**
 * The real server as a child process, for tests that must survive what an in-process
 * server cannot: SIGKILL at any instant, a restart on the same DATA_DIR, the process's
 * own signal handling. It runs exactly what `npm start` runs after the build
 * (`node --import tsx server/src/main.ts`), on a fixed port chosen once, so clients
 * reconnect to the same URL after a restart, as browsers would.
 *
 * `readLog` opens the SQLite file read-only (after the server has stopped) and reads
 * the events with plain SQL, so the tests check the log without going through the
 * server's own store code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export { readLog, readCheckpoints, sealedHead } from './stored-log.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A port nobody listens on right now (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function tempDataDir(prefix = 'eventide-it-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export interface ServerProcessOptions {
  /** Extra environment (limits, knobs). */
  env?: Record<string, string>;
  /** Reuse a data dir (a restart); a new temp dir otherwise. */
  dataDir?: string;
  port?: number;
}

export class ServerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  /** Everything the process printed (all runs), for failure messages. */
  output = '';
  starts = 0;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly env: Record<string, string>,
  ) {}

  static async start(opts: ServerProcessOptions = {}): Promise<ServerProcess> {
    const sp = new ServerProcess(opts.port ?? (await freePort()), opts.dataDir ?? (await tempDataDir()), opts.env ?? {});
    await sp.launch();
    return sp;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get dbFile(): string {
    return path.join(this.dataDir, 'eventide.sqlite');
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves when /healthz answers. */
  async launch(timeoutMs = 20_000): Promise<void> {
    if (this.child) throw new Error('server already running');
    // EVENTIDE_NODE_ARGS: extra node flags for the server (the cluster bench profiles with --cpu-prof).
    const nodeArgs = this.env.EVENTIDE_NODE_ARGS?.split(' ').filter((a) => a !== '') ?? [];
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/src/main.ts'], {
      cwd: repoRoot,
      // Every test client comes from 127.0.0.1, so the per-address limits (connections and
      // new documents a minute, frames and history events a second) are lifted unless a test sets them;
      // access.test.ts and attack.test.ts test them.
      env: {
        ...process.env,
        PORT: String(this.port),
        DATA_DIR: this.dataDir,
        EVENTIDE_CONNECTIONS_PER_MINUTE: '1000000',
        EVENTIDE_CREATES_PER_MINUTE: '1000000',
        EVENTIDE_RATE_ADDRESS_FRAMES: '1000000/1000000',
        EVENTIDE_RATE_ADDRESS_READS: '1000000000/1000000000',
        // SQLite in DATA_DIR unless the test asks for PostgreSQL (a DATABASE_URL set for the PG tests must not move the others).
        DATABASE_URL: '',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.starts++;
    this.child = child;
    const append = (b: Buffer) => {
      this.output += b.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let dead = false;
    void this.exited.then(() => {
      dead = true;
      if (this.child === child) this.child = null;
    });
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
      if (dead) throw new Error(`server exited during startup:\n${this.output.slice(-4000)}`);
      if (await healthy(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    child.kill('SIGKILL');
    throw new Error(`server did not become healthy in ${timeoutMs} ms:\n${this.output.slice(-4000)}`);
  }

  /** SIGKILL: no shutdown code runs. Resolves when the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  /** SIGTERM: the clean shutdown. Resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child) return null;
    child.kill('SIGTERM');
    const code = await this.exited;
    this.child = null;
    return code;
  }

  /** Kill and start again on the same port and DATA_DIR. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  async healthy(): Promise<boolean> {
    return healthy(this.port);
  }

  /** Kills the process (if running) and removes the data dir. */
  async dispose(): Promise<void> {
    await this.kill();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
