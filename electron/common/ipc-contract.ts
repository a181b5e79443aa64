/**
 * The one IPC contract between the launcher window and the main process.
 *
 * Every channel: its request schema (zod, validated in main before anything happens) and its
 * reply type. Events from main to the renderer are typed here too. The preload exposes one
 * named function per channel under `window.roamlab` (same name, same argument), plus `onEvent`.
 * This file imports nothing from Node or Electron, so the renderer can import its types.
 */
import * as z from './zod';

// ---------------------------------------------------------------------------------------------
// Shapes that cross the bridge (plain data only)

export interface ErrorInfo {
  kind: string;
  message: string;
  hint: string;
  /** Field of a profile, Retry-After seconds, fingerprints, the hub's own message… */
  details: Record<string, unknown>;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

export interface ClassInfo {
  id: string;
  label: string;
  description?: string;
  memoryGB?: number;
  cores?: number;
  runtimeHours?: number;
  source: 'profile' | 'hub' | 'both';
}

export interface FacilityInfo {
  id: string;
  name: string;
  file: string;
  hubOrigin: string;
  /** "gate.example.org:22" when the hub is reached through an SSH gateway. */
  via?: string;
  /**
   * Through an SSH gateway: whether Roamlab holds a connection to it now (shared by the
   * facility's sign-in, servers list and sessions, core/transport/shared.ts), so the next action
   * asks no one-time code. Undefined without SSH.
   */
  sshConnected?: boolean;
  username?: string;
  /** A token is in the keychain for `username`. */
  signedIn: boolean;
  rememberPassword: boolean;
  classes: ClassInfo[];
  lastClass?: string;
}

export interface ProfileProblemInfo {
  file: string;
  message: string;
  hint: string;
  field?: string;
}

export interface FacilitiesReply {
  facilities: FacilityInfo[];
  problems: ProfileProblemInfo[];
  /** Set once when state.json was damaged and restored. */
  notice?: string;
}

export type SessionStateName =
  | 'signed-out'
  | 'authenticating'
  | 'spawning'
  | 'connecting'
  | 'ready'
  | 'degraded'
  | 'reconnecting'
  | 'ended';

export interface SessionView {
  sessionId: string;
  facilityId: string;
  facilityName: string;
  serverName: string;
  classId: string;
  classLabel: string;
  state: SessionStateName;
  reason: string;
  /** 0–100 while spawning, when the hub says. */
  progress?: number;
  /** When the person asked for it (ms since epoch), for "waiting 12 s". */
  requestedAt: number;
  /** Server start time as the hub reports it (ISO). */
  started?: string;
  /** Class runtime limit, for "runtime left". */
  runtimeHours?: number;
  error?: ErrorInfo;
  /** The latest node stats while ready (jupyter-resource-usage through the gateway). */
  metrics?: NodeStats;
  /** The latest threshold crossed, as told to the person. */
  lastLimit?: LimitNotice;
  /** Said once, e.g. "this server does not report memory; only runtime is watched". */
  notice?: string;
  /**
   * Set while this session first stops the facility's running server of another class
   * (switchClass): that server's class label ('' when the hub's server matches no known class).
   * Cleared when the new server is requested.
   */
  replacing?: string;
  /**
   * While the link is down (degraded, reconnecting) and on the first ready after it: since when,
   * which attempt, when the next one is due (ms since epoch), the last attempt's error, and, once
   * back, how long it was away.
   */
  connection?: { since: number; cause?: string; attempt?: number; nextTryAt?: number; lastError?: string; downForMs?: number };
}

export interface NodeStats {
  /** When it was measured (ms since epoch, local clock). */
  at: number;
  rssBytes: number;
  /** The memory limit: the server's, else the class's; 0 when neither says. */
  limitBytes: number;
  limitSource: 'server' | 'class' | 'none';
  /** rssBytes / limitBytes in percent, when there is a limit. */
  memoryPercent?: number;
  cpuPercent?: number;
  cpuCount?: number;
  /** Runtime left by the class's limit, corrected for the hub's clock. */
  runtimeLeftMs?: number;
  /** Which thresholds apply, so every view colours the same way. */
  memoryWarningPercent: number;
  memoryCriticalPercent: number;
  /** Runtime left below which the view shows warning / critical. */
  runtimeWarningMs: number;
  runtimeCriticalMs: number;
}

export interface LimitNotice {
  kind: 'memory' | 'runtime';
  level: 'warning' | 'critical';
  title: string;
  body: string;
  /** What the notification offers: a bigger class (critical memory), or saving. */
  action?: 'open-class-picker' | 'save';
  at: number;
}

/** A server the hub reports for a signed-in facility (running, or starting elsewhere). */
export interface ServerView {
  facilityId: string;
  facilityName: string;
  serverName: string;
  ready: boolean;
  pending: string | null;
  started?: string;
  classId?: string;
  classLabel?: string;
  runtimeHours?: number;
  /** Set when this app holds a tunnel to it. */
  sessionId?: string;
}

/** A session to come back to (core/state/bookmarks.ts), as the launcher lists it. */
export interface BookmarkView {
  id: string;
  name: string;
  facilityId: string;
  /** Undefined when no profile with that id is loaded now (the bookmark is kept). */
  facilityName?: string;
  classId: string;
  classLabel?: string;
  serverName: string;
  /** The file or folder it opens; undefined: the Lab's start page. */
  place?: string;
  createdAt: string;
  lastUsedAt?: string;
}

export interface BookmarksReply {
  bookmarks: BookmarkView[];
  /** Entries of bookmarks.json that are not bookmarks (left in the file), with what to do. */
  problems: string[];
  /** Set once when bookmarks.json was damaged and mended. */
  notice?: string;
}

export interface ServersReply {
  servers: ServerView[];
  /** Facilities whose hub could not be asked, with why. */
  unreachable: { facilityId: string; error: ErrorInfo }[];
}

// ---------------------------------------------------------------------------------------------
// Channels: request schemas

const id = z.string().check(z.minLength(1), z.maxLength(64), z.regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/)); // no '.' or '..'
const serverName = z.string().check(z.maxLength(255), z.regex(/^[A-Za-z0-9._~-]*$/));
const bookmarkName = z.string().check(z.minLength(1), z.maxLength(200));

