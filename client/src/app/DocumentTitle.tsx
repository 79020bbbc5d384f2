/**
 * The open document's title (spec C13, markdown/title.ts): the page's heading
 * (`doc-title`) and the browser tab's title, following edits from anyone. Text only.
 */
import { useEffect, useMemo } from 'react';
import { TITLE_SCAN, documentTitle } from '../markdown/title.js';
import { useLiveText, type LiveTextSource } from '../markdown/live-text.js';

const APP = 'Eventide';

/** What the title needs of the sync client (`SyncClient` fits): only the text's head. */
export interface TitleSource {
  textHead(n: number): string;
  subscribe(f: () => void): () => void;
}

export function DocumentTitle({ client }: { client: TitleSource }) {
  // Only the head is read: the whole text of a long document, every 250 ms of typing, is work
  // that lands in some keystroke's frame for nothing.
  const head = useMemo<LiveTextSource>(() => ({ text: () => client.textHead(TITLE_SCAN), subscribe: client.subscribe }), [client]);
  const text = useLiveText(head, true, 250);
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
