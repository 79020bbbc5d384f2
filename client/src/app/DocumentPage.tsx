import { useEffect, useRef, useState, useSyncExternalStore, type ReactNode } from 'react';
import { produce } from 'immer';
import { docLink, viewTokenOf, type Role, type User } from '../../../shared/src/index.js';
import { pageStore } from '../local/open-store.js';
import { SyncClient, type SyncSnapshot } from '../sync/sync-client.js';
import { Editor } from '../editor/Editor.js';
import { useUndoController } from '../undo/UndoBar.js';
import type { UndoApplier } from '../undo/undo-controller.js';
import { HistorySection } from '../history/HistorySection.js';
import { COLORS, MAX_NAME, authorOf, useIdentity } from './identity.js';
import { heldLink, rememberLink, trustedLocally } from './links.js';
import { PresenceList } from './PresenceList.js';
import { StorageNotice } from './StorageNotice.js';
import { BaseAheadRecovery, useStartOver, type StartOver } from './BaseAheadRecovery.js';
import { DocumentTitle } from './DocumentTitle.js';
import { ShareLinks } from './ShareLinks.js';
import { StrandedEdits } from './StrandedEdits.js';
import { useLiveText } from '../markdown/live-text.js';
import { Preview } from '../markdown/Preview.js';
import { ExportButtons } from '../markdown/ExportButtons.js';

/** The capability of the page's link (its fragment), null when it has none. */
export type Capability = { readonly role: Role; readonly token: string };

/**
 * A document page. Without a token in the URL it shows nothing of the document; with one
 * it opens the document, read-only for a view link. A link this browser already holds (it
 * created the document, or the server accepted the link before) opens from the local copy
 * at once, offline too; any other link shows the document only once the server's welcome
 * has accepted its token (docs/security.md).
 */
export function DocumentPage({ docId, capability }: { docId: string; capability: Capability | null }) {
  if (capability === null) {
    return (
      <section className="document" aria-label="Document" data-testid="no-access">
        <p className="problem">This link has no access token: ask for the document's edit or view link.</p>
      </section>
    );
  }
  return <DocumentView docId={docId} capability={capability} />;
}

function NoAccess() {
  return (
    <section className="document" aria-label="Document" data-testid="no-access">
      <p className="problem" role="alert">
        This link does not give access to this document.
      </p>
    </section>
  );
}

/**
 * Shows `children` once the link is good: at once if trusted locally, else after the
 * server's welcome; nothing at all after an access-denied. Remembers an accepted link.
 */
function AccessGate({ client, trusted, docId, capability, children }: { client: SyncClient | null; trusted: boolean; docId: string; capability: Capability; children: ReactNode }) {
  if (client === null) return trusted ? children : <p className="empty">Opening…</p>;
  return (
    <ClientGate client={client} trusted={trusted} docId={docId} capability={capability}>
      {children}
    </ClientGate>
  );
}

function ClientGate({ client, trusted, docId, capability, children }: { client: SyncClient; trusted: boolean; docId: string; capability: Capability; children: ReactNode }) {
  const s = useSnapshot(client);
  useEffect(() => {
    if (s.role !== null) rememberLink(docId, { role: s.role, token: capability.token });
  }, [s.role, docId, capability.token]);
  if (s.fatalCode === 'access-denied') {
    // A link this browser used before may have been replaced meanwhile: edits made with it and not
    // sent are offered (C21). A link never accepted has none (its page shows no editor before the welcome).
    return (
      <>
        <NoAccess />
        <StrandedEdits client={client} />
      </>
    );
  }
  if (!trusted && s.role === null) return <p className="empty">Checking the link…</p>;
  return children;
}

