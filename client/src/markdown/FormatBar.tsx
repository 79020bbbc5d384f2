/**
 * The formatting toolbar (issue 16): bold, italic, link, heading, list, and find. Each
 * button runs the same command as its key (format.ts), one transaction and so one undo
 * step; the buttons keep the editor's focus and selection (mousedown does not blur it).
 *
 * Test hooks: `format-bold`, `format-italic`, `format-link`, `format-heading`,
 * `format-list`, `find-open`.
 */
import type { EditorView } from '@codemirror/view';
import { openSearchPanel } from '@codemirror/search';
import { FORMAT_KEYS, runFormat } from './markdown-editing.js';
import type { FormatKind } from './format.js';

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform);

/** "Mod-Alt-1" as the person's keyboard says it. */
function keyLabel(key: string): string {
  const parts = key.split('-');
  return parts
    .map((p) => (p === 'Mod' ? (isMac ? '⌘' : 'Ctrl') : p === 'Alt' ? (isMac ? '⌥' : 'Alt') : p.length === 1 ? p.toUpperCase() : p))
    .join(isMac ? '' : '+');
}

const BUTTONS: readonly { kind: FormatKind; testId: string; label: string; text: string; className?: string }[] = [
  { kind: 'bold', testId: 'format-bold', label: 'Bold', text: 'B', className: 'fmt-bold' },
  { kind: 'italic', testId: 'format-italic', label: 'Italic', text: 'I', className: 'fmt-italic' },
  { kind: 'link', testId: 'format-link', label: 'Link', text: 'Link' },
  { kind: 'heading1', testId: 'format-heading', label: 'H1 heading', text: 'H1' },
  { kind: 'heading2', testId: 'format-heading2', label: 'H2 subheading', text: 'H2' },
  { kind: 'list', testId: 'format-list', label: 'Bulleted list', text: '• List' },
];

export function FormatBar({ view }: { view: () => EditorView | null }) {
  const run = (kind: FormatKind) => {
    const v = view();
    if (v === null) return;
    runFormat(v, kind);
    v.focus();
  };
  return (
    <div className="format-bar" role="toolbar" aria-label="Formatting">
      {BUTTONS.map((b) => (
        <button
          key={b.kind}
          type="button"
          className={`format-button ${b.className ?? ''}`}
          data-testid={b.testId}
          aria-label={b.label}
          title={`${b.label} (${keyLabel(FORMAT_KEYS[b.kind])})`}
          onMouseDown={(e) => e.preventDefault()}
          onClick={() => run(b.kind)}
        >
          {b.text}
        </button>
      ))}
      <button
        type="button"
        className="format-button"
        data-testid="find-open"
        aria-label="Find and replace"
        title={`Find and replace (${keyLabel('Mod-f')})`}
        onMouseDown={(e) => e.preventDefault()}
        onClick={() => {
          const v = view();
          if (v !== null) openSearchPanel(v);
        }}
      >
        Find
      </button>
    </div>
  );
}
