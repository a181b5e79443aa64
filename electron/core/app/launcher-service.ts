import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RoamlabError, isRoamlabError } from '../errors';
import { accountName, type Keychain } from '../keychain/keychain';
import { Logger } from '../log';
import { facilitiesDir } from '../paths';
import { FacilityCatalog, pickClass } from '../profile/catalog';
import { mergeClasses, type OfferedClass } from '../profile/classes';
import { parseProfile } from '../profile/load';
import { hubBaseUrl, type FacilityProfile } from '../profile/schema';
import { appStateStore, type AppState, type FacilityState } from '../state/app-state';
import { BookmarkStore, type Bookmark } from '../state/bookmarks';
import { CURRENT_PLACE_SCRIPT, normalizePlace, placeFromUrl } from '../session/place';
import type { JsonStore } from '../state/json-store';
import { describeSshRoute, openTransport, type OpenTransportOptions } from '../transport/open';
import { muxDir } from '../transport/mux';
import { SharedTransports } from '../transport/shared';
import { hopNoun, type SshAuthPrompt, type SshQuestions } from '../transport/ssh-transport';
import { HubClient, type ServerModel } from '../hub/hub-client';
import { signIn, signOut } from '../session/credentials';
import { withSignedInHub, type HubAccess } from '../session/hub-access';
import { Session, type OutsideSignal } from '../session/session';
import { connectionNotice } from '../session/reconnect-policy';
import { resolveThresholds } from '../monitor/limits-policy';
import { memoryPercent } from '../monitor/metrics';
import type {
  ClassInfo,
  ErrorInfo,
  FacilitiesReply,
  FacilityInfo,
  RoamlabEvent,
  ServersReply,
  ServerView,
  BookmarkView,
  BookmarksReply,
  SessionView,
} from '../../common/ipc-contract';

/** What the shell (Electron, or a test's browser) does for the service. */
export interface ShellHooks {
  /** Show the Lab page of a ready session (a window in the app; a page in tests). */
  openLab(info: { sessionId: string; url: string; title: string; facilityId: string }): void | Promise<void>;
  /**
   * Show the hub's own sign-in page (single sign-on, two-factor) in an isolated browser session
   * and resolve with the hub's cookies once it has signed the person in, or null if they closed
   * the window. The app then mints its API token with them and forgets them. `cookieUrl` is
   * the URL whose cookies to return (the hub's own pages, so path-scoped hub cookies count).
   */
  webSignIn?(info: { facilityId: string; loginUrl: string; cookieUrl: string; title: string }): Promise<{ name: string; value: string }[] | null>;
  /** The address the session's Lab page shows now (for a bookmark of where the person is). */
  labLocation?(sessionId: string): string | undefined;
  /**
   * Run a script the core made (session/place.ts) in the session's open Lab page and resolve with
   * its result: show a place there without reloading it, read which document is current.
   * Resolves undefined when the session has no Lab page open.
   */
  runInLab?(sessionId: string, script: string): unknown;
}

export interface LauncherServiceOptions {
  home: string;
  keychain: Keychain;
  hooks: ShellHooks;
  log?: Logger;
  /**
   * How long a facility's SSH connection stays open after nothing uses it any more (default 5
   * minutes, as a ControlPersist): a start soon after signing in asks for no second code.
   */
  sshIdleMs?: number;
}

export function errorInfo(e: unknown): ErrorInfo {
  if (isRoamlabError(e)) return { kind: e.kind, message: e.message, hint: e.hint, details: { ...e.details } };
  return { kind: 'internal', message: 'Something went wrong inside Roamlab.', hint: 'Try again; if it keeps happening, report it with the log file.', details: {} };
}

interface LiveSession {
  view: SessionView;
  session: Session;
  abort: AbortController;
  /** Whether the person was told natively that this drop lasted (then "back" is told too). */
  toldLost?: boolean;
  /** Fires when a drop reaches the notification threshold. */
  lostTimer?: NodeJS.Timeout;
}

/**
 * Everything the launcher window can ask for, over the real core. The IPC handler table
 * (ipc/handlers.ts) validates requests and calls these methods; the Electron shell and the
 * renderer tests use the very same service.
 */
export class LauncherService extends EventEmitter<{ event: [RoamlabEvent] }> {
  private catalog: FacilityCatalog | undefined;
  private state: AppState = { version: 1, facilities: {} };
  private readonly store: JsonStore<AppState>;
  private readonly bookmarks: BookmarkStore;
  private readonly sessions = new Map<string, LiveSession>();
  private readonly viaCache = new Map<string, { key: string; at: number; via: string | undefined }>();
  /** Questions the SSH transport put to the person, awaiting the launcher's dialogs. */
  private readonly hostKeyQuestions = new PendingQuestions<boolean>();
  private readonly promptQuestions = new PendingQuestions<string[] | null>();
  /** One SSH connection per facility, shared by sign-in, the servers list and the sessions. */
  private readonly transports: SharedTransports;
  private notice: string | undefined;
  readonly log: Logger;

