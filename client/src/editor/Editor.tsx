import { useEffect, useRef } from 'react';
import type { PeerInfo, SyncClient } from '../sync/sync-client.js';
import { bindEditor, type BoundEditor } from './binding.js';

/** Test hook on the editor element: what the editor shows and what the document holds. */
export interface EditorProbe {
  text(): string;
  live(): string;
  confirmedSeq(): number;
}

export function Editor({ client, peers, onResync }: { client: SyncClient; peers: readonly PeerInfo[]; onResync?: (why: string) => void }) {
  const parent = useRef<HTMLDivElement>(null);
  const overlay = useRef<HTMLDivElement>(null);
  const bound = useRef<BoundEditor | null>(null);
  const resync = useRef(onResync);
  resync.current = onResync;

  useEffect(() => {
    const p = parent.current;
    const o = overlay.current;
    if (!p || !o) return;
    const b = bindEditor({ parent: p, overlay: o, client, onResync: (why) => resync.current?.(why) });
    bound.current = b;
    const probe: EditorProbe = {
      text: () => b.view.state.doc.toString(),
      live: () => client.text(),
      confirmedSeq: () => client.state.confirmedSeq,
    };
    (p as unknown as { eventide?: EditorProbe }).eventide = probe;
    if (document.activeElement === document.body) b.view.focus();
    return () => {
      delete (p as unknown as { eventide?: EditorProbe }).eventide;
      bound.current = null;
      b.destroy();
    };
  }, [client]);

  useEffect(() => {
    bound.current?.setCarets(
      peers
        .filter((p) => p.cursor !== null)
        .map((p) => ({ client: p.client, name: p.user.name, color: p.user.color, anchor: p.cursor!.anchor, head: p.cursor!.head })),
    );
  }, [peers, client]);

  return (
    <div className="editor-frame">
      <div className="editor" data-testid="editor" ref={parent} />
      <div className="caret-overlay" ref={overlay} />
    </div>
  );
}
