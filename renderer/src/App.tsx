import { useCallback, useEffect, useRef, useState } from 'react';
import {
  call,
  onEvent,
  type BookmarksReply,
  type ErrorInfo,
  type FacilitiesReply,
  type FacilityInfo,
  type HostKeyPrompt,
  type SshPrompt,
  type ServersReply,
  type SessionView,
} from './api';
import { errorAction, retryAfter } from './error-actions';
import { useNow } from './use-now';
import { ErrorNotice } from './components/ErrorNotice';
import { FacilityList } from './components/FacilityList';
import { FacilityPanel } from './components/FacilityPanel';
import { HostKeyDialog } from './components/HostKeyDialog';
import { SshPromptDialog } from './components/SshPromptDialog';
import { SessionsPanel } from './components/SessionsPanel';
import { BookmarksPanel } from './components/BookmarksPanel';
import type { RunningServer } from './components/ClassPicker';

type ById<T> = Record<string, T>;

/** Session states in which the server runs and the Lab can be shown. */
const OPEN: ReadonlySet<SessionView['state']> = new Set(['ready', 'degraded', 'reconnecting']);

function without<T>(map: ById<T>, key: string): ById<T> {
  if (!(key in map)) return map;
  const next = { ...map };
  delete next[key];
  return next;
}