  constructor(private readonly o: LauncherServiceOptions) {
    super();
    this.store = appStateStore(o.home);
    this.bookmarks = new BookmarkStore(o.home);
    this.log = o.log ?? new Logger(path.join(o.home, 'logs', 'roamlab.log'));
    this.transports = new SharedTransports(
      (profile, t) => openTransport(profile, t),
      o.sshIdleMs,
      (facilityId, connected) => this.send({ type: 'ssh-connection', facilityId, connected }),
      // The `roamlab` command in a terminal uses the window's connection too (mux.ts).
      muxDir(o.home),
    );
  }

  private send(event: RoamlabEvent): void {
    this.emit('event', event);
  }

  private async load(): Promise<FacilityCatalog> {
    this.catalog = await FacilityCatalog.load(this.o.home);
    const loaded = await this.store.load();
    this.state = loaded.value;
    if (loaded.recovered) this.notice = loaded.recovered;
    return this.catalog;
  }

  private profile(facilityId: string): FacilityProfile {
    if (!this.catalog) throw new RoamlabError('usage', 'Facilities are not loaded yet.', 'Reload the window.');
    return this.catalog.get(facilityId).profile;
  }

  private fstate(id: string): FacilityState {
    return this.state.facilities[id] ?? { rememberPassword: true };
  }

  private async patchState(id: string, patch: Partial<FacilityState>): Promise<void> {
    this.state.facilities[id] = { ...this.fstate(id), ...patch };
    await this.store.save(this.state);
  }

  private classes(profile: FacilityProfile): OfferedClass[] {
    return mergeClasses(profile.classes, this.fstate(profile.id).hubForm ?? null);
  }

  /**
   * The way to the facility's gateway, with what the person's ssh configuration adds (ProxyJump,
   * ProxyCommand) where the profile leaves it out; asked of `ssh -G` at most once a minute per
   * facility, since lists are drawn often.
   */
  private async via(profile: FacilityProfile): Promise<string | undefined> {
    if (!profile.ssh) return undefined;
    const key = JSON.stringify(profile.ssh);
    const known = this.viaCache.get(profile.id);
    if (known && known.key === key && Date.now() - known.at < 60_000) return known.via;
    const via = await describeSshRoute(profile);
    this.viaCache.set(profile.id, { key, at: Date.now(), via });
    return via;
  }

  private async info(profile: FacilityProfile, file: string): Promise<FacilityInfo> {
    const st = this.fstate(profile.id);
    const token = st.username ? await this.o.keychain.get(accountName(profile.id, 'token', st.username)) : null;
    return {
      id: profile.id,
      name: profile.name,
      file,
      hubOrigin: hubBaseUrl(profile).origin,
      via: await this.via(profile),
      sshConnected: profile.ssh ? this.transports.connected(profile.id) : undefined,
      username: st.username,
      signedIn: token !== null,
      rememberPassword: st.rememberPassword,
      classes: this.classes(profile).map(classInfo),
      lastClass: st.lastClass,
    };
  }

  private async infoById(facilityId: string): Promise<FacilityInfo> {
    const entry = this.catalog!.get(facilityId);
    return this.info(entry.profile, entry.file);
  }

  // -------------------------------------------------------------------------------------------
  // Facilities

  async listFacilities(): Promise<FacilitiesReply> {
    const catalog = await this.load();
    const facilities: FacilityInfo[] = [];
    for (const { profile, file } of catalog.profiles) facilities.push(await this.info(profile, file));
    const problems = catalog.problems.map((p) => ({ file: p.file, message: p.error.message, hint: p.error.hint, field: p.error.details.field as string | undefined }));
    const notice = this.notice;
    this.notice = undefined;
    return { facilities, problems, notice };
  }

  /** Validate a profile the person picked, then keep a copy in the facilities folder. */
  async importFacility(fileName: string, content: string): Promise<FacilityInfo> {
    let data: unknown;
    try {
      data = JSON.parse(content);
    } catch (e) {
      throw new RoamlabError('profile-invalid', `${fileName} is not valid JSON: ${(e as Error).message}`, 'Check that you picked the facility profile (.json) your facility published.', { file: fileName, field: '(file)' });
    }
    const profile = parseProfile(data, fileName);
    const dir = facilitiesDir(this.o.home);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const target = path.join(dir, `${profile.id}.json`);
    const tmp = `${target}.tmp-${process.pid}`;
    await fs.writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    await fs.rename(tmp, target);
    await this.load();
    this.send({ type: 'facilities-changed' });
    return this.infoById(profile.id);
  }