export const requestSchemas = {
  listFacilities: z.strictObject({}),
  /** A profile the person picked; the renderer reads the file and sends its text. */
  importFacility: z.strictObject({ fileName: z.string().check(z.minLength(1), z.maxLength(255)), content: z.string().check(z.maxLength(256 * 1024)) }),
  removeFacility: z.strictObject({ facilityId: id }),
  signIn: z.strictObject({
    facilityId: id,
    username: z.string().check(z.minLength(1), z.maxLength(255)),
    password: z.string().check(z.minLength(1), z.maxLength(4096)),
    remember: z.boolean(),
  }),
  /** Sign in through the hub's own page (SSO, two-factor) in a separate window. */
  signInWithWebPage: z.strictObject({ facilityId: id }),
  signOut: z.strictObject({ facilityId: id }),
  /** Close the facility's SSH connection now (sessions on it keep theirs until they close). */
  disconnectFacility: z.strictObject({ facilityId: id }),
  startSession: z.strictObject({ facilityId: id, classId: id, serverName: z.optional(serverName) }),
  /** Stop the facility's running server (another class), wait until it is gone, then start this class. */
  switchClass: z.strictObject({ facilityId: id, classId: id, serverName: z.optional(serverName) }),
  cancelSession: z.strictObject({ sessionId: id }),
  openSession: z.strictObject({ sessionId: id }),
  closeSession: z.strictObject({ sessionId: id }),
  stopServer: z.strictObject({ facilityId: id, serverName }),
  listSessions: z.strictObject({}),
  listServers: z.strictObject({}),
  answerHostKey: z.strictObject({ promptId: id, accept: z.boolean() }),
  /** What the person typed at an SSH server's prompts (one answer per prompt), or null: declined. Never stored. */
  answerSshPrompt: z.strictObject({ promptId: id, answers: z.nullable(z.array(z.string().check(z.maxLength(4096))).check(z.maxLength(16))) }),
  /** "Reconnect now": skip the wait before the session's next reconnect attempt. */
  reconnectSession: z.strictObject({ sessionId: id }),
  /** The launcher page's online/offline events (Chromium's view of the network). */
  networkChanged: z.strictObject({ online: z.boolean() }),
  listBookmarks: z.strictObject({}),
  /** Made offline: nothing is asked of the hub. */
  addBookmark: z.strictObject({
    name: bookmarkName,
    facilityId: id,
    classId: id,
    serverName: z.optional(serverName),
    place: z.optional(z.string().check(z.maxLength(4096))),
  }),
  /** Bookmark an open session where its Lab window is now (the file it shows). */
  bookmarkSession: z.strictObject({ sessionId: id, name: bookmarkName }),
  removeBookmark: z.strictObject({ bookmarkId: id }),
  /** One click: start (or reuse) the bookmark's server and open its Lab at its place. */
  resumeBookmark: z.strictObject({ bookmarkId: id }),
} as const;

export type Channel = keyof typeof requestSchemas;
export type RequestOf<C extends Channel> = z.infer<(typeof requestSchemas)[C]>;

