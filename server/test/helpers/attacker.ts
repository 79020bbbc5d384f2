/**
 * A hostile client swarm, as its own process (so its CPU is not the honest clients'):
 * `node --import tsx server/test/helpers/attacker.ts` with ATTACK_* in the environment.
 * It keeps `conns` sockets busy until it has sent `frames` frames in about `seconds`:
 *
 *   - most sockets join the victim document with its leaked **view** token and then try
 *     to write (submits, including ones that claim an honest client's id), spam presence,
 *     page through history, say hello again with other tokens;
 *   - some never join, and send everything before a hello, or a hello with no token, a
 *     wrong one, a token of another document, or a `create` for the victim's id;
 *   - some create documents of their own and fuzz those (their own edits may land there,
 *     never in the victim);
 *   - every frame is drawn from helpers/bad-frames.ts, from byte-level mutations of valid
 *     frames, or from the access-specific kinds above; a few end the connection (over the
 *     frame size, invalid UTF-8, a foreign protocol), and the socket reconnects.
 *
 * Seeded (ATTACK_SEED). Prints one JSON line: frames sent, connections opened, closes by
 * code, errors received by code.
 */
import WebSocket from 'ws';
import { PROTOCOL_VERSION, FRAME_WELCOME, decodeServerFrame, eventsFrameSpan } from '../../../shared/src/index.js';
import { frameData } from './ws-client.js';
import { Random } from '../../../shared/test/sim/random.js';
import { BadFrames } from './bad-frames.js';
import { testToken } from './tokens.js';

export interface AttackConfig {
  url: string;
  /** The victim document and its leaked view token. */
  doc: string;
  viewToken: string;
  /** Client ids of honest clients, to impersonate. */
  honest: string[];
  frames: number;
  seconds: number;
  conns: number;
  seed: number;
  /** Local addresses to connect from, socket i from the (i mod n)th (e.g. 127.0.0.2-4: other hosts than the honest clients'). */
  localAddresses?: string[];
}

export interface AttackSummary {
  frames: number;
  connections: number;
  closes: Record<string, number>;
  errors: Record<string, number>;
  welcomes: Record<string, number>;
  ms: number;
}

type Mode = 'view' | 'none' | 'own';

function mutate(r: Random, s: string): string {
  let out = s;
  for (let k = 1 + r.int(4); k > 0; k--) {
    const i = r.int(Math.max(1, out.length));
    switch (r.int(4)) {
      case 0:
        out = out.slice(0, i) + String.fromCharCode(r.int(128)) + out.slice(i + 1);
        break;
      case 1:
        out = out.slice(0, i) + out.slice(i + 1 + r.int(5));
        break;
      case 2:
        out = out.slice(0, i) + out.slice(i, i + 1 + r.int(10)) + out.slice(i);
        break;
      default:
        out = out.slice(0, i) + r.pick(['{', '}', '"', ',', ':', '[', ']', '-1', '1e999', 'null', '\\u0000']) + out.slice(i);
    }
  }
  return out;
}