  /** Remove a facility: its profile file, its remembered state and its secrets. */
  async removeFacility(facilityId: string): Promise<void> {
    const entry = this.catalog?.profiles.find((p) => p.profile.id === facilityId);
    if (!entry) throw new RoamlabError('profile-not-found', `No facility "${facilityId}" is set up.`, 'Reload the list.');
    for (const [sid, live] of this.sessions) if (live.view.facilityId === facilityId) await this.closeSession(sid);
    const user = this.fstate(facilityId).username;
    if (user) await signOut(entry.profile, this.o.keychain, user);
    await this.transports.forget(facilityId);
    await fs.rm(entry.file, { force: true });
    delete this.state.facilities[facilityId];
    await this.store.save(this.state);
    await this.load();
    this.send({ type: 'facilities-changed' });
  }

  // -------------------------------------------------------------------------------------------
  // Credentials

  /** The SSH transport's questions, asked in the launcher's dialogs. */
  private sshQuestions(facilityId: string): SshQuestions {
    // A question the handshake no longer waits for (it failed, was overtaken, the gateway closed
    // the connection meanwhile) is withdrawn: its dialog closes.
    const withdraw = (promptId: string) => this.send({ type: 'prompt-withdrawn', promptId });
    return {
      confirmUnknownHostKey: (p, withdrawn) => this.hostKeyQuestions.ask((promptId) => this.send({ type: 'host-key-prompt', promptId, facilityId, ...p }), withdrawn, withdraw, false),
      answerPrompts: (p, withdrawn) => this.promptQuestions.ask((promptId) => this.send({ type: 'ssh-prompt', promptId, facilityId, ...p }), withdrawn, withdraw, null),
    };
  }

  answerSshPrompt(promptId: string, answers: string[] | null): boolean {
    return this.promptQuestions.answer(promptId, answers);
  }

  answerHostKey(promptId: string, accept: boolean): boolean {
    return this.hostKeyQuestions.answer(promptId, accept);
  }

  /**
   * The facility's shared connection (shared.ts), its questions asked in the launcher's dialogs.
   * `user`: the person's user name at the facility, their SSH account where nothing else names
   * one (open.ts resolveSshAccount).
   */
  private transport(profile: FacilityProfile, user: string | undefined, more: Partial<OpenTransportOptions> = {}, reuse: 'any' | 'open' = 'any') {
    const note = (m: string) => this.log.info(m);
    return this.transports.lease(profile, { keychain: this.o.keychain, ...this.sshQuestions(profile.id), user, note, ...more }, reuse);
  }

  private access(profile: FacilityProfile, username: string): HubAccess {
    return { profile, keychain: this.o.keychain, username, log: this.log, ...this.sshQuestions(profile.id), transport: () => this.transport(profile, username) };
  }

  private async connect(profile: FacilityProfile, user: string | undefined) {
    const transport = await this.transport(profile, user);
    return { transport, hub: new HubClient({ transport }) };
  }

  async signIn(facilityId: string, username: string, password: string, remember: boolean): Promise<FacilityInfo> {
    const profile = this.profile(facilityId);
    this.log.redact(password);
    await this.o.keychain.get(accountName(profile.id, 'token', username)); // is there a keychain at all?
    const { transport, hub } = await this.connect(profile, username);
    try {
      const token = await signIn({ profile, hub, keychain: this.o.keychain, username, password, remember, log: this.log });
      await this.patchState(profile.id, { username, rememberPassword: remember });
      try {
        const form = await hub.spawnForm(token, { acceptSpawnRisk: true, user: username });
        await this.patchState(profile.id, { hubForm: form ? { ...form, readAt: new Date().toISOString() } : undefined });
      } catch (e) {
        this.log.info(`${profile.id}: spawn form not read (${(e as Error).message})`);
      }
    } finally {
      await transport.close();
    }
    this.send({ type: 'facilities-changed' });
    return this.infoById(facilityId);
  }

  /** Sign in through the hub's own web page, for hubs whose login is not a plain password form. */
  async signInWithWebPage(facilityId: string): Promise<FacilityInfo> {
    const profile = this.profile(facilityId);
    if (profile.ssh) {
      throw new RoamlabError('usage', `${profile.name} is reached through an SSH gateway; signing in through the hub's web page is not supported there yet.`, 'Sign in with your username and password.');
    }
    if (!this.o.hooks.webSignIn) throw new RoamlabError('usage', 'This front end cannot show the hub\'s sign-in page.', 'Sign in with your username and password.');
    await this.o.keychain.get(accountName(profile.id, 'token', this.fstate(facilityId).username ?? '-')); // is there a keychain?
    const base = hubBaseUrl(profile);
    const cookies = await this.o.hooks.webSignIn({ facilityId, loginUrl: new URL('hub/login', base).href, cookieUrl: new URL('hub/', base).href, title: `Sign in to ${profile.name}` });
    if (!cookies) throw new RoamlabError('cancelled', 'The sign-in window was closed before the hub signed you in.', 'Open it again when you are ready.');
    for (const c of cookies) this.log.redact(c.value);
    const { transport, hub } = await this.connect(profile, undefined);
    try {
      const days = profile.hub.tokenLifetimeDays ?? 14;
      const { token, username } = await hub.loginWithCookies(cookies, { expiresInSeconds: days * 86400, note: `Roamlab on ${os.hostname()}` });
      this.log.redact(token);
      await this.o.keychain.set(accountName(profile.id, 'token', username), token);
      // No password to keep: when this token expires, the person signs in on the page again.
      await this.patchState(profile.id, { username, rememberPassword: false });
      this.log.info(`signed in to ${profile.id} as ${username} through the hub's web page`);
    } finally {
      await transport.close();
    }
    this.send({ type: 'facilities-changed' });
    return this.infoById(facilityId);
  }

