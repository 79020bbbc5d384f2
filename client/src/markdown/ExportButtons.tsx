/**
 * The export buttons (issue 16): Markdown, HTML (standalone, sanitized) and text, of
 * whatever text `text()` gives when clicked (the live document, or the version the
 * history panel shows). Test hooks: the group `${prefix}` (`export`, `history-export`)
 * and its buttons `${prefix}-md`, `${prefix}-html`, `${prefix}-txt`.
 */
import { documentTitle } from './title.js';
import { downloadDocument, type ExportFormat } from './export.js';

const LABELS: Record<ExportFormat, string> = { md: 'Markdown', html: 'HTML', txt: 'Text' };

export function ExportButtons({
  text,
  prefix = 'export',
  suffix = '',
  disabled = false,
}: {
  text: () => string;
  /** The buttons' test ids are `${prefix}-md` etc.; the group's is `prefix`. */
  prefix?: string;
  /** Added to the file name (the history panel's `-v12`). */
  suffix?: string;
  disabled?: boolean;
}) {
  const run = (f: ExportFormat) => {
    const t = text();
    downloadDocument(f, documentTitle(t), t, suffix);
  };
  return (
    <div className="export-buttons" role="group" aria-label="Download" data-testid={prefix}>
      <span className="export-label">Download</span>
      {(['md', 'html', 'txt'] as const).map((f) => (
        <button key={f} type="button" className="secondary" data-testid={`${prefix}-${f}`} disabled={disabled} onClick={() => run(f)} title={`Download as ${LABELS[f]} (.${f})`}>
          .{f}
        </button>
      ))}
    </div>
  );
}
