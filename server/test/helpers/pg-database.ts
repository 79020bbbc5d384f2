/**
 * Throwaway PostgreSQL databases for tests: each test gets its own, created on the server
 * at `DATABASE_URL` (or postgres://postgres@127.0.0.1:5432/postgres) and dropped after.
 * If no server answers, `freshDatabase` fails with one line saying what to install or run,
 * so a suite that needs PostgreSQL stops clearly instead of skipping.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The server the tests create their databases on. */
export const PG_ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const NO_POSTGRES =
  `no PostgreSQL answers at ${PG_ADMIN_URL.replace(/\/\/[^@]*@/, '//…@')}: install PostgreSQL (15 or newer) and start it on 127.0.0.1:5432 ` +
  `with a "postgres" role that may create databases, or set DATABASE_URL to one that does`;

export interface TestDatabase {
  /** postgres://… of the fresh, empty database. */
  readonly url: string;
  readonly name: string;
  /** Drops it (ending any connection still open to it). */
  drop(): Promise<void>;
}

async function admin<T>(f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  c.on('error', () => {});
  try {
    await c.connect();
  } catch (e) {
    throw new Error(`${NO_POSTGRES} (${(e as Error).message})`);
  }
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** A new empty database `eventide_t_<random>`. */
export async function freshDatabase(): Promise<TestDatabase> {
  const name = `eventide_t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}