  async signOut(facilityId: string): Promise<FacilityInfo> {
    const profile = this.profile(facilityId);
    const user = this.fstate(facilityId).username;
    if (user) await signOut(profile, this.o.keychain, user);
    // Signed out is disconnected: the facility's SSH connection closes once no session holds it.
    await this.transports.forget(facilityId);
    this.send({ type: 'facilities-changed' });
    return this.infoById(facilityId);
  }

  /** Close the facility's SSH connection now; open sessions keep theirs until they close. */
  async disconnectFacility(facilityId: string): Promise<FacilityInfo> {
    this.profile(facilityId);
    await this.transports.forget(facilityId);
    return this.infoById(facilityId);
  }

  // -------------------------------------------------------------------------------------------
  // Sessions

  private publish(live: LiveSession): void {
    this.send({ type: 'session', session: { ...live.view } });
  }

  listSessions(): SessionView[] {
    return [...this.sessions.values()].map((l) => ({ ...l.view }));
  }

  /** Start (or reuse) a server with the chosen class; progress arrives as 'session' events. */
  startSession(facilityId: string, classId: string, serverName = '', place?: string): SessionView {
    const profile = this.profile(facilityId);
    const user = this.fstate(facilityId).username;
    if (!user) throw new RoamlabError('credentials-missing', `You are not signed in to ${profile.name}.`, 'Sign in first.');
    const klass = pickClass(this.classes(profile), classId, profile.name);
    if (this.openOn(facilityId, serverName).length > 0) {
      throw new RoamlabError('hub-already-running', `A session for ${serverName ? `server "${serverName}"` : 'your server'} at ${profile.name} is already open here.`, 'Open it from the sessions list, or stop it first.');
    }
    return this.launch(profile, user, klass, serverName, undefined, place);
  }

  /** This app's sessions on a facility's server that have not ended, with their ids. */
  private openOn(facilityId: string, serverName: string): [string, LiveSession][] {
    return [...this.sessions.entries()].filter(([, l]) => l.view.facilityId === facilityId && l.view.serverName === serverName && l.view.state !== 'ended');
  }

  // -------------------------------------------------------------------------------------------
  // Bookmarks (state/bookmarks.ts): made and listed offline; resumed in one click.

  private bookmarkView(b: Bookmark): BookmarkView {
    const loaded = this.catalog?.profiles.find((p) => p.profile.id === b.facilityId)?.profile;
    const klass = loaded ? this.classes(loaded).find((c) => c.id === b.classId) : undefined;
    return {
      id: b.id,
      name: b.name,
      facilityId: b.facilityId,
      ...(loaded ? { facilityName: loaded.name } : {}),
      classId: b.classId,
      ...(klass ? { classLabel: klass.label } : {}),
      serverName: b.serverName,
      ...(b.place ? { place: b.place } : {}),
      createdAt: b.createdAt,
      ...(b.lastUsedAt ? { lastUsedAt: b.lastUsedAt } : {}),
    };
  }

  async listBookmarks(): Promise<BookmarksReply> {
    if (!this.catalog) await this.load();
    const { bookmarks, problems, recovered } = await this.bookmarks.list();
    return { bookmarks: bookmarks.map((b) => this.bookmarkView(b)), problems, ...(recovered ? { notice: recovered } : {}) };
  }

  /** A bookmark of a facility's class (and server, and place), made without asking the hub. */
  async addBookmark(r: { name: string; facilityId: string; classId: string; serverName?: string; place?: string }): Promise<BookmarkView> {
    if (!this.catalog) await this.load();
    const profile = this.profile(r.facilityId);
    const klass = pickClass(this.classes(profile), r.classId, profile.name);
    const b = await this.bookmarks.add({ name: r.name, facilityId: profile.id, classId: klass.id, serverName: r.serverName ?? '', place: r.place });
    this.send({ type: 'bookmarks-changed' });
    return this.bookmarkView(b);
  }

