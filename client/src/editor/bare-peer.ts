/**
 * The peer of the keypress measure (e2e/large-doc.spec.ts, spec C22): CodeMirror with the
 * same look and the same Markdown styling as the document's editor, holding a given text, and
 * nothing of ours around it: no sync client, no store, no React, no presence, no history.
 * Typing into both in one run, the same keys at the same times, tells what our app adds to a
 * keystroke's frame and what the display and CodeMirror cost anyway.
 *
 * Measuring only: main.tsx mounts it instead of the app when the page was opened with
 * `window.eventideBarePeer` set (an init script of the test), and loads it as its own chunk,
 * so the app's bundle does not carry it.
 */
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { markdownEditing } from '../markdown/markdown-editing.js';
import { editorLook } from './binding.js';

/**
 * Mounts the bare editor holding `text` into `root`, inside the same nesting of classes as the
 * document page's editor (so the page's CSS sets it in the same column width and font), and
 * returns its view. The editor element carries `data-testid="editor"` like the app's.
 */
export function mountBarePeer(root: HTMLElement, text: string): EditorView {
  let at = root;
  for (const cls of ['app', 'document', 'doc-layout', 'doc-panes', 'source-pane', 'editor-frame']) {
    const el = document.createElement(cls === 'document' ? 'section' : 'div');
    el.className = cls;
    at.appendChild(el);
    at = el;
  }
  const parent = document.createElement('div');
  parent.className = 'editor';
  parent.dataset.testid = 'editor';
  at.appendChild(parent);
  const view = new EditorView({ parent, state: EditorState.create({ doc: text, extensions: [editorLook, markdownEditing()] }) });
  (parent as unknown as { eventide?: { text(): string } }).eventide = { text: () => view.state.doc.toString() };
  return view;
}
