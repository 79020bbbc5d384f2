/**
 * The log as an audit trail (`history-audit`): every loaded event, newest first, with who,
 * when (the server's clock) and what changed; paged, and filtered by author and by a time
 * range. Picking a row shows that version. Everything is rendered as text.
 */
import { useMemo, useState } from 'react';
import type { DocEvent } from '../../../shared/src/index.js';
import type { HistoryModel } from './history-model.js';
import { authorColor } from './author-color.js';
import { labelOf } from './labels.js';

const PAGE = 50;

/** A one-line summary of what an event changed. */
export function describeEvent(e: DocEvent): string {
  const label = labelOf(e);
  if (label !== null) return `named version ${label.version} “${label.name}”`;
  const parts: string[] = [];
  for (const c of e.op) {
    if (typeof c === 'string') parts.push(`+${JSON.stringify(clip(c))}`);
    else if (typeof c === 'object') parts.push(`−${JSON.stringify(clip(c.d))}`);
  }
  const what = parts.length === 0 ? 'no change' : parts.join(' ');
  if (e.kind === 'restore') {
    const m = e.meta ?? {};
    return typeof m.reverts === 'string' ? `reverted step ${m.reverts}: ${what}` : typeof m.version === 'number' ? `restored version ${m.version}: ${what}` : `restore: ${what}`;
  }
  return e.kind === 'edit' ? what : `${e.kind}: ${what}`;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 37)}…` : s;
}

export function AuditList({ model, loaded, base, onPick }: { model: HistoryModel; loaded: number; base: number; onPick: (seq: number) => void }) {
  const [author, setAuthor] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [page, setPage] = useState(0);
  const authors = useMemo(() => [...new Set(model.getSnapshot().sessions.map((s) => s.author))].sort(), [model, loaded, base]);
  const rows = useMemo(() => {
    const t0 = from === '' ? -Infinity : Date.parse(from);
    const t1 = to === '' ? Infinity : Date.parse(to);
    // Only loaded events are listed (newest first, so the list fills from the head while older history loads).
    const lo = Math.max(base, Number.isFinite(t0) ? model.versionAtTime(t0 - 1) : 0);
    const hi = Number.isFinite(t1) ? model.versionAtTime(t1) : loaded;
    const out: DocEvent[] = [];
    const skip = page * PAGE;
    let seen = 0;
    // Newest first, stopping once the page is full.
    for (let seq = hi; seq > lo && out.length < PAGE; seq--) {
      const e = model.index.eventAt(seq)!;
      if (author !== '' && e.author !== author) continue;
      if (seen++ < skip) continue;
      out.push(e);
    }
    return out;
  }, [model, loaded, base, author, from, to, page]);
  return (
    <div className="history-audit" data-testid="history-audit">
      <div className="history-audit-filters">
        <label>
          Author{' '}
          <select data-testid="history-audit-author" value={author} onChange={(e) => (setAuthor(e.currentTarget.value), setPage(0))}>
            <option value="">everyone</option>
            {authors.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          From <input type="datetime-local" data-testid="history-audit-from" value={from} onChange={(e) => (setFrom(e.currentTarget.value), setPage(0))} />
        </label>
        <label>
          To <input type="datetime-local" data-testid="history-audit-to" value={to} onChange={(e) => (setTo(e.currentTarget.value), setPage(0))} />
        </label>
        <button type="button" disabled={page === 0} onClick={() => setPage(page - 1)}>
          Newer
        </button>
        <button type="button" disabled={rows.length < PAGE} onClick={() => setPage(page + 1)}>
          Older
        </button>
      </div>
      <table>
        <thead>
          <tr>
            <th>Version</th>
            <th>Who</th>
            <th>When (server)</th>
            <th>What changed</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.seq} data-testid="history-audit-row" data-seq={e.seq} onClick={() => onPick(e.seq)}>
              <td>{e.seq}</td>
              <td>
                <span className="swatch" style={{ background: authorColor(e.author) }} /> {e.author}
              </td>
              <td>{new Date(e.time).toLocaleString()}</td>
              <td>{describeEvent(e)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.length === 0 && <p className="empty">No events match.</p>}
    </div>
  );
}