  /** Bookmark an open session at the file its Lab window shows now. */
  async bookmarkSession(sessionId: string, name: string): Promise<BookmarkView> {
    const live = this.live(sessionId);
    const url = this.o.hooks.labLocation?.(sessionId);
    const serverPath = live.session.serverPath;
    // JupyterLab's current document where its app is exposed (gateway/lab-page.ts): right also
    // where the address still says /lab (after a workspace restore). Else what the address names.
    const current = await this.runInLab(sessionId, CURRENT_PLACE_SCRIPT);
    const place = typeof current === 'string' ? normalizePlace(current) : url && serverPath ? placeFromUrl(url, serverPath) : undefined;
    return this.addBookmark({ name, facilityId: live.view.facilityId, classId: live.view.classId, serverName: live.view.serverName, place: place || undefined });
  }

  async removeBookmark(bookmarkId: string): Promise<void> {
    await this.bookmarks.remove(bookmarkId);
    this.send({ type: 'bookmarks-changed' });
  }

  /**
   * One click: the bookmark's server, started or reused, its Lab opened at the bookmark's place.
   * A session already open here for that server is brought forward instead (no second tunnel).
   */
  async resumeBookmark(bookmarkId: string): Promise<SessionView> {
    if (!this.catalog) await this.load();
    const b = await this.bookmarks.find(bookmarkId);
    if (!this.catalog?.profiles.some((p) => p.profile.id === b.facilityId)) {
      throw new RoamlabError(
        'profile-not-found',
        `The bookmark "${b.name}" is for the facility "${b.facilityId}", whose profile is not loaded now.`,
        'Add that facility\'s profile again (the bookmark is kept), or remove the bookmark.',
        { facilityId: b.facilityId },
      );
    }
    const [open] = this.openOn(b.facilityId, b.serverName);
    if (open) {
      const [sid, live] = open;
      if (live.view.state === 'ready') {
        // Its Lab page open: show the place there, in a tab beside what is open. Else a new
        // window that lands on it.
        const shown = b.place !== undefined && (await this.runInLab(sid, live.session.placeScript(b.place))) === true;
        this.openSession(sid, shown ? undefined : b.place);
      }
      await this.bookmarks.touch(b.id);
      this.send({ type: 'bookmarks-changed' });
      return { ...live.view };
    }
    const view = this.startSession(b.facilityId, b.classId, b.serverName, b.place);
    await this.bookmarks.touch(b.id);
    this.send({ type: 'bookmarks-changed' });
    return view;
  }

  /**
   * Replace the facility's running server with one of another class, as one action: this app's
   * session on it is closed, the server is stopped at the hub and awaited until the hub reports
   * it gone, then the chosen class is started — one spawn request. Meanwhile the new session's
   * view says which server it is stopping (`replacing`). Cancelling during the stop leaves the old
   * server stopped and requests nothing.
   */
  switchClass(facilityId: string, classId: string, serverName = ''): SessionView {
    const profile = this.profile(facilityId);
    const user = this.fstate(facilityId).username;
    if (!user) throw new RoamlabError('credentials-missing', `You are not signed in to ${profile.name}.`, 'Sign in first.');
    const klass = pickClass(this.classes(profile), classId, profile.name);
    const open = this.openOn(facilityId, serverName);
    const where = `${serverName ? `server "${serverName}"` : 'your server'} at ${profile.name}`;
    for (const [, l] of open) {
      if (l.view.replacing !== undefined || !SWITCHABLE.has(l.view.state)) {
        throw new RoamlabError('hub-already-running', `${capitalize(where)} is still starting.`, 'Wait until it is ready, or cancel its start first.');
      }
    }
    const previous = open[0]?.[1].view.classLabel;
    const access = this.access(profile, user);
    return this.launch(profile, user, klass, serverName, {
      replacing: previous ?? '',
      reason: `stopping ${previous ? `your ${previous} server` : 'your running server'} at ${profile.name} first`,
      prepare: async (live) => {
        for (const [sid, l] of open) {
          l.abort.abort();
          await l.session.close(`replaced by a ${klass.label} server`);
          this.sessions.delete(sid);
        }
        await withSignedInHub(access, async (hub, token) => {
          const model = await hub.server(token, user, serverName);
          if (!model || (!model.ready && !model.pending) || model.stopped === true) return;
          const label = previous ?? this.classOf(profile, model)?.label;
          if (label && label !== live.view.replacing) {
            live.view = { ...live.view, replacing: label, reason: `stopping your ${label} server at ${profile.name} first` };
            this.publish(live);
          }
          // Resolves once the hub reports the server gone (or throws after its timeout).
          await hub.stop(token, user, serverName);
        });
        this.send({ type: 'servers-changed' });
      },
    });
  }

  private classOf(profile: FacilityProfile, s: ServerModel): OfferedClass | undefined {
    return this.classes(profile).find((c) => Object.entries(c.userOptions).every(([k, v]) => s.user_options?.[k] === v));
  }