/** The launcher window: facilities on the left, the chosen one and the sessions on the right. */
export function App() {
  const [list, setList] = useState<FacilitiesReply>();
  const [listError, setListError] = useState<ErrorInfo>();
  const [notice, setNotice] = useState<string>();
  const [selectedId, setSelectedId] = useState<string>();
  const [sessions, setSessions] = useState<ById<SessionView>>({});
  const [hiddenBefore, setHiddenBefore] = useState<ById<number>>({});
  /** Questions the SSH transport asks, one dialog at a time, oldest first. */
  const [prompts, setPrompts] = useState<(HostKeyPrompt | SshPrompt)[]>([]);
  const [servers, setServers] = useState<ServersReply>();
  const [serversLoading, setServersLoading] = useState(false);
  const [stopError, setStopError] = useState<ErrorInfo>();
  const [actionError, setActionError] = useState<ErrorInfo>();
  const [signInReasons, setSignInReasons] = useState<ById<ErrorInfo>>({});
  const [retryUntil, setRetryUntil] = useState<ById<number>>({});
  const [startErrors, setStartErrors] = useState<ById<ErrorInfo>>({});
  const [starting, setStarting] = useState<string>();
  const [focusPickerFor, setFocusPickerFor] = useState<string>();
  const pickerFocused = useCallback(() => setFocusPickerFor(undefined), []);
  const facilitiesSeq = useRef(0);
  const serversSeq = useRef(0);
  const [bookmarks, setBookmarks] = useState<BookmarksReply>();
  const [bookmarkError, setBookmarkError] = useState<ErrorInfo>();
  const [resuming, setResuming] = useState<string>();

  const waiting = Object.values(retryUntil).some((t) => t > Date.now());
  const now = useNow(1000, waiting);
  const waitSeconds = (id: string) => Math.max(0, Math.ceil(((retryUntil[id] ?? 0) - now) / 1000));

  /** What an error means for the rest of the window: a forced sign-in, or a wait. */
  const noteError = useCallback((facilityId: string, error: ErrorInfo, signInToo: boolean) => {
    const a = errorAction(error);
    if (a.action === 'sign-in' && signInToo) setSignInReasons((m) => ({ ...m, [facilityId]: error }));
    const wait = a.action === 'retry-after' ? retryAfter(error) : undefined;
    if (wait !== undefined) setRetryUntil((m) => ({ ...m, [facilityId]: Date.now() + wait * 1000 }));
  }, []);

  const loadFacilities = useCallback(async () => {
    // Only the newest list counts: an older reply arriving late (a sign-in's refresh, slow on the
    // keychain) would otherwise undo the selection of a profile imported meanwhile.
    const seq = ++facilitiesSeq.current;
    const r = await call('listFacilities', {});
    if (seq !== facilitiesSeq.current) return;
    if (!r.ok) {
      setListError(r.error);
      return;
    }
    setListError(undefined);
    setList(r.value);
    if (r.value.notice) setNotice(r.value.notice);
    setSelectedId((cur) => (cur && r.value.facilities.some((f) => f.id === cur) ? cur : r.value.facilities[0]?.id));
  }, []);

  const loadBookmarks = useCallback(async () => {
    const r = await call('listBookmarks', {});
    if (!r.ok) return setBookmarkError(r.error);
    setBookmarks(r.value);
    if (r.value.notice) setNotice(r.value.notice);
  }, []);

  const refreshServers = useCallback(async () => {
    const seq = ++serversSeq.current;
    setServersLoading(true);
    const [s, l] = await Promise.all([call('listServers', {}), call('listSessions', {})]);
    if (seq !== serversSeq.current) return;
    setServersLoading(false);
    setServers(s.ok ? s.value : { servers: [], unreachable: [] });
    if (!s.ok) setStopError(s.error);
    if (l.ok) {
      setSessions((prev) => {
        const next: ById<SessionView> = {};
        for (const v of Object.values(prev)) {
          // A session the core no longer holds was closed there (stopped, removed).
          next[v.sessionId] = v.state === 'ended' || l.value.some((x) => x.sessionId === v.sessionId) ? v : { ...v, state: 'ended', reason: 'closed' };
        }
        for (const v of l.value) next[v.sessionId] = v;
        return next;
      });
    }
  }, []);

  useEffect(() => {
    const off = onEvent((e) => {
      switch (e.type) {
        case 'session':
          setSessions((m) => ({ ...m, [e.session.sessionId]: e.session }));
          if (e.session.state === 'ended' && e.session.error) noteError(e.session.facilityId, e.session.error, true);
          break;
        case 'host-key-prompt':
        case 'ssh-prompt':
          setPrompts((p) => [...p, e]);
          break;
        case 'ssh-connection':
          // The facility's SSH connection opened or closed: its badge, nothing to reload.
          setList((l) => (l ? { ...l, facilities: l.facilities.map((f) => (f.id === e.facilityId ? { ...f, sshConnected: e.connected } : f)) } : l));
          break;
        case 'prompt-withdrawn':
          // Nobody waits for the answer any more (the connection that asked is gone): close it.
          setPrompts((p) => p.filter((q) => q.promptId !== e.promptId));
          break;
        case 'facilities-changed':
          void loadFacilities();
          void refreshServers();
          break;
        case 'servers-changed':
          void refreshServers();
          break;
        case 'bookmarks-changed':
          void loadBookmarks();
          break;
        case 'pick-class':
          // The Lab window's strip asked for a bigger class: that facility, its class picker focused.
          setSelectedId(e.facilityId);
          setFocusPickerFor(e.facilityId);
          break;
      }
    });
    void loadFacilities().then(() => loadBookmarks());
    void refreshServers();
    // Chromium's view of the network: open sessions check their link on "offline" and try at
    // once on "online" (main has no such event; powerMonitor covers sleep).
    const online = () => void call('networkChanged', { online: true });
    const offline = () => void call('networkChanged', { online: false });
    window.addEventListener('online', online);
    window.addEventListener('offline', offline);
    return () => {
      off();
      window.removeEventListener('online', online);
      window.removeEventListener('offline', offline);
    };
  }, [loadFacilities, refreshServers, loadBookmarks, noteError]);

  // The launcher is interactive once the first list is on screen (bench/renderer-bench.ts reads this).
  useEffect(() => {
    if ((list || listError) && !document.documentElement.dataset.ready) {
      document.documentElement.dataset.ready = list ? 'true' : 'error';
      performance.mark('roamlab-interactive');
    }
  }, [list, listError]);

  const facilities = list?.facilities ?? [];
  const selected = facilities.find((f) => f.id === selectedId);
  const allSessions = Object.values(sessions);
  const current = selected
    ? allSessions
        .filter((s) => s.facilityId === selected.id && s.requestedAt >= (hiddenBefore[selected.id] ?? 0))
        .sort((a, b) => b.requestedAt - a.requestedAt)[0]
    : undefined;
  const running: ById<number> = {};
  for (const s of servers?.servers ?? []) if (s.ready || s.pending) running[s.facilityId] = (running[s.facilityId] ?? 0) + 1;
  // The selected facility's default server, if one runs: this app's open session on it, else what the hub reports.
  const runningServer: RunningServer | undefined = !selected
    ? undefined
    : current && OPEN.has(current.state)
      ? { classId: current.classId, classLabel: current.classLabel, sessionOpen: true }
      : (() => {
          const s = servers?.servers.find((x) => x.facilityId === selected.id && x.serverName === '' && (x.ready || x.pending));
          return s ? { classId: s.classId, classLabel: s.classLabel, sessionOpen: false } : undefined;
        })();

  const replaceFacility = (info: FacilityInfo) =>
    setList((l) => (l ? { ...l, facilities: l.facilities.map((f) => (f.id === info.id ? info : f)) } : l));

  /** Start a class; or switch to it, stopping the facility's running server first (asked before). */
  const start = async (facilityId: string, classId: string, channel: 'startSession' | 'switchClass' = 'startSession') => {
    setStarting(facilityId);
    setHiddenBefore((m) => ({ ...m, [facilityId]: Date.now() }));
    setStartErrors((m) => without(m, facilityId));
    const r = await call(channel, { facilityId, classId });
    setStarting(undefined);
    if (r.ok) {
      const v = r.value;
      // Events may already have brought a newer state.
      setSessions((m) => ({ ...m, [v.sessionId]: m[v.sessionId] ?? v }));
      setHiddenBefore((m) => ({ ...m, [facilityId]: Math.min(m[facilityId] ?? 0, v.requestedAt) }));
    } else {
      setStartErrors((m) => ({ ...m, [facilityId]: r.error }));
      noteError(facilityId, r.error, true);
    }
  };

  /** "Pick a bigger class": the session's facility, with the focus on its class picker. */
  const pickClass = (facilityId: string) => {
    setSelectedId(facilityId);
    setFocusPickerFor(facilityId);
  };

  const reportIfFailed = (r: { ok: boolean; error?: ErrorInfo }) => setActionError(r.ok ? undefined : r.error);

  /** One click: the bookmark's facility comes forward and its session starts (or is brought forward). */
  const resume = async (bookmarkId: string) => {
    const b = bookmarks?.bookmarks.find((x) => x.id === bookmarkId);
    setResuming(bookmarkId);
    setBookmarkError(undefined);
    if (b) {
      setSelectedId(b.facilityId);
      setHiddenBefore((m) => ({ ...m, [b.facilityId]: Date.now() }));
      setStartErrors((m) => without(m, b.facilityId));
    }
    const r = await call('resumeBookmark', { bookmarkId });
    setResuming(undefined);
    if (r.ok) {
      const v = r.value;
      setSessions((m) => ({ ...m, [v.sessionId]: m[v.sessionId] ?? v }));
      setHiddenBefore((m) => ({ ...m, [v.facilityId]: Math.min(m[v.facilityId] ?? 0, v.requestedAt) }));
    } else if (b) {
      setStartErrors((m) => ({ ...m, [b.facilityId]: r.error }));
      noteError(b.facilityId, r.error, true);
    } else setBookmarkError(r.error);
  };

  // The oldest open question of the SSH transport, shown one at a time; answered, it leaves the queue.
  const question = prompts[0];
  const questionFacility = question ? (facilities.find((f) => f.id === question.facilityId)?.name ?? question.facilityId) : '';
  const dismiss = (q: HostKeyPrompt | SshPrompt) => setPrompts((ps) => ps.filter((x) => x.promptId !== q.promptId));

  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">Roamlab</span>
        <span className="muted">JupyterLab at your facility, from wherever you are</span>
      </header>
      {notice && (
        <div className="banner notice notice-info" role="status">
          <p>{notice}</p>
          <button type="button" onClick={() => setNotice(undefined)}>
            Dismiss
          </button>
        </div>
      )}
      {actionError && (
        <div className="banner">
          <ErrorNotice error={actionError} />
          <button type="button" onClick={() => setActionError(undefined)}>
            Dismiss
          </button>
        </div>
      )}
      <div className="layout">
        <aside className="sidebar">
          <FacilityList
            facilities={facilities}
            problems={list?.problems ?? []}
            selectedId={selectedId}
            running={running}
            onSelect={setSelectedId}
            onImported={(info) => {
              setSelectedId(info.id);
              void loadFacilities();
            }}
            onRemoved={() => void loadFacilities()}
          />
        </aside>
        <main className="main">
          {listError && (
            <div className="card">
              <ErrorNotice error={listError} label="Facilities error" />
              <button type="button" onClick={() => void loadFacilities()}>
                Try again
              </button>
            </div>
          )}
          {selected ? (
            <FacilityPanel
              key={selected.id}
              facility={selected}
              session={current}
              signInReason={signInReasons[selected.id]}
              startError={startErrors[selected.id]}
              waitSeconds={waitSeconds(selected.id)}
              starting={starting === selected.id}
              onSignedIn={(info) => {
                replaceFacility(info);
                setSignInReasons((m) => without(m, info.id));
                setStartErrors((m) => without(m, info.id));
                void refreshServers();
              }}
              onSignInError={(e) => noteError(selected.id, e, false)}
              onSignOut={async () => {
                const r = await call('signOut', { facilityId: selected.id });
                if (r.ok) replaceFacility(r.value);
                reportIfFailed(r);
              }}
              onDisconnect={async () => {
                const r = await call('disconnectFacility', { facilityId: selected.id });
                if (r.ok) replaceFacility(r.value);
                reportIfFailed(r);
              }}
              running={runningServer}
              onStart={(classId) => void start(selected.id, classId)}
              onSwitch={(classId) => void start(selected.id, classId, 'switchClass')}
              onCancel={async (sid) => reportIfFailed(await call('cancelSession', { sessionId: sid }))}
              onReconnect={async (sid) => reportIfFailed(await call('reconnectSession', { sessionId: sid }))}
              onStartAgain={(classId) => void start(selected.id, classId)}
              onOpen={async (sid) => reportIfFailed(await call('openSession', { sessionId: sid }))}
              onPickClass={pickClass}
              focusPicker={focusPickerFor === selected.id}
              onPickerFocused={pickerFocused}
            />
          ) : (
            list && (
              <div className="card empty">
                <h1>Welcome to Roamlab</h1>
                <p>Import the facility profile (a .json file) your facility published to begin.</p>
              </div>
            )
          )}
          <BookmarksPanel
            reply={bookmarks}
            facilities={facilities}
            openSessions={allSessions.filter((x) => OPEN.has(x.state))}
            error={bookmarkError}
            resuming={resuming}
            onResume={(id) => void resume(id)}
            // Each change comes back as a 'bookmarks-changed' event, which reloads the list.
            onRemove={async (id) => {
              const r = await call('removeBookmark', { bookmarkId: id });
              setBookmarkError(r.ok ? undefined : r.error);
              // Gone already (the CLI removed it): no event comes, so read the list again.
              if (!r.ok) void loadBookmarks();
            }}
            onAdd={async (req) => {
              const r = await call('addBookmark', req);
              return r.ok ? undefined : r.error;
            }}
            onBookmarkSession={async (sessionId, name) => {
              const r = await call('bookmarkSession', { sessionId, name });
              return r.ok ? undefined : r.error;
            }}
          />
          <SessionsPanel
            servers={servers}
            sessions={allSessions}
            facilities={facilities}
            loading={serversLoading}
            stopError={stopError}
            onRefresh={() => {
              setStopError(undefined);
              void refreshServers();
            }}
            onOpen={async (sid) => reportIfFailed(await call('openSession', { sessionId: sid }))}
            onStop={async (facilityId, serverName) => {
              setStopError(undefined);
              const r = await call('stopServer', { facilityId, serverName });
              if (!r.ok) setStopError(r.error);
              void refreshServers();
            }}
            onPickClass={pickClass}
          />
        </main>
      </div>
      {question?.type === 'host-key-prompt' && (
        <HostKeyDialog
          key={question.promptId}
          prompt={question}
          facilityName={questionFacility}
          onAnswer={async (accept) => {
            dismiss(question);
            reportIfFailed(await call('answerHostKey', { promptId: question.promptId, accept }));
          }}
        />
      )}
      {question?.type === 'ssh-prompt' && (
        <SshPromptDialog
          key={question.promptId}
          prompt={question}
          facilityName={questionFacility}
          onAnswer={async (answers) => {
            dismiss(question);
            reportIfFailed(await call('answerSshPrompt', { promptId: question.promptId, answers }));
          }}
        />
      )}
    </div>
  );
}
