/**
 * The export buttons (issue 16): Markdown, HTML (standalone, sanitized) and text, of
 * whatever text `text()` gives when clicked (the live document, or the version the
 * history panel shows). Test hooks: `${prefix}-md`, `${prefix}-html`, `${prefix}-txt`,
 * and for the history panel's single menu `history-export` (a select).
 */
import { documentTitle } from './title.js';
import { downloadDocument, type ExportFormat } from './export.js';

const LABELS: Record<ExportFormat, string> = { md: 'Markdown', html: 'HTML', txt: 'Text' };

export function ExportButtons({ text, prefix = 'export', suffix = '' }: { text: () => string; prefix?: string; suffix?: string }) {
  const run = (f: ExportFormat) => {
    const t = text();
    downloadDocument(f, documentTitle(t), t, suffix);
  };
  return (
    <div className="export-buttons" role="group" aria-label="Download">
      <span className="export-label">Download</span>
      {(['md', 'html', 'txt'] as const).map((f) => (
        <button key={f} type="button" className="secondary" data-testid={`${prefix}-${f}`} onClick={() => run(f)} title={`Download as ${LABELS[f]} (.${f})`}>
          .{f}
        </button>
      ))}
    </div>
  );
}
