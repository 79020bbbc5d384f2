/**
 * The history panel (issue 6, docs/spec.md T1): a slider over every version of the open
 * document, the text at the chosen version coloured by author, and what can be done
 * with it: restore it, revert the step that made it, name it, compare it with another.
 *
 * Test hooks: `history-toggle` (on the document page), `history-slider` (an
 * `<input type="range">` from 0 to the loaded head), `history-view` (exactly the text at
 * the version: its `eventide.text()`, and its textContent while the text has at most
 * WINDOW lines (windowed-view.ts); for a version below the loaded base, a "Loading the
 * history before version N…" message until it is loaded), `history-version` (version, author, time; data-version),
 * `history-restore`. The view is drawn outside React (windowed-view.ts) once per animation
 * frame, only the lines around the change as elements, so dragging costs one index walk
 * and a few changed lines per frame.
 */
import { useEffect, useLayoutEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { DocEvent } from '../../../shared/src/index.js';
import type { SyncClient } from '../sync/sync-client.js';
import type { UndoApplier } from '../undo/undo-controller.js';
import { eventSourceFor } from './event-source.js';
import { checkpointsOf, HistoryCache, localWithCache } from './history-cache.js';
import { HistoryModel, type HistorySnapshot } from './history-model.js';
import { TextView } from './windowed-view.js';
import { changeRange } from './change-range.js';
import { authorColor } from './author-color.js';
import { restoreOp, revertStepOp, stepKeyOf } from './history-actions.js';
import { labelMeta, MAX_LABEL } from './labels.js';
import { AuditList } from './AuditList.js';
import { CompareView } from './CompareView.js';
import { ExportButtons } from '../markdown/ExportButtons.js';

const SPEEDS = [1, 10, 100, 1000, 10000] as const;

/** One drawn frame, recorded when `window.eventideHistoryPerf` is an array (bench/slider.ts). */
export interface FramePerf {
  readonly version: number;
  /** Events applied or reverted to get there. */
  readonly steps: number;
  /** Index walk + text + DOM update + forced layout, and each part. */
  readonly ms: number;
  readonly walkMs: number;
  readonly textMs: number;
  readonly domMs: number;
  readonly layoutMs: number;
}

export interface HistoryPanelProps {
  readonly client: SyncClient;
  /** View-only: no restore, revert or naming. */
  readonly readOnly: boolean;
  /** Applies an op to the editor and the document (the editor binding's), null until bound. */
  readonly apply: () => UndoApplier | null;
  readonly onClose: () => void;
}

/** Test hook on the panel element (`eventide`): the server's own log, to check the view against a replay of it. */
export interface HistoryProbe {
  /** Versions loaded into the panel's index: the highest. */
  loaded(): number;
  /** The lowest loaded version (0 once the whole history is in). */
  base(): number;
  /** Every event of the server's log up to our confirmed head, straight from the server's history request. */
  serverEvents(): Promise<DocEvent[]>;
}

export function HistoryPanel({ client, readOnly, apply, onClose }: HistoryPanelProps) {
  const [model, setModel] = useState<HistoryModel | null>(null);
  const panel = useRef<HTMLElement>(null);
  useEffect(() => {
    const el = panel.current;
    if (el === null || model === null) return;
    const probe: HistoryProbe = {
      loaded: () => model.index.head,
      base: () => model.index.base,
      serverEvents: async () => {
        const out: DocEvent[] = [];
        const to = client.state.confirmedSeq;
        let from: number | null = 0;
        while (from !== null && from < to) {
          const r = await client.history(from, to);
          if (!r.ok) throw new Error(r.error.message);
          out.push(...r.value.events);
          from = r.value.next;
        }
        return out;
      },
    };
    (el as unknown as { eventide?: HistoryProbe }).eventide = probe;
    return () => {
      delete (el as unknown as { eventide?: HistoryProbe }).eventide;
    };
  }, [model, client]);
  useEffect(() => {
    let done: (() => void) | null = null;
    let cancelled = false;
    void (async () => {
      // Pages fetched from the server are kept in the history cache, with their server
      // checkpoints: fetched once per device, and the bases the panel loads from, newest first.
      const cache = await HistoryCache.open();
      if (cancelled) return cache?.close();
      const source = eventSourceFor(client, localWithCache(client.localStore, cache));
      const m = new HistoryModel(source, (events, checkpoints) => void cache?.put(client.docId, events, checkpoints), checkpointsOf(cache, client.docId));
      m.start();
      setModel(m);
      done = () => {
        m.close();
        source.close();
        cache?.close();
      };
    })();
    return () => {
      cancelled = true;
      done?.();
      setModel(null);
    };
  }, [client]);
  return (
    <section className="history-panel" aria-label="History" data-testid="history-panel" ref={panel}>
      <div className="history-head">
        <h3>History</h3>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {model === null ? <p className="empty">Opening the history…</p> : <Timeline model={model} client={client} readOnly={readOnly} apply={apply} />}
    </section>
  );
}

function useHistory(model: HistoryModel): HistorySnapshot {
  return useSyncExternalStore(model.subscribe, model.getSnapshot);
}

function Timeline({ model, client, readOnly, apply }: { model: HistoryModel; client: SyncClient; readOnly: boolean; apply: () => UndoApplier | null }) {
  const s = useHistory(model);
  // null: not chosen yet (shows the head once the first load is done, then stays put).
  const [chosen, setChosen] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<number>(100);
  const [message, setMessage] = useState<string | null>(null);
  const [label, setLabel] = useState('');
  const [compareWith, setCompareWith] = useState<number | null>(null);
  const [tab, setTab] = useState<'view' | 'compare' | 'audit'>('view');
  const viewRef = useRef<HTMLDivElement>(null);
  const textView = useRef<TextView | null>(null);
  const frame = useRef<number | null>(null);
  const drawn = useRef<number>(-1);

  const v = chosen === null ? s.loaded : Math.min(chosen, s.loaded);
  // Once the versions near the head have loaded (older history may still be loading), the
  // view stays at the version it shows: live events move the head (the slider's end), never the view.
  useEffect(() => {
    if (chosen === null && s.ready && s.loaded >= s.head) setChosen(s.loaded);
  }, [chosen, s.ready, s.loaded, s.head]);
  const baseRef = useRef(s.base);
  baseRef.current = s.base;
  const problemRef = useRef(s.problem);
  problemRef.current = s.problem;
  const vRef = useRef(v);
  vRef.current = v;

  // Draw at most once per animation frame, the latest version asked for.
  const draw = () => {
    frame.current = null;
    const el = viewRef.current;
    if (el === null) return;
    const at = vRef.current;
    if (at < baseRef.current) {
      // Not loaded yet: say so instead of text (the version number still shows); drawn when it loads.
      const msg = problemRef.current ?? `Loading the history before version ${baseRef.current}…`;
      if (textView.current !== null || el.textContent !== msg) {
        textView.current?.dispose();
        textView.current = null;
        el.textContent = msg;
        el.dataset.loading = 'true';
        delete el.dataset.version;
      }
      drawn.current = -1;
      return;
    }
    if (textView.current === null) {
      el.textContent = '';
      delete el.dataset.loading;
      textView.current = new TextView(el);
    }
    if (drawn.current === at) return;
    const perf = (window as unknown as { eventideHistoryPerf?: FramePerf[] }).eventideHistoryPerf;
    const t0 = perf ? performance.now() : 0;
    const rope = model.index.ropeAt(at);
    const steps = model.index.lastMove.steps;
    const t1 = perf ? performance.now() : 0;
    const text = rope.toString();
    const runs = rope.authorship();
    const t2 = perf ? performance.now() : 0;
    // Where this version's event changed the text: marked and scrolled to.
    const event = at > 0 ? model.index.eventAt(at) : undefined;
    textView.current.show(text, runs, event !== undefined ? changeRange(event.op) : null);
    drawn.current = at;
    el.dataset.version = String(at);
    if (perf) {
      // Measuring only (the bench sets the array): force style and layout so the figure holds the whole frame's work.
      const t3 = performance.now();
      void el.offsetHeight;
      const t4 = performance.now();
      perf.push({ version: at, steps, ms: t4 - t0, walkMs: t1 - t0, textMs: t2 - t1, domMs: t3 - t2, layoutMs: t4 - t3 });
    }
  };
  useLayoutEffect(() => {
    if (tab !== 'view') {
      textView.current?.dispose();
      textView.current = null;
      drawn.current = -1;
      return;
    }
    if (frame.current === null) frame.current = requestAnimationFrame(draw);
  });
  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  // Play: advance `speed` events per second, one draw per frame.
  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    let acc = 0;
    let id = requestAnimationFrame(function tick(now) {
      acc += ((now - last) / 1000) * speed;
      last = now;
      const step = Math.floor(acc);
      if (step > 0) {
        acc -= step;
        const next = Math.min(vRef.current + step, model.index.head);
        setChosen(next);
        if (next >= model.index.head) {
          setPlaying(false);
          return;
        }
      }
      id = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(id);
  }, [playing, speed, model]);

  const ev = v > 0 ? model.index.eventAt(v) : undefined;
  const choose = (n: number) => {
    setMessage(null);
    setChosen(Math.max(0, Math.min(n, model.index.head)));
  };

  const restore = () => {
    const a = apply();
    if (a === null) return setMessage('The editor is not ready.');
    const op = restoreOp(client.text(), model.index.textAt(v));
    if (op === null) return setMessage(`The document already reads as at version ${v}.`);
    const r = a(op, 'restore', { step: client.nextEventKey(), version: v });
    setMessage(r.ok ? `Restored version ${v} (one new event; undo takes it back).` : `Could not restore: ${r.error.message}`);
  };

  const revertStep = () => {
    if (ev === undefined) return;
    const a = apply();
    if (a === null) return setMessage('The editor is not ready.');
    const head = client.state.confirmedSeq;
    if (model.index.head < head || model.index.base > 0) return setMessage('The history is still loading; try again in a moment.');
    const op = revertStepOp(model, ev, client.state.pending.map((p) => p.event), head);
    if (op === null) return setMessage('That step cannot be reverted: part of it is not loaded.');
    if (op.length === 0) return setMessage('That step has nothing left to revert.');
    const r = a(op, 'restore', { step: client.nextEventKey(), reverts: stepKeyOf(ev) });
    setMessage(r.ok ? `Reverted the step by ${ev.author} (one new event; undo takes it back).` : `Could not revert: ${r.error.message}`);
  };

  const nameVersion = () => {
    const name = label.trim();
    if (name.length === 0) return;
    const r = client.edit([], 'edit', labelMeta(name, v, client.nextEventKey()));
    setMessage(r.ok ? `Named version ${v} “${name.slice(0, MAX_LABEL)}”.` : `Could not name it: ${r.error.message}`);
    if (r.ok) setLabel('');
  };

  const jumpToTime = (value: string) => {
    const t = Date.parse(value);
    if (Number.isNaN(t)) return setMessage('That is not a date and time.');
    choose(model.versionAtTime(t));
  };

  const max = s.loaded;
  const pct = (seq: number) => (max === 0 ? 0 : (seq / max) * 100);
  return (
    <div className="history-timeline">
      {s.problem !== null && (
        <p className="problem" role="alert">
          {s.problem}{' '}
          <button type="button" onClick={() => model.retry()}>
            Retry
          </button>
        </p>
      )}
      {(s.loaded < s.head || s.base > 0) && (
        <p className="history-loading" data-testid="history-loading">
          {s.loaded < s.head ? `Loading the history… up to version ${s.loaded} of ${s.head}` : `Loading older history… versions ${s.base}–${s.loaded} are here`}
        </p>
      )}
      <div className="history-track">
        <input
          type="range"
          data-testid="history-slider"
          aria-label="Version"
          min={0}
          max={max}
          step={1}
          value={v}
          onChange={(e) => choose(Number(e.currentTarget.value))}
        />
        <div className="history-marks" aria-hidden="true">
          {s.sessions.map((x) => (
            <span
              key={`${x.author}-${x.from}`}
              className="history-session"
              title={`${x.author}: events ${x.from}–${x.to}`}
              style={{ left: `${pct(x.from - 1)}%`, width: `${Math.max(0.4, pct(x.to) - pct(x.from - 1))}%`, background: authorColor(x.author) }}
            />
          ))}
          {s.labels.map((l) => (
            <button
              key={l.seq}
              type="button"
              className="history-label-mark"
              data-testid="history-label-mark"
              title={`${l.name} (version ${l.version}, by ${l.author})`}
              style={{ left: `${pct(l.version)}%` }}
              onClick={() => choose(l.version)}
            >
              {l.name}
            </button>
          ))}
        </div>
      </div>
      <div className="history-controls">
        <button type="button" data-testid="history-play" onClick={() => (playing ? setPlaying(false) : (v >= max && choose(0), setPlaying(true)))}>
          {playing ? 'Pause' : 'Play'}
        </button>
        <label>
          Speed{' '}
          <select data-testid="history-speed" value={speed} onChange={(e) => setSpeed(Number(e.currentTarget.value))}>
            {SPEEDS.map((x) => (
              <option key={x} value={x}>
                {x} events/s
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => choose(v - 1)} aria-label="One event back">
          ‹
        </button>
        <button type="button" onClick={() => choose(v + 1)} aria-label="One event forward">
          ›
        </button>
        <label>
          Jump to time <input type="datetime-local" data-testid="history-jump-time" onChange={(e) => jumpToTime(e.currentTarget.value)} />
        </label>
      </div>
      <p className="history-version" data-testid="history-version" data-version={v} data-author={ev?.author ?? ''} data-time={ev?.time ?? ''}>
        Version {v} of {max}
        {ev !== undefined ? (
          <>
            {' · '}
            <span className="swatch" style={{ background: authorColor(ev.author) }} /> {ev.author} · {new Date(ev.time).toLocaleString()} · {ev.kind}
          </>
        ) : v === 0 ? (
          ' · the empty document'
        ) : (
          ' · the history up to this version is still loading'
        )}
      </p>
      <div className="history-actions">
        {!readOnly && (
          <>
            <button type="button" data-testid="history-restore" onClick={restore} disabled={s.loaded < v || v < s.base}>
              Restore this version
            </button>
            <button type="button" data-testid="history-revert-step" onClick={revertStep} disabled={ev === undefined}>
              Revert this step
            </button>
            <input
              data-testid="history-label-input"
              aria-label="Name for this version"
              placeholder="Name this version"
              maxLength={MAX_LABEL}
              value={label}
              onChange={(e) => setLabel(e.currentTarget.value)}
            />
            <button type="button" data-testid="history-label" onClick={nameVersion} disabled={label.trim().length === 0}>
              Name
            </button>
          </>
        )}
        <ExportButtons prefix="history-export" suffix={`-v${v}`} disabled={s.loaded < v || v < s.base} text={() => model.index.textAt(v)} />
        <span className="history-tabs" role="tablist">
          {(['view', 'compare', 'audit'] as const).map((t) => (
            <button key={t} type="button" role="tab" aria-selected={tab === t} data-testid={`history-tab-${t}`} onClick={() => setTab(t)}>
              {t === 'view' ? 'Text' : t === 'compare' ? 'Compare' : 'Events'}
            </button>
          ))}
        </span>
      </div>
      {message !== null && (
        <p className="history-message" data-testid="history-message" role="status">
          {message}
        </p>
      )}
      {tab === 'view' && <div className="history-view" data-testid="history-view" ref={viewRef} tabIndex={0} role="region" aria-label="The text at this version" />}
      {tab === 'compare' && <CompareView model={model} at={v} other={compareWith ?? 0} onOther={setCompareWith} max={max} base={s.base} />}
      {tab === 'audit' && <AuditList model={model} loaded={s.loaded} base={s.base} onPick={(seq) => (choose(seq), setTab('view'))} />}
    </div>
  );
}
