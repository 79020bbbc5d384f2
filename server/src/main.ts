// Wiring only: read the environment, start the server, stop it cleanly on a signal.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './http';
import { databaseUrlFromEnv, redactedUrl, syncOptionsFromEnv } from './options';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function readPort(value: string | undefined): number {
  if (value === undefined || value === '') return 8080;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(value)}`);
  }
  return port;
}

async function main(): Promise<void> {
  const port = readPort(process.env.PORT);
  const dataDir = path.resolve(process.env.DATA_DIR || './data');
  const staticDir = path.join(repoRoot, 'dist', 'client');

  const env = syncOptionsFromEnv(process.env);
  const databaseUrl = databaseUrlFromEnv(process.env);
  // With a shared database, this process is one node of many: it listens for the others'
  // commits and presence (docs/scale.md). The id only has to be unique among live nodes.
  const sync = databaseUrl !== undefined ? { ...env, cluster: { url: databaseUrl, nodeId: `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}` } } : env;

  const server = await startServer({ port, dataDir, staticDir, sync, databaseUrl });
  console.log(`eventide: data in ${databaseUrl !== undefined ? `PostgreSQL at ${redactedUrl(databaseUrl)}` : dataDir}`);
  console.log(`eventide: serving ${staticDir}`);
  console.log(`eventide: listening on http://localhost:${server.port} (WebSocket on /ws)`);
  if (sync.trustedProxies) console.log(`eventide: believing X-Forwarded-For from the trusted proxies ${sync.trustedProxies.spec.join(', ')}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`eventide: ${signal}, shutting down`);
    // Do not hang forever on a stuck connection.
    setTimeout(() => process.exit(0), 5000).unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('eventide: error while closing', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('eventide: failed to start:', err);
  process.exit(1);
});