function DocumentView({ docId, capability }: { docId: string; capability: Capability }) {
  const [user, setUser] = useIdentity();
  const [trusted] = useState(() => trustedLocally(docId, capability));
  const readOnly = capability.role === 'view';
  const [client, setClient] = useState<SyncClient | null>(null);
  const [openError, setOpenError] = useState<string | null>(null);
  const userRef = useRef(user);
  userRef.current = user;
  const startOver = useStartOver();
  const prepareRef = useRef(startOver.prepare);
  prepareRef.current = startOver.prepare;

  useEffect(() => {
    let cancelled = false;
    let opened: SyncClient | null = null;
    void (async () => {
      try {
        const { store, error } = await pageStore();
        const held = heldLink(docId);
        // Only the browser that created the document may register it (its first hello, maybe much later if it was made offline).
        const create = held !== null && held.created === true && held.role === 'edit' && held.token === capability.token;
        const c = await SyncClient.open({ docId, user: userRef.current, author: authorOf(userRef.current.name), store, storageError: error, token: capability.token, create });
        opened = c;
        // After a start-over ("put my version on the server"): make the text ours before showing it.
        await prepareRef.current(c);
        if (cancelled) {
          void c.close();
          return;
        }
        setClient(c);
      } catch (e) {
        if (!cancelled) setOpenError((e as Error).message);
      }
    })();
    const flush = () => opened?.pageHidden();
    const onVisibility = () => {
      if (document.visibilityState === 'hidden') flush();
    };
    window.addEventListener('pagehide', flush);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      cancelled = true;
      window.removeEventListener('pagehide', flush);
      document.removeEventListener('visibilitychange', onVisibility);
      void opened?.close();
      setClient(null);
    };
  }, [docId, capability.token, startOver.generation]);

  useEffect(() => {
    client?.setUser(user);
  }, [client, user]);

  const editLink = capability.role === 'edit' ? docLink(location.origin, docId, 'edit', capability.token) : null;
  const viewLink = docLink(location.origin, docId, 'view', capability.role === 'edit' ? viewTokenOf(capability.token) : capability.token);

  return (
    <AccessGate client={client} trusted={trusted} docId={docId} capability={capability}>
    <section className="document" aria-label="Document" data-read-only={readOnly ? 'true' : 'false'}>
      <div className="document-bar">
        {client ? <DocumentTitle client={client} /> : <h2 data-testid="doc-title">Document</h2>}
        {client ? <Status client={client} /> : <span className="sync-status" data-testid="sync-status" data-state="offline" data-pending="0">Opening…</span>}
      </div>
      <div className="document-meta">
        <IdentityEditor user={user} onChange={setUser} />
        {client && <PresenceList client={client} user={user} />}
        <ShareLinks docId={docId} editLink={editLink} viewLink={viewLink} client={client} />
        {readOnly && (
          <span className="read-only-badge" data-testid="read-only">
            View only
          </span>
        )}
      </div>
      {openError && <p className="problem">This document could not be opened: {openError}</p>}
      {startOver.problem && <p className="problem" role="alert" data-testid="start-over-problem">{startOver.problem}</p>}
      {client && <DocumentEditor client={client} readOnly={readOnly} startOver={startOver} />}
    </section>
    </AccessGate>
  );
}

function useSnapshot(client: SyncClient): SyncSnapshot {
  return useSyncExternalStore(client.subscribe, client.getSnapshot);
}

/** What the editor's part of the page shows of the snapshot: not the outbox size nor the status. */
type EditorPart = Pick<SyncSnapshot, 'peers' | 'role' | 'errors' | 'fatal' | 'fatalCode'>;

/**
 * The snapshot's `EditorPart`, a new object only when one of its fields changed. The outbox
 * size and the status change with every keystroke (and again at its ack); read through the
 * whole snapshot they re-rendered the editor's whole subtree twice per key, inside the key's
 * handling, before its paint (spec C22). Only `Status` and `StorageNotice` show them.
 */
function useEditorPart(client: SyncClient): EditorPart {
  const last = useRef<EditorPart | null>(null);
  const read = () => {
    const s = client.getSnapshot();
    const p = last.current;
    if (p !== null && p.peers === s.peers && p.role === s.role && p.errors === s.errors && p.fatal === s.fatal && p.fatalCode === s.fatalCode) return p;
    last.current = { peers: s.peers, role: s.role, errors: s.errors, fatal: s.fatal, fatalCode: s.fatalCode };
    return last.current;
  };
  return useSyncExternalStore(client.subscribe, read);
}

/** The storage notice with its own subscription: it shows the outbox size, which the editor's part does not follow. */
function ClientStorageNotice({ client }: { client: SyncClient }) {
  return <StorageNotice snapshot={useSnapshot(client)} />;
}

const STATUS_TEXT = { online: 'Saved', syncing: 'Syncing…', slow: 'Server busy: sending slower', offline: 'Offline' } as const;

function Status({ client }: { client: SyncClient }) {
  const s = useSnapshot(client);
  const pendingText = s.pending > 0 ? ` · ${s.pending} unsent` : '';
  return (
    <span className={`sync-status ${s.status}`} data-testid="sync-status" data-state={s.status} data-pending={s.pending} role="status">
      {STATUS_TEXT[s.status]}
      {pendingText}
    </span>
  );
}

