/**
 * The editor as a Markdown editor (issue 16): CodeMirror's Markdown language styles
 * headings, emphasis, lists, links, quotes and code in place; prose is set in a
 * proportional font, code in monospace; the formatting keys (format.ts) and CodeMirror's
 * search panel (find and replace, Mod-F) are bound.
 *
 * Only presentation and commands: the text stays the document's plain text, unit for
 * unit (C6). Replacing through the search panel is a transaction with the userEvent
 * `input.replace`, so each replace is one event and one undo step like any other edit.
 */
import type { Extension } from '@codemirror/state';
import { EditorView, keymap, type KeyBinding } from '@codemirror/view';
import { markdown } from '@codemirror/lang-markdown';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { search, searchKeymap } from '@codemirror/search';
import { tags as t } from '@lezer/highlight';
import { formatSpec, type FormatKind } from './format.js';

/** Prose: the system's proportional font. Code: monospace. */
export const PROSE_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
export const CODE_FONT = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace";

/** Colours come from CSS variables (app.css), so dark mode follows the system. */
const markdownStyle = HighlightStyle.define([
  { tag: t.heading1, fontSize: '1.6em', fontWeight: '700' },
  { tag: t.heading2, fontSize: '1.35em', fontWeight: '700' },
  { tag: t.heading3, fontSize: '1.15em', fontWeight: '700' },
  { tag: [t.heading4, t.heading5, t.heading6], fontWeight: '700' },
  { tag: t.strong, fontWeight: '700' },
  { tag: t.emphasis, fontStyle: 'italic' },
  { tag: t.strikethrough, textDecoration: 'line-through' },
  { tag: t.link, color: 'var(--link)', textDecoration: 'underline' },
  { tag: t.url, color: 'var(--muted)' },
  { tag: t.quote, color: 'var(--muted)', fontStyle: 'italic' },
  { tag: t.monospace, fontFamily: CODE_FONT, fontSize: '0.92em', color: 'var(--code)' },
  { tag: [t.processingInstruction, t.meta, t.contentSeparator], color: 'var(--muted)' },
  { tag: t.list, color: 'var(--text)' },
]);

/** Runs a formatting command on the view (always handled: the key never reaches the browser). */
export function runFormat(view: EditorView, kind: FormatKind): boolean {
  if (view.state.readOnly) return false;
  view.dispatch(formatSpec(view.state, kind));
  return true;
}

/** The formatting keys, as shown in the toolbar's titles. */
export const FORMAT_KEYS: Readonly<Record<FormatKind, string>> = {
  bold: 'Mod-b',
  italic: 'Mod-i',
  link: 'Mod-k',
  heading1: 'Mod-Alt-1',
  heading2: 'Mod-Alt-2',
  heading3: 'Mod-Alt-3',
  list: 'Mod-Shift-8',
};

const formatKeymap: KeyBinding[] = (Object.keys(FORMAT_KEYS) as FormatKind[]).map((kind) => ({
  key: FORMAT_KEYS[kind],
  run: (view) => runFormat(view, kind),
  preventDefault: true,
}));

/** Everything the editor needs to be a Markdown editor. */
export function markdownEditing(): Extension {
  return [
    // No Markdown keymap: Enter and Backspace stay plain edits (no list continuation behind the typist's back).
    // `window.eventideNoParse` (measuring only, e2e/large-doc.spec.ts E2E_NO_PARSE=1): no Markdown parse or highlight,
    // to tell their cost from the prose font's, the keys' and the search panel's.
    ...((window as { eventideNoParse?: boolean }).eventideNoParse === true ? [] : [markdown({ addKeymap: false }), syntaxHighlighting(markdownStyle)]),
    search({ top: true }),
    keymap.of([...formatKeymap, ...searchKeymap]),
    EditorView.theme({
      '.cm-content': { fontFamily: PROSE_FONT, fontSize: '1rem', lineHeight: '1.6' },
      '.cm-panels': { fontFamily: PROSE_FONT },
    }),
  ];
}
