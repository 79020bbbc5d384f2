/**
 * Turns the measured cells into the printed table and the JSON file. The ratio is
 * always ours / peer for the same trace and measurement, so below 1 means we are
 * faster (or smaller); the "verdict" column says the same in words.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem, platform, arch, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cell, SideResults } from './peers/peer.js';

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
  rebase: Cell;
  totalSeconds: number;
}

/** Measurement keys in print order, with what they mean. Unknown keys print last. */
const MEASURES: Record<string, { label: string; unit: 'ms' | 'bytes' }> = {
  replay: { label: 'replay from empty', unit: 'ms' },
  'replay:model': { label: 'replay (json-joy Model)', unit: 'ms' },
  open: { label: 'open saved doc', unit: 'ms' },
  openSize: { label: 'bytes read to open', unit: 'bytes' },
  encodedSize: { label: 'encoded history', unit: 'bytes' },
  encodedSizeGzip: { label: 'encoded, gzipped', unit: 'bytes' },
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

function cellText(c: Cell | undefined, unit: 'ms' | 'bytes'): string {
  if (!c) return '-';
  if (c.value === null) return c.status;
  return fmt(c.value, unit) + (c.status === 'not-finished' ? ' *' : '');
}

function verdict(ours: Cell | undefined, peer: Cell | undefined, unit: 'ms' | 'bytes'): { ratio: string; words: string } {
  if (!ours || !peer || ours.value === null || peer.value === null || peer.value === 0) return { ratio: '', words: '' };
  const r = ours.value / peer.value;
  const [better, worse] = unit === 'ms' ? ['faster', 'slower'] : ['smaller', 'larger'];
  const words = r <= 1 ? `${(1 / r).toFixed(1)}x ${better}` : `${r.toFixed(1)}x ${worse}`;
  return { ratio: r < 0.01 ? r.toExponential(1) : r.toFixed(3), words };
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
  lines.push(row(head));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  const footnotes = new Set<string>();
  for (const t of report.traces) {
    const keys = new Set<string>();
    for (const side of Object.values(t.sides)) for (const k of Object.keys(side)) keys.add(k);
    const ordered = [...Object.keys(MEASURES).filter((k) => keys.has(k)), ...[...keys].filter((k) => !(k in MEASURES))];
    const peers = Object.keys(t.sides).filter((s) => s !== 'ours');
    for (const k of ordered) {
      const m = MEASURES[k] ?? { label: k, unit: 'ms' as const };
      const ours = t.sides.ours?.[k];
      for (const p of peers) {
        const cell = t.sides[p][k];
        if (!cell && !ours) continue;
        const v = verdict(ours, cell, m.unit);
        lines.push(row([t.trace, m.label, cellText(ours, m.unit), p, cellText(cell, m.unit), v.ratio, v.words]));
        for (const c of [ours, cell]) {
          if (c && c.status !== 'ok' && c.note) footnotes.add(`${t.trace} ${m.label} ${c === ours ? 'ours' : p}: ${c.note}`);
        }
      }
    }
    lines.push('');
  }
  const rb = report.rebase;
  lines.push(`offline branch rebase (10,000 pending vs 10,000 remote), ours only: ${rb.value === null ? rb.status : fmt(rb.value, 'ms')}`);
  if (footnotes.size) {
    lines.push('', '* and non-ok figures:');
    for (const f of footnotes) lines.push(`  ${f}`);
  }
  return lines.join('\n');
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
