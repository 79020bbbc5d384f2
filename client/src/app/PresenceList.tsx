/**
 * Who is here: this person first, then everyone else connected to the document, each
 * with their name and colour as presence last gave them (a rename shows at once).
 *
 *   - One entry per client id (the sync client keys peers by it), so a reconnect that
 *     briefly overlaps its old connection never shows a person twice.
 *   - Another tab of this browser is a different client (its own slot) under the same
 *     name: it is marked "(you, another tab)" rather than passing for someone else.
 *   - Names are text, never HTML; an empty name shows as "(no name)"; a colour that is
 *     not #rrggbb falls back to grey.
 */
import { useSyncExternalStore } from 'react';
import type { User } from '../../../shared/src/index.js';
import type { PeerInfo, SyncClient } from '../sync/sync-client.js';

const GREY = '#6e7781';

function colorOf(c: string): string {
  return /^#[0-9a-fA-F]{6}$/.test(c) ? c : GREY;
}

/** The browser part of a client id made by slot.ts (`<browserId>-<slot>`). */
export function browserOf(client: string): string {
  const i = client.lastIndexOf('-');
  return i > 0 ? client.slice(0, i) : client;
}

/** The others in display order: by name, then by client id (stable between updates). */
export function orderPeers(peers: readonly PeerInfo[]): PeerInfo[] {
  return [...peers].sort((a, b) => (a.user.name < b.user.name ? -1 : a.user.name > b.user.name ? 1 : a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
}

export function PresenceList({ client, user }: { client: SyncClient; user: User }) {
  const s = useSyncExternalStore(client.subscribe, client.getSnapshot);
  const mine = browserOf(client.client);
  return (
    <div className="presence" data-testid="presence" aria-label="Who is here">
      <span className="presence-label">Here:</span>
      <span className="person self" data-testid="presence-self" style={{ borderColor: colorOf(user.color) }}>
        <span className="swatch" style={{ background: colorOf(user.color) }} />
        {user.name} (you)
      </span>
      {orderPeers(s.peers).map((p) => {
        const sameBrowser = browserOf(p.client) === mine;
        const color = colorOf(p.user.color);
        return (
          <span
            key={p.client}
            className="person"
            data-testid="presence-user"
            data-client={p.client}
            data-color={color}
            data-self={sameBrowser ? 'true' : undefined}
            style={{ borderColor: color }}
          >
            <span className="swatch" style={{ background: color }} />
            {p.user.name.trim() === '' ? '(no name)' : p.user.name}
            {sameBrowser ? ' (you, another tab)' : ''}
          </span>
        );
      })}
    </div>
  );
}