  /**
   * Make the session and follow it. `before`, when given, runs first (switchClass stops the old
   * server there); its failure ends the new session with its error, and a cancel during it ends
   * the session before anything is requested.
   */
  private launch(
    profile: FacilityProfile,
    user: string,
    klass: OfferedClass,
    serverName: string,
    before?: { replacing: string; reason: string; prepare: (live: LiveSession) => Promise<void> },
    place?: string,
  ): SessionView {
    const facilityId = profile.id;
    const sessionId = randomBytes(8).toString('hex');
    const abort = new AbortController();
    const session = new Session({
      profile,
      keychain: this.o.keychain,
      username: user,
      notebookClass: klass,
      serverName,
      place,
      log: this.log,
      openTransport: (signal) => this.transport(profile, user, { signal }),
      monitor: { thresholds: this.fstate(facilityId).thresholds, visible: true },
    });
    const live: LiveSession = {
      session,
      abort,
      view: {
        sessionId,
        facilityId,
        facilityName: profile.name,
        serverName,
        classId: klass.id,
        classLabel: klass.label,
        state: 'signed-out',
        reason: before?.reason ?? 'starting',
        requestedAt: Date.now(),
        runtimeHours: klass.runtimeHours,
        ...(before ? { replacing: before.replacing } : {}),
      },
    };
    this.sessions.set(sessionId, live);
    session.on('state', (s) => {
      live.view = {
        ...live.view,
        state: s.name,
        reason: s.reason,
        progress: s.name === 'spawning' ? s.progress : s.name === 'ready' ? 100 : live.view.progress,
        started: session.serverModel?.started ?? live.view.started,
        error: s.name === 'ended' ? s.error : undefined,
        connection: connectionOf(s),
      };
      this.publish(live);
      this.tellConnection(live, s);
      // Back after a drop: the Lab window is still open on the same page; nothing to open.
      if (s.name === 'ready' && s.downForMs !== undefined) return;
      if (s.name === 'ready') {
        void this.patchState(facilityId, { lastClass: klass.id }).then(() => this.send({ type: 'facilities-changed' }));
        void this.o.hooks.openLab({ sessionId, url: s.url, facilityId, title: labTitle(profile.name, klass.label, serverName) });
        this.send({ type: 'servers-changed' });
      }
    });
    const thresholds = resolveThresholds(this.fstate(facilityId).thresholds);
    const marks = [...thresholds.runtimeMarksMs].sort((a, b) => b - a);
    session.on('metrics', (m) => {
      live.view = {
        ...live.view,
        metrics: {
          at: m.at,
          rssBytes: m.rssBytes,
          limitBytes: m.limitBytes,
          limitSource: m.limitSource,
          memoryPercent: memoryPercent(m),
          cpuPercent: m.cpuPercent,
          cpuCount: m.cpuCount,
          runtimeLeftMs: m.runtimeLeftMs,
          memoryWarningPercent: thresholds.memoryWarningPercent,
          memoryCriticalPercent: thresholds.memoryCriticalPercent,
          runtimeWarningMs: marks[0] ?? 30 * 60_000,
          runtimeCriticalMs: marks.at(-1) ?? 5 * 60_000,
        },
      };
      this.publish(live);
    });
    session.on('limit', (e) => {
      const limit = { kind: e.kind, level: e.level, title: e.title, body: e.body, action: e.action, at: e.at };
      live.view = { ...live.view, lastLimit: limit };
      this.send({ type: 'limit', sessionId, facilityId, limit });
      this.publish(live);
    });
    session.on('notice', (n) => {
      live.view = { ...live.view, notice: n.message };
      this.publish(live);
    });
    const run = async (): Promise<void> => {
      if (before) {
        try {
          await before.prepare(live);
        } catch (e) {
          live.view = { ...live.view, state: 'ended', replacing: undefined, error: errorInfo(e), reason: errorInfo(e).message };
          this.publish(live);
          return;
        }
        if (abort.signal.aborted) {
          const was = live.view.replacing ? `${live.view.replacing} ` : '';
          live.view = { ...live.view, state: 'ended', replacing: undefined, reason: `cancelled; your ${was}server was stopped, and no ${klass.label} server was requested`, error: undefined };
          this.publish(live);
          return;
        }
        live.view = { ...live.view, replacing: undefined, reason: 'starting' };
        this.publish(live);
      }
      await session.start(abort.signal).catch((e) => {
        if (abort.signal.aborted) live.view = { ...live.view, state: 'ended', reason: 'cancelled; the hub was asked to stop the server', error: undefined };
        else live.view = { ...live.view, state: 'ended', error: errorInfo(e), reason: errorInfo(e).message };
        this.publish(live);
      });
    };
    this.publish(live);
    void run();
    return { ...live.view };
  }

  /** One session's view now, if this app holds it (the Lab window's strip reads its own). */
  sessionView(sessionId: string): SessionView | undefined {
    const live = this.sessions.get(sessionId);
    return live ? { ...live.view } : undefined;
  }

