/**
 * The peer for the crowded-document bench: a Hocuspocus server (`@hocuspocus/server`
 * 3.4.4, in memory, no extensions), alone in its process like ours, on PORT.
 */
import { Server } from '@hocuspocus/server';

const server = new Server({ port: Number(process.env.PORT ?? 20510), address: '127.0.0.1', quiet: true });
await server.listen();
process.stdout.write('listening\n');
process.on('SIGTERM', () => {
  void server.destroy().then(() => process.exit(0));
});
