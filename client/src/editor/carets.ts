/**
 * Other people's carets and selections. Their positions (from presence messages, in
 * their live text) live in a state field and are mapped through every change, so a
 * caret stays with its text until the next presence update.
 *
 *   - The caret and the name are drawn in an overlay beside the editor, not inside it,
 *     so reading the editor's text never picks up a name.
 *   - A selection (anchor ≠ head) is a mark decoration in the person's colour over the
 *     selected text (`data-testid="remote-selection"`, the name in `data-name` and the
 *     tooltip): it adds no text, only a background.
 *
 * Names go in as text nodes (textContent) or attribute values, never as HTML; colours are
 * checked before use.
 */
import { StateEffect, StateField, type EditorState, type Range } from '@codemirror/state';
import { Decoration, EditorView, ViewPlugin, type DecorationSet, type PluginValue, type ViewUpdate } from '@codemirror/view';

export interface RemoteCaret {
  readonly client: string;
  readonly name: string;
  readonly color: string;
  readonly anchor: number;
  readonly head: number;
}

/** Replaces the set of carets (positions in the current document, clamped). */
export const setCarets = StateEffect.define<readonly RemoteCaret[]>();

export const caretField = StateField.define<readonly RemoteCaret[]>({
  create: () => [],
  update(carets, tr) {
    let out = carets;
    if (tr.docChanged && out.length > 0) {
      out = out.map((c) => ({ ...c, anchor: tr.changes.mapPos(c.anchor, 1), head: tr.changes.mapPos(c.head, 1) }));
    }
    for (const e of tr.effects) if (e.is(setCarets)) out = clampAll(e.value, tr.state);
    return out;
  },
});

function clampAll(carets: readonly RemoteCaret[], state: EditorState): RemoteCaret[] {
  const n = state.doc.length;
  const clamp = (p: number) => Math.max(0, Math.min(n, Math.floor(p)));
  return carets.map((c) => ({ ...c, anchor: clamp(c.anchor), head: clamp(c.head) }));
}

/** A CSS colour we are willing to put in a style: #rgb(a), #rrggbb(aa), or hsl()/rgb() with numbers. */
export function safeColor(c: string): string {
  if (/^#[0-9a-fA-F]{3,8}$/.test(c)) return c;
  if (/^(hsl|rgb)a?\(\s*[\d.]+(deg)?%?\s*,?\s*[\d.]+%?\s*,?\s*[\d.]+%?\s*([,/]\s*[\d.]+%?\s*)?\)$/.test(c)) return c;
  return '#6e7781';
}

/** Draws the carets into `overlay`, an element positioned over the editor's parent. */
export function caretOverlay(overlay: HTMLElement) {
  return ViewPlugin.fromClass(
    class implements PluginValue {
      private readonly els = new Map<string, HTMLElement>();
      private readonly onScroll = () => this.schedule();
      constructor(private readonly view: EditorView) {
        view.scrollDOM.addEventListener('scroll', this.onScroll);
        this.schedule();
      }
      update(u: ViewUpdate) {
        if (u.docChanged || u.geometryChanged || u.viewportChanged || u.startState.field(caretField) !== u.state.field(caretField)) {
          this.schedule();
        }
      }
      schedule() {
        // No one else's caret, none drawn: nothing to measure (this ran in every keystroke's frame).
        if (this.els.size === 0 && this.view.state.field(caretField).length === 0) return;
        this.view.requestMeasure({
          key: this,
          read: (view) => {
            const box = overlay.getBoundingClientRect();
            const scroller = view.scrollDOM.getBoundingClientRect();
            return view.state.field(caretField).map((c) => {
              const coords = view.coordsAtPos(c.head, c.head > 0 ? -1 : 1);
              const visible = coords !== null && coords.bottom > scroller.top && coords.top < scroller.bottom;
              return { c, coords: coords && { left: coords.left - box.left, top: coords.top - box.top, height: coords.bottom - coords.top }, visible };
            });
          },
          write: (measured) => this.draw(measured),
        });
      }
      draw(measured: { c: RemoteCaret; coords: { left: number; top: number; height: number } | null; visible: boolean }[]) {
        const seen = new Set<string>();
        for (const { c, coords, visible } of measured) {
          seen.add(c.client);
          let el = this.els.get(c.client);
          if (!el) {
            el = document.createElement('div');
            el.className = 'remote-caret';
            el.setAttribute('data-testid', 'remote-caret');
            el.setAttribute('aria-hidden', 'true');
            const label = document.createElement('span');
            label.className = 'remote-caret-name';
            el.appendChild(label);
            overlay.appendChild(el);
            this.els.set(c.client, el);
          }
          const label = el.firstChild as HTMLElement;
          if (label.textContent !== c.name) label.textContent = c.name;
          el.dataset.client = c.client;
          el.style.setProperty('--caret-color', safeColor(c.color));
          if (coords) {
            el.style.transform = `translate(${Math.round(coords.left)}px, ${Math.round(coords.top)}px)`;
            el.style.height = `${Math.max(12, Math.round(coords.height))}px`;
          }
          el.style.visibility = coords && visible ? 'visible' : 'hidden';
        }
        for (const [client, el] of this.els) {
          if (seen.has(client)) continue;
          el.remove();
          this.els.delete(client);
        }
      }
      destroy() {
        this.view.scrollDOM.removeEventListener('scroll', this.onScroll);
        for (const el of this.els.values()) el.remove();
        this.els.clear();
      }
    },
  );
}

/** Others' selections as marks in their colours (carets without a range add nothing). */
export const selectionDecorations = EditorView.decorations.compute([caretField], (state): DecorationSet => {
  const marks: Range<Decoration>[] = [];
  for (const c of state.field(caretField)) {
    if (c.anchor === c.head) continue;
    const color = safeColor(c.color);
    marks.push(
      Decoration.mark({
        class: 'remote-selection',
        attributes: {
          'data-testid': 'remote-selection',
          'data-client': c.client,
          'data-name': c.name,
          title: c.name,
          style: `background-color: color-mix(in srgb, ${color} 28%, transparent)`,
        },
      }).range(Math.min(c.anchor, c.head), Math.max(c.anchor, c.head)),
    );
  }
  return Decoration.set(marks, true);
});

export function caretExtensions(overlay: HTMLElement) {
  return [caretField, caretOverlay(overlay), selectionDecorations];
}

/** For tests: the carets as the editor holds them. */
export function caretsOf(view: EditorView): readonly RemoteCaret[] {
  return view.state.field(caretField);
}