function DocumentEditor({ client, readOnly, startOver }: { client: SyncClient; readOnly: boolean; startOver: StartOver }) {
  const s = useEditorPart(client);
  const [resyncs, setResyncs] = useState<string[]>([]);
  const undo = useUndoController(client);
  const applier = useRef<UndoApplier | null>(null);
  // A view link: no undo at all (no buttons, and the keys do nothing), and no typing.
  const viewOnly = readOnly || s.role === 'view';
  const last = s.errors.length > 0 ? s.errors[s.errors.length - 1] : null;
  const [preview, setPreview] = useState(false);
  const text = useLiveText(client, preview);
  return (
    <>
      <div className="document-actions">
        <button
          type="button"
          className="secondary"
          data-testid="preview-toggle"
          aria-pressed={preview}
          aria-controls={preview ? 'document-preview' : undefined}
          onClick={() => setPreview((p) => !p)}
        >
          {preview ? 'Hide preview' : 'Preview'}
        </button>
        <ExportButtons text={() => client.text()} />
      </div>
      {s.fatalCode === 'base-ahead' ? (
        <BaseAheadRecovery client={client} startOver={startOver} canWrite={!viewOnly} />
      ) : (
        s.fatal && (
          <>
            <p className="problem" role="alert" data-testid="fatal" data-code={s.fatalCode ?? ''}>
              {s.fatal}
            </p>
            {s.fatalCode === 'links-replaced' && <StrandedEdits client={client} />}
          </>
        )
      )}
      <ClientStorageNotice client={client} />
      {s.errors
        .filter((e) => e.code === 'restore')
        .map((e) => (
          <p className="problem" key={e.time + e.message}>
            {e.message}
          </p>
        ))}
      {resyncs.length > 0 && <p className="problem">The editor was reloaded from the document: {resyncs[resyncs.length - 1]}</p>}
      <div className="doc-layout">
        <div className={preview ? 'doc-panes with-preview' : 'doc-panes'}>
          <div className="source-pane">
            <Editor client={client} peers={s.peers} undo={viewOnly ? null : undo} readOnly={viewOnly} onResync={(why) => setResyncs((r) => [...r.slice(-2), why])} onApplier={(a) => (applier.current = a)} />
          </div>
          {preview && (
            <div className="preview-pane" id="document-preview">
              <Preview text={text} />
            </div>
          )}
        </div>
        <HistorySection client={client} readOnly={viewOnly} apply={() => applier.current} />
      </div>
      {last && last.code !== 'restore' && (
        <p className="last-error" data-testid="sync-error">
          Last sync problem: {last.code}: {last.message}
        </p>
      )}
    </>
  );
}

interface IdentityForm {
  editing: boolean;
  name: string;
  color: string;
}

function IdentityEditor({ user, onChange }: { user: User; onChange: (u: User) => void }) {
  const [form, setForm] = useState<IdentityForm>({ editing: false, name: user.name, color: user.color });
  const update = (f: (d: IdentityForm) => void) => setForm((s) => produce(s, f));
  if (!form.editing) {
    return (
      <button
        type="button"
        className="identity"
        data-testid="user-name"
        onClick={() => setForm({ editing: true, name: user.name, color: user.color })}
        title="Change your name and colour"
      >
        <span className="swatch" style={{ background: user.color }} />
        {user.name}
      </button>
    );
  }
  return (
    <form
      className="identity-form"
      onSubmit={(e) => {
        e.preventDefault();
        onChange({ name: form.name, color: form.color });
        update((d) => {
          d.editing = false;
        });
      }}
    >
      <input
        aria-label="Your name"
        data-testid="user-name-input"
        value={form.name}
        maxLength={MAX_NAME}
        autoFocus
        onChange={(e) => {
          const v = e.currentTarget.value;
          update((d) => {
            d.name = v;
          });
        }}
      />
      <span className="colors" role="radiogroup" aria-label="Your colour">
        {COLORS.map((c) => (
          <button
            key={c}
            type="button"
            role="radio"
            aria-checked={form.color === c}
            aria-label={c}
            className={form.color === c ? 'swatch-button chosen' : 'swatch-button'}
            style={{ background: c }}
            onClick={() =>
              update((d) => {
                d.color = c;
              })
            }
          />
        ))}
      </span>
      <button type="submit">Save</button>
    </form>
  );
}