  /** Ask the launcher to show a facility's class picker (the strip's "Pick a bigger class"). */
  requestClassPicker(facilityId: string): void {
    this.send({ type: 'pick-class', facilityId });
  }

  private live(sessionId: string): LiveSession {
    const live = this.sessions.get(sessionId);
    if (!live) throw new RoamlabError('usage', 'That session is no longer open.', 'Start it again from the facility.');
    return live;
  }

  /** The Lab window was shown or hidden: the monitor polls every 5 s, or every 30 s. */
  setLabVisible(sessionId: string, visible: boolean): void {
    this.sessions.get(sessionId)?.session.setVisible(visible);
  }

  /** "Reconnect now" on a session that waits for its next attempt. */
  reconnectSession(sessionId: string): SessionView {
    const live = this.live(sessionId);
    live.session.reconnectNow();
    return { ...live.view };
  }

  /** The network changed or the computer woke up: every open session hears it. */
  signalAll(kind: OutsideSignal): number {
    let n = 0;
    for (const live of this.sessions.values()) {
      if (live.view.state === 'ended') continue;
      live.session.signal(kind);
      n++;
    }
    return n;
  }

  /**
   * Native notifications about the connection (connectionNotice decides): one when a drop has
   * lasted 5 s, one when that drop is over. Short drops show in the windows only.
   */
  private tellConnection(live: LiveSession, s: Session['state']): void {
    const tell = (state: string, downForMs: number) => {
      const notice = connectionNotice({ facilityName: live.view.facilityName, state, downForMs, toldLost: !!live.toldLost });
      if (!notice) return;
      live.toldLost = notice.kind === 'lost';
      this.send({ type: 'connection', sessionId: live.view.sessionId, facilityId: live.view.facilityId, notice });
    };
    if (s.name === 'degraded') {
      if (live.lostTimer) clearTimeout(live.lostTimer);
      const since = s.since;
      live.lostTimer = setTimeout(() => {
        live.lostTimer = undefined;
        const now = live.session.state.name;
        if (now === 'degraded' || now === 'reconnecting') tell(now, Date.now() - since);
      }, 5000);
      live.lostTimer.unref();
      return;
    }
    if (s.name === 'reconnecting') return;
    if (live.lostTimer) clearTimeout(live.lostTimer);
    live.lostTimer = undefined;
    if (s.name === 'ready' && s.downForMs !== undefined) tell('ready', s.downForMs);
    live.toldLost = false;
  }

  cancelSession(sessionId: string): SessionView {
    const live = this.live(sessionId);
    live.abort.abort();
    return { ...live.view };
  }