export async function attack(cfg: AttackConfig): Promise<AttackSummary> {
  const rnd = new Random(cfg.seed);
  const sum: AttackSummary = { frames: 0, connections: 0, closes: {}, errors: {}, welcomes: {}, ms: 0 };
  const bump = (o: Record<string, number>, k: string) => (o[k] = (o[k] ?? 0) + 1);
  const t0 = performance.now();
  const perConnPerTick = cfg.frames / (cfg.seconds * 100 * cfg.conns); // frames per 10 ms per socket
  let done = false;

  const victimHello = (client: string, extra: Record<string, unknown>) =>
    JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: cfg.doc, client, user: { name: 'mallory', color: '#f00' }, last: 0, ...extra });

  const slot = async (index: number): Promise<void> => {
    let gen = 0;
    while (!done) {
      gen++;
      const client = `atk-${index}-${gen}`;
      const own = `atk-doc-${cfg.seed}-${index}`;
      const mode: Mode = rnd.chance(0.6) ? 'view' : rnd.chance(0.5) ? 'none' : 'own';
      const bad = new BadFrames(rnd, client, own);
      const ws = new WebSocket(cfg.url, { maxPayload: 64 * 1024 * 1024, ...(cfg.localAddresses?.length ? { localAddress: cfg.localAddresses[index % cfg.localAddresses.length] } : {}) });
      sum.connections++;
      let open = false;
      let joined = false;
      let credit = 0;
      const closed = new Promise<void>((resolve) => {
        ws.on('close', (code) => {
          bump(sum.closes, String(code));
          resolve();
        });
        ws.on('error', () => resolve());
        ws.on('unexpected-response', (_req, res) => {
          bump(sum.closes, `http-${res.statusCode}`);
          resolve();
        });
      });
      ws.on('open', () => {
        open = true;
        if (mode === 'view') ws.send(victimHello(client, { token: cfg.viewToken }));
        else if (mode === 'own') ws.send(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: own, client, user: { name: 'm', color: '#f00' }, last: 0, token: testToken(own), create: true }));
      });
      // Cheap reading (the attacker shares the machine's two cores with the server): only
      // the fields it needs, by pattern, without parsing every broadcast.
      ws.on('message', (d, isBinary) => {
        if (isBinary) {
          // A welcome, a history page or live events (binary frames of blocks): a welcome is
          // decoded in full and must decode; live events are read for their end only (P25),
          // pages not at all (their bytes would cost the machine).
          const bytes = frameData(d, true) as Uint8Array;
          const span = eventsFrameSpan(bytes);
          if (span !== null) bad.head = Math.max(bad.head, span.end);
          if (bytes[0] !== FRAME_WELCOME) return;
          const r = decodeServerFrame(bytes);
          if (!r.ok) bump(sum.errors, `undecodable:${r.error.code}`);
          else if (r.value.type === 'welcome') {
            joined = true;
            bump(sum.welcomes, `${mode}:${r.value.role}`);
            bad.head = Math.max(bad.head, r.value.head);
          }
          return;
        }
        const text = String(d);
        const head = text.slice(0, 64);
        if (head.startsWith('{"type":"error"')) bump(sum.errors, /"code":"([a-z-]+)"/.exec(head)?.[1] ?? '?');
      });
      const frame = (): { data: string | Buffer; binary?: boolean } => {
        // (bad-frames' frames are all of one socket; the attacker mixes them with its own.)
        const r = rnd;
        const p = r.next();
        if (p < 0.0003) return bad.closing();
        if (!joined || mode === 'none') {
          if (p < 0.03) {
            // A hello that must be refused (and closes the socket): no token, a wrong one, another document's, a create on the victim.
            const extra = r.pick<Record<string, unknown>>([{}, { token: 'A'.repeat(32) }, { token: testToken(own) }, { token: 'B'.repeat(40), create: true }, { token: cfg.viewToken.slice(0, -1) + 'x' }]);
            return { data: victimHello(client, extra) };
          }
          if (p < 0.5) return bad.beforeHello();
          return { data: mutate(r, bad.beforeHello().data as string) };
        }
        if (mode === 'view') {
          if (p < 0.3) {
            // Writes with a view token: as itself, as an honest client, with a plausible op.
            const id = r.chance(0.5) ? { client, clientSeq: 1 + r.int(5) } : { client: r.pick(cfg.honest), clientSeq: 1 + r.int(1000) };
            return { data: JSON.stringify({ type: 'submit', base: bad.head, events: [{ id, author: 'mallory', op: r.chance(0.5) ? ['pwned'] : [r.int(5), 'x'], kind: r.pick(['edit', 'undo', 'restore']) }] }) };
          }
          if (p < 0.36) return { data: JSON.stringify({ type: 'presence', cursor: { anchor: r.int(10), head: r.int(10) } }) };
          if (p < 0.38) return { data: JSON.stringify({ type: 'history', reqId: r.int(100), from: r.int(Math.max(1, bad.head)), to: bad.head, limit: 1 + r.int(1000) }) };
          if (p < 0.4) return { data: JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, docId: own, client, user: { name: 'm', color: '#f00' }, last: 0, token: testToken(own), create: true }) };
        }
        // Oversized batches (1,001 events, ~80 kB) are one kind in sixteen of bad-frames.ts; they
        // cost this process and the loopback much more than the server, so most are redrawn.
        const joinedFrame = () => {
          let f = bad.joined();
          while (typeof f.data === 'string' && f.data.length > 16_384 && !r.chance(0.05)) f = bad.joined();
          return f;
        };
        if (p < 0.7) return joinedFrame();
        const v = joinedFrame();
        return { data: typeof v.data === 'string' ? mutate(r, v.data) : v.data, binary: v.binary };
      };
      const timer = setInterval(() => {
        if (!open || ws.readyState !== WebSocket.OPEN) return;
        credit += perConnPerTick;
        while (credit >= 1 && sum.frames < cfg.frames) {
          credit--;
          const f = frame();
          sum.frames++;
          try {
            ws.send(f.data, { binary: f.binary === true });
          } catch {
            break;
          }
        }
        if (sum.frames >= cfg.frames) done = true;
      }, 10);
      await Promise.race([closed, new Promise<void>((r) => { const t = setInterval(() => { if (done) { clearInterval(t); r(); } }, 50); })]);
      clearInterval(timer);
      ws.terminate();
    }
  };
  await Promise.all(Array.from({ length: cfg.conns }, (_, i) => slot(i)));
  sum.ms = Math.round(performance.now() - t0);
  return sum;
}

if (process.env.ATTACK_CONFIG) {
  const cfg = JSON.parse(process.env.ATTACK_CONFIG) as AttackConfig;
  attack(cfg).then(
    (s) => {
      process.stdout.write(`${JSON.stringify(s)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`attacker: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
