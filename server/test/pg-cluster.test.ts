import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgCluster, freshDatabase } from './helpers/pg-cluster.js';

async function query(url: string, sql: string): Promise<unknown[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('throwaway PostgreSQL', () => {
  it('gives each test a fresh, empty database and drops it', async () => {
    const a = await freshDatabase();
    const b = await freshDatabase();
    try {
      expect(a.url).not.toBe(b.url);
      await query(a.url, 'CREATE TABLE t (x int)');
      expect(await query(b.url, "SELECT 1 FROM pg_tables WHERE tablename = 't'")).toEqual([]);
    } finally {
      await a.drop();
      await b.drop();
    }
    await expect(query(a.url, 'SELECT 1')).rejects.toThrow(/does not exist/);
  });

  it('starts an own cluster that survives a restart and a kill with what was committed', async () => {
    const c = await PgCluster.start();
    try {
      expect(c.port).toBeGreaterThanOrEqual(20400);
      expect(c.port).toBeLessThanOrEqual(20499);
      await query(c.url, 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)');
      await c.restart();
      await query(c.url, 'INSERT INTO t VALUES (2)');
      await c.kill();
      await expect(query(c.url, 'SELECT 1')).rejects.toThrow();
      await c.start();
      expect(await query(c.url, 'SELECT x FROM t ORDER BY x')).toEqual([{ x: 1 }, { x: 2 }]);
    } finally {
      await c.destroy();
    }
  }, 60_000);
});