  /** A core-made script's result in the session's open Lab page (ShellHooks.runInLab); undefined if none ran. */
  private async runInLab(sessionId: string, script: string): Promise<unknown> {
    if (!this.o.hooks.runInLab) return undefined;
    try {
      return await this.o.hooks.runInLab(sessionId, script);
    } catch (e) {
      this.log.info(`a script in the Lab page failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  openSession(sessionId: string, place?: string): { url: string } {
    const live = this.live(sessionId);
    const url = live.session.entryUrl(place);
    void this.o.hooks.openLab({ sessionId, url, facilityId: live.view.facilityId, title: labTitle(live.view.facilityName, live.view.classLabel, live.view.serverName) });
    return { url };
  }

  async closeSession(sessionId: string): Promise<void> {
    const live = this.live(sessionId);
    live.abort.abort();
    await live.session.close();
    this.sessions.delete(sessionId);
  }

  async stopServer(facilityId: string, serverName: string): Promise<void> {
    for (const [sid, live] of this.sessions) {
      if (live.view.facilityId === facilityId && live.view.serverName === serverName) {
        live.abort.abort();
        await live.session.close('server stopped from Roamlab');
        this.sessions.delete(sid);
      }
    }
    const profile = this.profile(facilityId);
    const user = this.fstate(facilityId).username;
    if (!user) throw new RoamlabError('credentials-missing', `You are not signed in to ${profile.name}.`, 'Sign in first.');
    await withSignedInHub(this.access(profile, user), (hub, token) => hub.stop(token, user, serverName));
    this.send({ type: 'servers-changed' });
  }

  /** Every server the hubs report for the facilities you are signed in to. */
  async listServers(): Promise<ServersReply> {
    const catalog = this.catalog ?? (await this.load());
    const servers: ServerView[] = [];
    const unreachable: ServersReply['unreachable'] = [];
    await Promise.all(
      catalog.profiles.map(async ({ profile }) => {
        const user = this.fstate(profile.id).username;
        if (!user || !(await this.o.keychain.get(accountName(profile.id, 'token', user)))) return;
        try {
          // A refresh nobody asked for does not ask for a one-time code: it uses the facility's
          // open connection, or opens one that needs no code, or says why this facility's servers
          // are missing.
          const notNow = (p: SshAuthPrompt) => Promise.reject(promptNotNow(profile, p));
          const quiet: HubAccess = { ...this.access(profile, user), answerPrompts: notNow, transport: () => this.transport(profile, user, { answerPrompts: notNow }, 'open') };
          const found = await withSignedInHub(quiet, (hub, token) => hub.servers(token, user));
          for (const s of found) servers.push(this.serverView(profile, s));
        } catch (e) {
          unreachable.push({ facilityId: profile.id, error: errorInfo(e) });
        }
      }),
    );
    servers.sort((a, b) => a.facilityName.localeCompare(b.facilityName) || a.serverName.localeCompare(b.serverName));
    return { servers, unreachable };
  }

  private serverView(profile: FacilityProfile, s: ServerModel): ServerView {
    const klass = this.classOf(profile, s);
    const live = [...this.sessions.values()].find((l) => l.view.facilityId === profile.id && l.view.serverName === s.name && l.view.state !== 'ended');
    return {
      facilityId: profile.id,
      facilityName: profile.name,
      serverName: s.name,
      ready: s.ready,
      pending: s.pending,
      started: s.started ?? undefined,
      classId: klass?.id,
      classLabel: klass?.label,
      runtimeHours: klass?.runtimeHours,
      sessionId: live?.view.sessionId,
    };
  }

  /** Close every tunnel (the servers keep running). For quitting the app. */
  async dispose(): Promise<void> {
    this.hostKeyQuestions.answerAll(false);
    this.promptQuestions.answerAll(null);
    await Promise.all([...this.sessions.keys()].map((sid) => this.closeSession(sid).catch(() => undefined)));
    await this.transports.closeAll();
  }
}

/** States of an open session that "switch class" may replace (not while it is still starting). */
const SWITCHABLE: ReadonlySet<SessionView['state']> = new Set(['ready', 'degraded', 'reconnecting']);

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function classInfo(c: OfferedClass): ClassInfo {
  return { id: c.id, label: c.label, description: c.description, memoryGB: c.memoryGB, cores: c.cores, runtimeHours: c.runtimeHours, source: c.source };
}

export function labTitle(facility: string, klass: string, server: string): string {
  return `${facility} — ${klass}${server ? ` — ${server}` : ''}`;
}

/** The connection part of a session's view, from its state. */
function connectionOf(s: Session['state']): SessionView['connection'] {
  switch (s.name) {
    case 'degraded':
      return { since: s.since, cause: s.cause };
    case 'reconnecting':
      return {
        since: s.since,
        attempt: s.attempt,
        nextTryAt: s.nextTryInMs !== undefined ? Date.now() + s.nextTryInMs : undefined,
        lastError: s.lastError,
      };
    case 'ready':
      return s.downForMs !== undefined ? { since: Date.now() - s.downForMs, downForMs: s.downForMs } : undefined;
    default:
      return undefined;
  }
}

/** The error of a background refresh that met an SSH server's prompt (a one-time code, a password). */
function promptNotNow(profile: FacilityProfile, p: SshAuthPrompt): RoamlabError {
  return new RoamlabError(
    'ssh-auth-failed',
    `${profile.name}'s servers are not listed: its ${hopNoun(p)} asks for a one-time code or password to connect, and Roamlab is not connected to it now.`,
    'Start a session or resume a bookmark to connect; Roamlab asks for the code then, and lists the servers while it stays connected.',
    { host: p.host, port: p.port, prompted: 0 },
  );
}

/** Questions awaiting a person's answer, by prompt id (the id travels to the dialog and back). */
class PendingQuestions<A> {
  private readonly waiting = new Map<string, (answer: A) => void>();

  /**
   * A new question: `send` shows it under its id; resolves with the answer. When `withdrawn`
   * aborts first, `withdraw` takes it off the screen and it resolves with `unanswered`.
   */
  ask(send: (promptId: string) => void, withdrawn: AbortSignal | undefined, withdraw: (promptId: string) => void, unanswered: A): Promise<A> {
    return new Promise((resolve) => {
      const promptId = randomBytes(8).toString('hex');
      const onWithdrawn = () => {
        if (!this.waiting.delete(promptId)) return;
        withdraw(promptId);
        resolve(unanswered);
      };
      this.waiting.set(promptId, (answer) => {
        withdrawn?.removeEventListener('abort', onWithdrawn);
        resolve(answer);
      });
      send(promptId);
      if (withdrawn?.aborted) onWithdrawn();
      else withdrawn?.addEventListener('abort', onWithdrawn, { once: true });
    });
  }

  /** False when no question with this id waits (answered already, or never asked). */
  answer(promptId: string, answer: A): boolean {
    const resolve = this.waiting.get(promptId);
    if (!resolve) return false;
    this.waiting.delete(promptId);
    resolve(answer);
    return true;
  }

  /** Answer every open question with `answer` (the app is quitting). */
  answerAll(answer: A): void {
    for (const resolve of this.waiting.values()) resolve(answer);
    this.waiting.clear();
  }
}