export interface Replies {
  listFacilities: FacilitiesReply;
  importFacility: FacilityInfo;
  removeFacility: { removed: true };
  signIn: FacilityInfo;
  signInWithWebPage: FacilityInfo;
  signOut: FacilityInfo;
  disconnectFacility: FacilityInfo;
  startSession: SessionView;
  switchClass: SessionView;
  cancelSession: SessionView;
  openSession: { url: string };
  closeSession: { closed: true };
  stopServer: { stopped: true };
  listSessions: SessionView[];
  listServers: ServersReply;
  answerHostKey: { answered: boolean };
  answerSshPrompt: { answered: boolean };
  reconnectSession: SessionView;
  networkChanged: { sessions: number };
  listBookmarks: BookmarksReply;
  addBookmark: BookmarkView;
  bookmarkSession: BookmarkView;
  removeBookmark: { removed: true };
  resumeBookmark: SessionView;
}

export type ReplyOf<C extends Channel> = Replies[C];

export const CHANNELS = Object.keys(requestSchemas) as Channel[];

// The IPC names live in channels.ts, which has no dependencies (zod included), for code that must stay dependency-free.
export { IPC_PREFIX, ipcChannel, EVENT_CHANNEL, STRIP_IPC_PREFIX, stripIpcChannel, STRIP_EVENT_CHANNEL } from './channels';

// ---------------------------------------------------------------------------------------------
// Events from main to the renderer

export type RoamlabEvent =
  | { type: 'session'; session: SessionView }
  /** A threshold crossed: the shell shows a native notification, the launcher a banner. */
  | { type: 'limit'; sessionId: string; facilityId: string; limit: LimitNotice }
  | {
      type: 'host-key-prompt';
      promptId: string;
      facilityId: string;
      host: string;
      port: number;
      keyType: string;
      fingerprint: string;
      /** A jump host on the way to the gateway (the profile's ssh.proxyJump), not the gateway. */
      jump?: boolean;
      /** known_hosts trusts the host through a certificate authority Roamlab cannot check yet (ssh-transport.ts). */
      certAuthority?: { file: string; line: number };
    }
  | {
      /** An SSH server wants more than the key: a one-time code, a password (ssh-transport.ts SshAuthPrompt). */
      type: 'ssh-prompt';
      promptId: string;
      facilityId: string;
      host: string;
      port: number;
      user: string;
      jump?: boolean;
      name: string;
      instructions: string;
      prompts: { prompt: string; echo: boolean }[];
      attempt: number;
    }
  /**
   * A host-key or ssh-prompt question nobody waits for any more (its handshake failed or was
   * cancelled, or the server closed the connection meanwhile): close its dialog.
   */
  | { type: 'prompt-withdrawn'; promptId: string }
  /** The facility's shared SSH connection opened or closed (FacilityInfo.sshConnected). */
  | { type: 'ssh-connection'; facilityId: string; connected: boolean }
  | { type: 'facilities-changed' }
  | { type: 'servers-changed' }
  | { type: 'bookmarks-changed' }
  /** Show this facility's class picker (the Lab window's strip asked for a bigger class). */
  | { type: 'pick-class'; facilityId: string }
  /** A drop that lasted (or one that is over after being told): the shell shows it natively. */
  | { type: 'connection'; sessionId: string; facilityId: string; notice: { kind: 'lost' | 'back'; title: string; body: string } };

/** What `window.roamlab` is in the launcher window. */
export type RoamlabApi = {
  [C in Channel]: (request: RequestOf<C>) => Promise<Result<ReplyOf<C>>>;
} & {
  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (event: RoamlabEvent) => void): () => void;
};

// ---------------------------------------------------------------------------------------------
// The Lab window's status strip
//
// A second, smaller contract for the strip the shell docks into each Lab window (node stats,
// runtime left, the session's state). Main knows which session a strip belongs to by the sender,
// so no request names a session: a strip can only ever read and act on its own.

export const stripRequestSchemas = {
  /** This strip's session now, or null once the app no longer holds it. */
  session: z.strictObject({}),
  /** Bring the launcher forward; with pickClass, on the class picker of this session's facility. */
  showLauncher: z.strictObject({ pickClass: z.boolean() }),
} as const;

export type StripChannel = keyof typeof stripRequestSchemas;
export type StripRequestOf<C extends StripChannel> = z.infer<(typeof stripRequestSchemas)[C]>;

export interface StripReplies {
  session: SessionView | null;
  showLauncher: { shown: true };
}

export type StripReplyOf<C extends StripChannel> = StripReplies[C];

export const STRIP_CHANNELS = Object.keys(stripRequestSchemas) as StripChannel[];

/** Events from main to a strip (on STRIP_EVENT_CHANNEL): only its own session's. */
export type StripEvent = { type: 'session'; session: SessionView };

/** What `window.roamlabStrip` is in a Lab window's strip. */
export type RoamlabStripApi = {
  [C in StripChannel]: (request: StripRequestOf<C>) => Promise<Result<StripReplyOf<C>>>;
} & {
  /** Subscribe to this strip's events; returns the unsubscribe function. */
  onEvent(listener: (event: StripEvent) => void): () => void;
};
