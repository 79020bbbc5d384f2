/**
 * A document's title (issue 16, spec C13): the text of its first Markdown heading (ATX,
 * `# Title`, any level) within the first `TITLE_SCAN` characters, else its first non-blank
 * line that is not an empty heading; trimmed, at most `MAX_TITLE` characters; '' for a blank document. The page shows it
 * (`doc-title`), the browser tab carries it, and the list on `/` stores it.
 *
 * Always plain text: it is shown through React's text nodes and escaped in exports, never
 * parsed as HTML.
 */

/** How far into the text the title is looked for (the list stores it from the live text). */
export const TITLE_SCAN = 4000;
export const MAX_TITLE = 120;

const HEADING = /^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/;
/** A heading with no text (`#`, `## `): no title. */
const EMPTY_HEADING = /^#{1,6}$/;

function cap(s: string): string {
  return s.length > MAX_TITLE ? s.slice(0, MAX_TITLE) : s;
}

export function documentTitle(text: string): string {
  const head = text.length > TITLE_SCAN ? text.slice(0, TITLE_SCAN) : text;
  const lines = head.split('\n');
  // The last line may be cut at TITLE_SCAN: a heading there is still a heading.
  for (const line of lines) {
    const m = HEADING.exec(line);
    if (m && m[1].trim() !== '') return cap(m[1].trim());
  }
  for (const line of lines) {
    const t = line.trim();
    if (t !== '' && !EMPTY_HEADING.test(t)) return cap(t);
  }
  return '';
}
