/**
 * `npm run trace -- FILE...`: replays editing traces through the core and checks the
 * result against each file's `endContent`. Prints one JSON line per file:
 *   {"file","patches","ms","ok","length"}
 * `ms` is the core's replay alone (parsing and building the event log are not timed):
 * for a sequential trace, the fold of its events from empty; for a concurrent trace,
 * the whole run of one simulated client per agent through the real sequencer.
 * With `--encoded`, each line also has `encoded`: the bytes of the whole log as one block
 * (shared/src/log/block, every field of every event), and `ok` also requires that the block
 * decodes to a log that replays to the same text.
 * Exits 1 if a file cannot be read or parsed (with an error naming it) or any result
 * does not match.
 */
import { performance } from 'node:perf_hooks';
import { loadTrace, flattenPatches } from './trace-file.js';
import { replayConcurrent } from './concurrent-replay.js';
import { decodeBlock, encodeBlock, replay, traceToEvents, type DocEvent } from '../shared/src/index.js';

export interface TraceLine {
  file: string;
  patches: number;
  ms: number;
  ok: boolean;
  length: number;
  /** With `--encoded`: bytes of the whole log as one block. */
  encoded?: number;
}

export interface TraceOptions {
  encoded?: boolean;
}

export async function runTrace(file: string, opts: TraceOptions = {}): Promise<TraceLine> {
  const trace = await loadTrace(file);
  if (trace.kind === 'concurrent') {
    const patches = trace.txns.reduce((n, t) => n + t.patches.length, 0);
    const t0 = performance.now();
    const r = replayConcurrent(trace);
    const ms = performance.now() - t0;
    const ok = r.log === trace.endContent && r.replicas.every((x) => x === trace.endContent);
    const line = { file, patches, ms: round(ms), ok, length: r.log.length };
    return opts.encoded ? withEncoded(line, r.logEvents, r.log) : line;
  }
  const patches = flattenPatches(trace);
  if (trace.startContent !== '') throw new Error(`${file}: traces with startContent are not supported`);
  const events = traceToEvents(patches, { times: trace.txns.flatMap((t) => t.patches.map(() => Date.parse(t.time) || 0)) });
  const t0 = performance.now();
  const text = replay(null, events).toString();
  const ms = performance.now() - t0;
  const line = { file, patches: patches.length, ms: round(ms), ok: text === trace.endContent, length: text.length };
  return opts.encoded ? withEncoded(line, events, text) : line;
}

/** Adds the block size; a block that does not give back a log replaying to `text` is not ok. */
function withEncoded(line: TraceLine, events: readonly DocEvent[], text: string): TraceLine {
  const block = encodeBlock(events);
  const back = decodeBlock(block);
  const same = back.ok && back.value.length === events.length && replay(null, back.value).toString() === text;
  return { ...line, ok: line.ok && same, encoded: block.length };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

async function main(args: string[]): Promise<number> {
  const encoded = args.includes('--encoded');
  const files = args.filter((a) => a !== '--encoded');
  if (files.length === 0) {
    process.stderr.write('usage: npm run trace -- [--encoded] FILE.json[.gz] ...\n');
    return 1;
  }
  let status = 0;
  for (const file of files) {
    try {
      const line = await runTrace(file, { encoded });
      process.stdout.write(`${JSON.stringify(line)}\n`);
      if (!line.ok) status = 1;
    } catch (e) {
      process.stderr.write(`trace: ${(e as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
