/**
 * Turns the measured cells into the printed table and the JSON file. The ratio is
 * always ours / peer for the same trace and measurement, so below 1 means we are
 * faster (or smaller); the "verdict" column says the same in words.
 */
import type { DecodeFigures } from './decode-columns.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, arch, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cell, SideResults } from './peers/peer.js';
import type { SqliteSizeFigures } from './sqlite-size.js';

export interface TraceReport {
  trace: string;
  patches: number;
  finalLength: number;
  /** "ours" and each peer name. */
  sides: Record<string, SideResults>;
}

export interface BenchReport {
  date: string;
  machine: Record<string, string | number>;
  libraries: Record<string, string>;
  options: Record<string, unknown>;
  notes: Record<string, readonly string[]>;
  traces: TraceReport[];
  /** The table's rows as data: filled by `compare`. */
  comparisons: Comparison[];
  rebase: Cell;
  /** A million real keystroke events (automerge-paper x4), ours only (bench/scale.ts). */
  scale?: Record<string, number> | string;
  /** One undo of a step 100,000 events back in automerge-paper, ours only (bench/undo.ts). */
  undo?: Record<string, number> | string;
  /** Bytes per event of blocks of many authors' logs, ours only (bench/block-logs.ts). */
  blocks?: Record<string, number | string>[] | string;
  /** Dragging the history slider across automerge-paper in Chromium (bench/slider.ts). */
  slider?: Record<string, number> | string;
  /** The server process under WebSocket load (bench/server-load.ts). */
  server?: Record<string, number | boolean>[] | string;
  /** Several nodes over one PostgreSQL: cross-node delivery and appends (bench/cluster-load.ts). */
  cluster?: unknown;
  totalSeconds: number;
}

/** One row of the table: ours against one peer on one trace and measurement. */
export interface Comparison {
  trace: string;
  measure: string;
  unit: 'ms' | 'bytes';
  ours: number | null;
  peer: string;
  peerValue: number | null;
  /** ours / peer; below 1 means ours is faster or smaller. Null when either side has no figure. */
  ratio: number | null;
  /** The ratio in words, e.g. "12.3x faster". */
  verdict: string;
  /** Status of each side when not 'ok' (not-finished, skipped, n/a, pending, error). */
  oursStatus: Cell['status'];
  peerStatus: Cell['status'];
}

/** Measurement keys in print order, with what they mean. Unknown keys print last. */
const MEASURES: Record<string, { label: string; unit: 'ms' | 'bytes' }> = {
  replay: { label: 'replay from empty', unit: 'ms' },
  'replay:model': { label: 'replay (json-joy Model)', unit: 'ms' },
  open: { label: 'open saved doc', unit: 'ms' },
  openSize: { label: 'bytes read to open', unit: 'bytes' },
  encodedSize: { label: 'stored size', unit: 'bytes' },
  encodedSizeGzip: { label: 'stored size, gzipped', unit: 'bytes' },
  historySize: { label: 'full history, encoded', unit: 'bytes' },
  versionsP50: { label: 'state at version p50', unit: 'ms' },
  versionsP99: { label: 'state at version p99', unit: 'ms' },
  memory: { label: 'memory after load', unit: 'bytes' },
};

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export async function machineInfo(): Promise<Record<string, string | number>> {
  const c = cpus();
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    v8: process.versions.v8,
    platform: platform(),
    arch: arch(),
    // Other work on the machine slows every side; a 1-minute load above the core
    // count at the end of the run means the absolute figures are inflated.
    loadAverage1m: Number(loadavg()[0].toFixed(2)),
  };
}

