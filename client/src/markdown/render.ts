/**
 * Markdown to safe HTML (issue 16): markdown-it renders, DOMPurify sanitizes, and the
 * result is what the preview shows and what `export-html` saves (spec C14).
 *
 * Defence in depth, because a document's text is anyone's with the edit link:
 *   - markdown-it runs with `html: false`: HTML written in the document is shown as text,
 *     never parsed as markup; its link validation already refuses `javascript:`,
 *     `vbscript:`, `file:` and non-image `data:` URLs.
 *   - DOMPurify then removes any script, event handler, `javascript:` URL, form, frame or
 *     style that got through anyway (a markdown-it bug, a plugin added later).
 *   - Images load only from this origin or `data:image/...`, as the CSP (`img-src 'self'
 *     data:`) allows: any other source is dropped and its alt text kept, so the preview
 *     never trips a CSP violation, and a document cannot ping a server when opened.
 *   - Links open in a new tab with `rel="noopener noreferrer"`.
 * The CSP (server/src/security-headers.ts) stays as it was: no inline script anywhere.
 */
import MarkdownIt from 'markdown-it';
import DOMPurify from 'dompurify';

const md = new MarkdownIt({ html: false, linkify: true, typographer: false });

const SAFE_IMAGE = /^(data:image\/(png|gif|jpeg|webp);|\/(?!\/))/i;

let hooked = false;
function purifier(): typeof DOMPurify {
  if (!hooked) {
    DOMPurify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        if (node.hasAttribute('href')) {
          node.setAttribute('target', '_blank');
          node.setAttribute('rel', 'noopener noreferrer');
        }
      } else if (node.tagName === 'IMG') {
        const src = node.getAttribute('src') ?? '';
        if (!SAFE_IMAGE.test(src)) {
          node.removeAttribute('src');
          node.removeAttribute('srcset');
          node.setAttribute('data-blocked-src', 'true');
        }
      }
    });
    hooked = true;
  }
  return DOMPurify;
}

/** The sanitized HTML of a Markdown text (a fragment: no `<html>`). Needs a DOM (the browser). */
export function renderMarkdown(text: string): string {
  return purifier().sanitize(md.render(text), {
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'svg', 'math'],
    FORBID_ATTR: ['style'],
    ALLOW_DATA_ATTR: false,
    ADD_ATTR: ['target'],
  });
}

/** Escapes text for an HTML text node or a quoted attribute. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * A standalone HTML page of the document: the sanitized body, the title escaped, a small
 * stylesheet, and a CSP of its own (no script at all, no network) for wherever it is opened.
 */
export function standaloneHtml(title: string, text: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;line-height:1.6;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1f2328}' +
      'pre,code{font-family:ui-monospace,monospace;background:#f6f8fa}pre{padding:.75rem;overflow:auto}blockquote{color:#59636e;border-left:.25rem solid #d1d9e0;margin:0;padding-left:1rem}' +
      'img{max-width:100%}@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}pre,code{background:#161b22}}</style>',
    '</head>',
    '<body>',
    renderMarkdown(text),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
