/**
 * The open document's title (spec C13, markdown/title.ts): the page's heading
 * (`doc-title`) and the browser tab's title, following edits from anyone. Text only.
 */
import { useEffect } from 'react';
import { documentTitle } from '../markdown/title.js';
import { useLiveText, type LiveTextSource } from '../markdown/live-text.js';

const APP = 'Eventide';

export function DocumentTitle({ client }: { client: LiveTextSource }) {
  const text = useLiveText(client, true, 250);
  const title = documentTitle(text);
  useEffect(() => {
    document.title = title === '' ? `Untitled · ${APP}` : `${title} · ${APP}`;
  }, [title]);
  useEffect(
    () => () => {
      document.title = APP;
    },
    [],
  );
  return (
    <h2 className={title === '' ? 'doc-heading untitled' : 'doc-heading'} data-testid="doc-title">
      {title === '' ? 'Untitled' : title}
    </h2>
  );
}