/** Installed versions, read from node_modules so the JSON says what actually ran. */
export async function libraryVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of ['yjs', 'json-joy', 'loro-crdt', '@automerge/automerge']) {
    try {
      const pkg = JSON.parse(await readFile(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      out[name] = pkg.version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

function fmt(value: number, unit: 'ms' | 'bytes'): string {
  if (unit === 'bytes') {
    if (value >= 1e6) return `${(value / 1e6).toFixed(2)} MB`;
    if (value >= 1e3) return `${(value / 1e3).toFixed(1)} kB`;
    return `${value} B`;
  }
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 1) return `${value.toFixed(2)} ms`;
  return `${value.toFixed(3)} ms`;
}

function verdict(ratio: number | null, unit: 'ms' | 'bytes'): string {
  if (ratio === null) return '';
  const [better, worse] = unit === 'ms' ? ['faster', 'slower'] : ['smaller', 'larger'];
  return ratio <= 1 ? `${(1 / ratio).toFixed(1)}x ${better}` : `${ratio.toFixed(1)}x ${worse}`;
}

const MISSING: Cell = { value: null, status: 'n/a' };

/** Every (trace, measurement, peer) pair with both figures and their ratio, in print order. */
export function compare(traces: readonly TraceReport[]): Comparison[] {
  const out: Comparison[] = [];
  for (const t of traces) {
    const keys = new Set<string>();
    for (const side of Object.values(t.sides)) for (const k of Object.keys(side)) keys.add(k);
    const ordered = [...Object.keys(MEASURES).filter((k) => keys.has(k)), ...[...keys].filter((k) => !(k in MEASURES))];
    const peers = Object.keys(t.sides).filter((s) => s !== 'ours');
    for (const measure of ordered) {
      const unit = MEASURES[measure]?.unit ?? 'ms';
      // A peer's replay variant (e.g. json-joy's Model) is compared with our one replay.
      const ours = t.sides.ours?.[measure] ?? (measure.startsWith('replay:') ? t.sides.ours?.replay : undefined) ?? MISSING;
      for (const peer of peers) {
        const cell = t.sides[peer][measure] ?? MISSING;
        // Variant rows belong to the one peer that has the variant.
        if (cell === MISSING && (ours === MISSING || measure.includes(':'))) continue;
        const ratio = ours.value !== null && cell.value !== null && cell.value > 0 ? ours.value / cell.value : null;
        out.push({
          trace: t.trace,
          measure,
          unit,
          ours: ours.value,
          peer,
          peerValue: cell.value,
          ratio,
          verdict: verdict(ratio, unit),
          oursStatus: ours.status,
          peerStatus: cell.status,
        });
      }
    }
  }
  return out;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

/** The table: one line per trace, measurement and peer, ours repeated for reading ease. */
export function renderTable(report: BenchReport): string {
  const lines: string[] = [];
  const head = ['trace', 'measurement', 'ours', 'peer', 'peer value', 'ours/peer', 'ours is'];
  const widths = [16, 22, 12, 10, 14, 10, 16];
  const row = (cols: string[]) =>
    cols.map((c, i) => pad(c, widths[i], i === 2 || i === 4 || i === 5)).join('  ').trimEnd();
  const text = (value: number | null, status: Cell['status'], unit: 'ms' | 'bytes') =>
    value === null ? (status === 'ok' ? '-' : status) : fmt(value, unit) + (status === 'not-finished' ? ' *' : '');
  lines.push(row(head));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  let lastTrace = '';
  for (const c of report.comparisons) {
    if (lastTrace && c.trace !== lastTrace) lines.push('');
    lastTrace = c.trace;
    const ratio = c.ratio === null ? '' : c.ratio < 0.01 ? c.ratio.toExponential(1) : c.ratio.toFixed(3);
    const label = MEASURES[c.measure]?.label ?? c.measure;
    lines.push(row([c.trace, label, text(c.ours, c.oursStatus, c.unit), c.peer, text(c.peerValue, c.peerStatus, c.unit), ratio, c.verdict]));
  }
  lines.push('');
  // Why a figure is missing or partial, from the cells' notes.
  const footnotes = new Set<string>();
  for (const t of report.traces) {
    for (const [side, cells] of Object.entries(t.sides)) {
      for (const [measure, cell] of Object.entries(cells)) {
        if (cell.status !== 'ok' && cell.note) footnotes.add(`${t.trace} ${MEASURES[measure]?.label ?? measure} ${side}: ${cell.note}`);
      }
    }
  }
  lines.push(
    'stored size: ours = the server\'s SQLite file after `npm run import` of the whole log and VACUUM (bench/sqlite-size.ts);',
    '  peers = their saved document (Loro, Automerge: with full history; Yjs (gc on) and json-joy: current state',
    '  with tombstones, no deleted text, so no old versions).',
    ...storedSizeNotes(report),
    'bytes read to open: ours = newest checkpoint + events after it; peers = the saved document.',
    'full history, encoded: everything needed to read every version again. What each keeps:',
    ...fullHistoryNotes(report),
    'memory: JS heap + external (ArrayBuffers, WASM) growth for one more loaded document (bench/memory.ts).',
    `state at version: ${report.options.versionOrder}; * = stopped at the time budget, figures over the versions done.`,
    '',
  );
  const rb = report.rebase;
  const parts = rb.detail as { serverMs?: number; clientMs?: number } | undefined;
  const split = parts?.serverMs !== undefined && parts.clientMs !== undefined ? ` (server ${fmt(parts.serverMs, 'ms')} + client ${fmt(parts.clientMs, 'ms')})` : '';
  lines.push(
    `offline branch rebase, 10,000 pending vs 10,000 remote, ours only: ${rb.value === null ? `${rb.status}${rb.note ? `: ${rb.note}` : ''}` : fmt(rb.value, 'ms') + split}`,
  );
  if (report.undo !== undefined) {
    const u = report.undo;
    lines.push(
      typeof u === 'string'
        ? `undo: ${u}`
        : `undo of a ${u.stepEvents}-event step ${u.back} events back (automerge-paper), ours only: ${fmt(u.undoMs, 'ms')} median, ${fmt(u.undoMaxMs, 'ms')} worst of ${u.runs}; folding the whole log into the undo stack once: ${fmt(u.foldMs, 'ms')}, summarizing its ops once: ${fmt(u.summaryMs, 'ms')} (both kept as events arrive); the same undo over the whole log, reading every event: ${fmt(u.undoUnsummarizedMs, 'ms')} median`,
    );
  }
  if (report.blocks !== undefined) {
    const b = report.blocks;
    if (typeof b === 'string') lines.push(`blocks of many authors: ${b}`);
    else {
      lines.push('blocks of many authors (bench/block-logs.ts), bytes per event, ours only: in one block / in blocks of 1,000');
      for (const f of b) lines.push(`  ${f.log}: ${Number(f.wholeBytesPerEvent).toFixed(2)} / ${Number(f.blocksBytesPerEvent).toFixed(2)} (${f.events} events)`);
    }
  }
  if (report.slider !== undefined) {
    const sl = report.slider;
    lines.push(
      typeof sl === 'string'
        ? `history slider: ${sl}`
        : `history slider in Chromium, automerge-paper (${sl.events} events), drag across and back: work per drawn frame p50 ${fmt(sl.frameWorkP50Ms, 'ms')}, p95 ${fmt(sl.frameWorkP95Ms, 'ms')}, max ${fmt(sl.frameWorkMaxMs, 'ms')} over ${sl.drawnFrames} frames (events walked per frame p50 ${sl.stepsP50}, max ${sl.stepsMax}); rAF interval p50 ${fmt(sl.rafIntervalP50Ms, 'ms')}, p95 ${fmt(sl.rafIntervalP95Ms, 'ms')}, ${sl.longFrames} of ${sl.rafFrames} over 20 ms; head version scrubbable after ${fmt(sl.headMs, 'ms')} (base ${sl.headBase}), the whole history loaded from the server after ${fmt(sl.loadMs, 'ms')}`,
    );
  }
  if (report.scale !== undefined) {
    const sc = report.scale;
    lines.push(
      typeof sc === 'string'
        ? `scale: ${sc}`
        : `scale, ${sc.events} events (automerge-paper x4): replay ${fmt(sc.replayMs, 'ms')} (${Math.round(sc.nsPerEvent)} ns/event); the same typed into a 10 MB document: ${fmt(sc.replay10MBMs, 'ms')}`,
    );
  }
  if (report.server !== undefined) {
    if (typeof report.server === 'string') lines.push(`server load: ${report.server}`);
    else {
      lines.push('server load (real process, SQLite FULL, WebSocket clients on loopback; latency = send to receipt by the others):');
      lines.push('  server  docs  clients  watchers  ev/s/client  offered  appended/s  p50 ms  p99 ms  server RSS MB  server CPU %  generator CPU %  ok');
      for (const r of report.server) {
        const row = [r.server ?? 'eventide', r.docs, r.clients, r.watchers ?? 0, r.ratePerClient, r.offered, r.appendedPerSec, r.p50, r.p99, r.serverRssMB, r.serverCpuPct ?? '-', r.generatorCpuPct, r.ok ?? '-'];
        lines.push(`  ${row.map(String).join('  ')}`);
      }
    }
  }
  if (footnotes.size) {
    lines.push('', 'missing or partial figures:');
    for (const f of footnotes) lines.push(`  ${f}`);
  }
  return lines.join('\n');
}

/** Per trace: our SQLite file against the whole log encoded, and where its bytes go. */
function storedSizeNotes(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const t of report.traces) {
    const d = t.sides.ours?.encodedSize?.detail as SqliteSizeFigures | undefined;
    if (d === undefined || d.fileBytes === undefined) continue;
    const top = Object.entries(d.pages)
      .slice(0, 3)
      .map(([name, bytes]) => `${name} ${fmt(bytes, 'bytes')}`)
      .join(', ');
    lines.push(
      `  ours, ${t.trace}: ${fmt(d.fileBytes, 'bytes')} = ${d.ratioToEncoded.toFixed(2)}x the whole log encoded (${fmt(d.encodedWholeLog, 'bytes')}); ` +
        `pages of ${d.pageSize} B: ${top}; ${d.blocks.count} blocks ${fmt(d.blocks.bytes, 'bytes')}, ${d.checkpoints.count} checkpoints ${fmt(d.checkpoints.bytes, 'bytes')}`,
    );
  }
  return lines;
}

/** One line per side: what its "full history" figure keeps (the cells' notes), and our block figures. */
function fullHistoryNotes(report: BenchReport): string[] {
  const notes = new Map<string, string>();
  for (const t of report.traces) {
    for (const [side, cells] of Object.entries(t.sides)) {
      const note = cells.historySize?.note;
      if (cells.historySize?.status === 'ok' && note && !notes.has(side)) notes.set(side, note);
    }
  }
  const lines = [...notes].map(([side, note]) => `  ${side}: ${note}`);
  for (const t of report.traces) {
    const d = t.sides.ours?.historySize?.detail as BlockFigures | undefined;
    if (d === undefined) continue;
    const c = d.columns;
    if (c !== undefined) {
      // The target's figure first (into columns), the DocEvent[] one beside it, then the peer.
      lines.push(
        `  ours, ${t.trace}: decode of the whole log into columns (decodeColumns) best CPU time ${fmt(c.columnsCpuMs, 'ms')} (warm, no GC between runs ${fmt(c.columnsWarmCpuMs, 'ms')}), ` +
          `into DocEvent[] (decodeBlock, an object per event) ${fmt(c.eventsCpuMs, 'ms')} (median wall ${fmt(d.decodeMs, 'ms')} of ${d.decodeRuns.length}); ` +
          `in blocks of 1,000 events ${fmt(d.blocksBytes, 'bytes')}, into columns ${fmt(c.blocksColumnsCpuMs, 'ms')}, into DocEvent[] ${fmt(c.blocksEventsCpuMs, 'ms')} (best CPU times); encode ${fmt(d.encodeMs, 'ms')}`,
        `  ours, ${t.trace}: fold to the final text from columns ${fmt(c.replayColumnsCpuMs, 'ms')}, from DocEvent[] ${fmt(c.replayEventsCpuMs, 'ms')} (best CPU times)` +
          (c.yjsApplyCpuMs === undefined
            ? ''
            : `; Yjs applyUpdateV2 of its gc:false update (${fmt(c.yjsUpdateBytes ?? 0, 'bytes')}) ${fmt(c.yjsApplyCpuMs, 'ms')}: ` +
              `our columns decode ${(c.columnsCpuMs / c.yjsApplyCpuMs).toFixed(2)}x of it, decode + fold ${((c.columnsCpuMs + c.replayColumnsCpuMs) / c.yjsApplyCpuMs).toFixed(2)}x`),
      );
      continue;
    }
    lines.push(
      `  ours, ${t.trace}: decode of the whole log into events ${fmt(d.decodeMs, 'ms')} (median of ${d.decodeRuns.length}${cpu(d.decodeCpuMs)}); ` +
        `in blocks of 1,000 events ${fmt(d.blocksBytes, 'bytes')}, decoded in ${fmt(d.blocksDecodeMs, 'ms')}${cpu(d.blocksDecodeCpuMs, ' (', ')')}; encode ${fmt(d.encodeMs, 'ms')}`,
    );
  }
  return lines;
}

/** The detail of our "full history" cell (bench/ours.ts). */
export interface BlockFigures {
  encodeMs: number;
  decodeMs: number;
  decodeRuns: number[];
  /** Best CPU time of the whole-log decode (bench/measure.ts `cpuBest`); absent in reports before it. */
  decodeCpuMs?: number;
  blocksBytes: number;
  blocksDecodeMs: number;
  /** Best CPU time of decoding the log's blocks of 1,000; absent in reports before it. */
  blocksDecodeCpuMs?: number;
  /**
   * Decoding into columns, folds and the Yjs peer (bench/decode-columns.ts); absent in reports
   * before it. With it, decodeCpuMs and blocksDecodeCpuMs are its DocEvent[] figures.
   */
  columns?: DecodeFigures;
}

/** ", best CPU time X" for a figure that older reports lack. */
function cpu(ms: number | undefined, open = ', ', close = ''): string {
  return ms === undefined ? '' : `${open}best CPU time ${fmt(ms, 'ms')}${close}`;
}

/** Re-reads a written report and recomputes its comparisons (for `--render`). */
export async function readReport(file: string): Promise<BenchReport> {
  const report = JSON.parse(await readFile(file, 'utf8')) as BenchReport;
  if (!Array.isArray(report.traces)) throw new Error(`${file}: not a bench report`);
  return { ...report, comparisons: compare(report.traces) };
}

/** Writes bench/results/<ISO date>.json and bench/results/latest.json; returns the dated path. */
export async function writeReport(report: BenchReport): Promise<string> {
  const dir = join(repoRoot, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  // Colons are not allowed in Windows file names; the rest of the ISO form is kept.
  const file = join(dir, `${report.date.replace(/:/g, '-')}.json`);
  const json = JSON.stringify(report, null, 2) + '\n';
  await writeFile(file, json);
  await writeFile(join(dir, 'latest.json'), json);
  return file;
}
