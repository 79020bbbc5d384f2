/**
 * A throwaway PostgreSQL for tests.
 *
 * The one PostgreSQL helper of the tests. Ordinary tests (`freshDatabase`) use whatever
 * PostgreSQL runs already: `DATABASE_URL`, or 127.0.0.1:5432 as `postgres` (or the current
 * user), and create a new database per test, dropped after. Where none runs, they start
 * one of their own, once per test process, exactly as the fault tests do.
 *
 * Tests that stop, kill or restart the database (`PgCluster.start`) always get a cluster
 * of their own: `initdb` in a temporary folder, a free port of 20400-20499 (the range this
 * repository's tests may bind), the unix socket in the same folder, so nothing is shared
 * with the machine's PostgreSQL. As root, `initdb` and `pg_ctl` refuse to run, so they run
 * as the `postgres` user (`runuser -u postgres --`) over a folder chowned to it.
 *
 * Where no binaries are installed, `PgCluster.start` throws one line saying what to install.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** Where Debian's postgresql-15 puts the server binaries; PG_BIN overrides. */
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

const MISSING = `PostgreSQL not found: set DATABASE_URL, run one on 127.0.0.1:5432, or install the server binaries (apt-get install postgresql-15, into ${PG_BIN})`;

/** A port of 20400-20499 nobody listens on right now, starting from a random one (parallel test files). */
export async function freePortInRange(lo = 20400, hi = 20499): Promise<number> {
  const span = hi - lo + 1;
  const start = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i++) {
    const port = lo + ((start + i) % span);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in ${lo}-${hi}`);
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Pids whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function run(cmd: string, args: string[], asPostgres: boolean): Promise<string> {
  const [file, argv] = asPostgres ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve(stdout + stderr);
    });
  });
}

/** Whether `url` answers a query within a second or two. */
export async function reachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  c.on('error', () => {});
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * A PostgreSQL cluster of the test's own, in a temporary folder. `url` stays valid across
 * `stop`/`start`/`restart`/`kill` (same port, same folder).
 */
export class PgCluster {
  private constructor(
    readonly dir: string,
    private portNumber: number,
    private readonly asPostgres: boolean,
  ) {}

  /** The TCP port on 127.0.0.1 (fixed once started). */
  get port(): number {
    return this.portNumber;
  }

  /** A superuser URL over TCP on 127.0.0.1. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** Whether the binaries are here (the fault tests need them). */
  static available(): boolean {
    return existsSync(path.join(PG_BIN, 'initdb')) && existsSync(path.join(PG_BIN, 'pg_ctl'));
  }

  /** initdb + start. Throws one line if PostgreSQL is not installed. */
  static async start(opts: { port?: number } = {}): Promise<PgCluster> {
    if (!PgCluster.available()) throw new Error(MISSING);
    const asPostgres = process.getuid?.() === 0;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'eventide-pg-'));
    if (asPostgres) {
      const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      if (ids.status !== 0) throw new Error('running as root, but there is no postgres user to run PostgreSQL as');
      await chown(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
      await chmod(dir, 0o700);
    }
    const cluster = new PgCluster(dir, opts.port ?? (await freePortInRange()), asPostgres);
    await run(path.join(PG_BIN, 'initdb'), ['-D', cluster.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-locale'], asPostgres);
    // Another test file may take the port between our check and PostgreSQL's bind: then
    // try another one (only when no port was asked for).
    for (let attempt = 0; ; attempt++) {
      try {
        await cluster.startServer();
        return cluster;
      } catch (e) {
        const taken = /could not bind|already in use/i.test((e as Error).message);
        if (!taken || opts.port !== undefined || attempt >= 4) throw e;
        cluster.portNumber = await freePortInRange();
      }
    }
  }

  private async startServer(): Promise<void> {
    // synchronous_commit stays on (the default): the durability promise needs it (docs/scale.md).
    const opts = [`-p ${this.port}`, `-k ${this.dir}`, `-c listen_addresses=127.0.0.1`, `-c max_connections=200`, `-c shared_buffers=32MB`].join(' ');
    try {
      await run(path.join(PG_BIN, 'pg_ctl'), ['-D', this.dataDir, '-l', path.join(this.dir, 'log'), '-o', opts, '-w', '-t', '60', 'start'], this.asPostgres);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n--- server log ---\n${this.log().slice(-2000)}`);
    }
  }

  /** Starts it again after `stop` or `kill`. */
  async start(): Promise<void> {
    await this.startServer();
  }

  /** A clean stop (mode fast: open sessions are cut, nothing committed is lost). */
  async stop(): Promise<void> {
    await run(path.join(PG_BIN, 'pg_ctl'), ['-D', this.dataDir, '-m', 'fast', '-w', 'stop'], this.asPostgres);
  }

  /** Stop, then start: every session is cut, the port comes back. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** SIGKILL to the postmaster (a crash: recovery replays the WAL at the next start). */
  async kill(): Promise<void> {
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    // Its children notice the postmaster is gone and exit; a start before they have would
    // find the old shared memory still attached and refuse.
    const children = childrenOf(pid);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    for (let i = 0; i < 200 && [pid, ...children].some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  }

  /** An immediate stop, synchronous (for process exit hooks). */
  stopNow(): void {
    const ctl = [path.join(PG_BIN, 'pg_ctl'), '-D', this.dataDir, '-m', 'immediate', 'stop'];
    if (this.asPostgres) spawnSync('runuser', ['-u', 'postgres', '--', ...ctl]);
    else spawnSync(ctl[0], ctl.slice(1));
  }

  /** What the server logged (failure messages). */
  log(): string {
    try {
      return readFileSync(path.join(this.dir, 'log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** Stops it (if running) and removes the folder. */
  async destroy(): Promise<void> {
    await this.kill().catch(() => {});
    await run(path.join(PG_BIN, 'pg_ctl'), ['-D', this.dataDir, '-m', 'immediate', 'stop'], this.asPostgres).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}

let shared: Promise<string> | null = null;

/** A superuser URL of a running PostgreSQL: DATABASE_URL, 127.0.0.1:5432, or one started for this process. */
export function sharedServerUrl(): Promise<string> {
  shared ??= (async () => {
    const candidates = [process.env.DATABASE_URL, 'postgres://postgres@127.0.0.1:5432/postgres', `postgres://${os.userInfo().username}@127.0.0.1:5432/postgres`];
    for (const url of candidates) if (url && (await reachable(url))) return url;
    const own = await PgCluster.start();
    process.once('exit', () => own.stopNow());
    return own.url;
  })();
  return shared;
}

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/** A database of one test, on the shared server (`freshDatabase`). */
export interface TestDatabase {
  /** postgres://… of the fresh, empty database. */
  readonly url: string;
  readonly name: string;
  /** Drops it (ending any connection still open to it). */
  drop(): Promise<void>;
}

/** A new, empty database for one test; `drop` removes it (and cuts its sessions). */
export async function freshDatabase(prefix = 'eventide_test'): Promise<TestDatabase> {
  const server = await sharedServerUrl();
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(server, name),
    name,
    drop: async () => {
      const a = new pg.Client({ connectionString: server });
      await a.connect();
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** `url` with another database name (a cluster's own database for a test). */
export { withDatabase };
