/**
 * Downloads of a document's text (issue 16, spec C15): as Markdown (`.md`, the text as
 * it is), as plain text (`.txt`, the same units) and as a standalone sanitized HTML page
 * (`.html`, render.ts `standaloneHtml`). The file name comes from the title, reduced to
 * safe characters.
 */
import { standaloneHtml } from './render.js';

export type ExportFormat = 'md' | 'html' | 'txt';

const TYPES: Record<ExportFormat, string> = {
  md: 'text/markdown;charset=utf-8',
  html: 'text/html;charset=utf-8',
  txt: 'text/plain;charset=utf-8',
};

/** A file name from a title: letters, digits, '-', '_' and '.', at most 60; 'document' when none is left. */
export function fileNameOf(title: string, format: ExportFormat, suffix = ''): string {
  const base = title
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 60);
  return `${base === '' ? 'document' : base}${suffix}.${format}`;
}

/** The file's contents. */
export function exportContents(format: ExportFormat, title: string, text: string): string {
  return format === 'html' ? standaloneHtml(title === '' ? 'Untitled' : title, text) : text;
}

/** Starts the browser's download of the document in `format`. */
export function downloadDocument(format: ExportFormat, title: string, text: string, suffix = ''): void {
  const url = URL.createObjectURL(new Blob([exportContents(format, title, text)], { type: TYPES[format] }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileNameOf(title, format, suffix);
  document.body.appendChild(a);
  a.click();
  a.remove();
  // After the click has been handled: the download keeps its own reference.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
