/**
 * The open document's live text for views derived from it (title, preview), read at most
 * once per `delayMs` while edits stream in, so a large document or a fast typist costs
 * the derived view one render per interval, never one per keystroke; the last change is
 * always shown.
 */
import { useEffect, useState } from 'react';

/** What the hook needs of the sync client (`SyncClient` fits). */
export interface LiveTextSource {
  text(): string;
  subscribe(f: () => void): () => void;
}

export function useLiveText(client: LiveTextSource, enabled = true, delayMs = 150): string {
  const [text, setText] = useState(() => (enabled ? client.text() : ''));
  useEffect(() => {
    if (!enabled) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    const read = () => {
      timer = null;
      setText(client.text());
    };
    read();
    const off = client.subscribe(() => {
      if (timer === null) timer = setTimeout(read, delayMs);
    });
    return () => {
      off();
      if (timer !== null) clearTimeout(timer);
    };
  }, [client, enabled, delayMs]);
  return text;
}
