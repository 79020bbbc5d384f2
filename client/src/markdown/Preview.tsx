/**
 * The rendered document (issue 16, spec C14): the live text through `renderMarkdown`
 * (markdown-it, then DOMPurify), following edits from here and from others. Only
 * sanitized HTML reaches the DOM; nothing in it can run.
 *
 * Test hook: `preview`.
 */
import { useMemo } from 'react';
import { renderMarkdown } from './render.js';

export function Preview({ text }: { text: string }) {
  const html = useMemo(() => renderMarkdown(text), [text]);
  return (
    <article
      className="preview markdown-body"
      data-testid="preview"
      aria-label="Preview"
      tabIndex={0}
      // Sanitized by DOMPurify in renderMarkdown; markdown-it runs with html: false.
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
