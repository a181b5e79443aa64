/**
 * The JupyterLab windows: one per session, on the session's local gateway. Each is a window with
 * two views: the Lab page, and above it a slim status strip of the shell's own (node stats,
 * runtime left, the session's state), so the numbers stay in sight whatever the page does.
 *
 * The Lab view has its facility's own persistent partition (its cookies and Lab state stay apart
 * from every other facility and from the launcher), no preload, and the navigation and
 * permission policies of electron/core/policy. The strip is the app's own page (app://roamlab/
 * strip.html, the launcher's CSP) in the default session, sandboxed, with a preload that exposes
 * only its own small contract; main tells its session by the sender. This file only wires them.
 */
import { BaseWindow, Menu, WebContentsView, dialog, session as electronSession, type Session, type WebContents, type WebPreferences } from 'electron';
import { errorInfo, type LauncherService, type ShellHooks } from '../core/app/launcher-service';
import { decideNavigation, decideNewWindow, gatewayOriginOf } from '../core/policy/navigation';
import { decidePermission, decidePermissionForAny } from '../core/policy/permission';
import type { RoamlabEvent, SessionView } from '../common/ipc-contract';
import { isStripUrl } from '../core/ipc/strip-handlers';
import type { Disposable } from './disposable';
import { describeUrl, guardNavigation, openExternal } from './navigation-guard';
import type { Notify } from './notifications';

export type LabOpenInfo = Parameters<ShellHooks['openLab']>[0];

export interface LabWindowsOptions {
  service: LauncherService;
  notify: Notify;
  /** The menu of a Lab window (Windows, Linux); on macOS onFocus swaps the app menu. */
  menu: (actions: { stopServer?: () => void }) => Menu;
  /** A Lab window got the focus (macOS: its "Stop Server…" goes into the application menu). */
  onFocus?: (stopServer: () => void) => void;
  /** The strip's page (app://roamlab/strip.html) and its preload (strip-preload.js). */
  strip: { url: string; preload: string; appOrigin: string };
}

interface LabEntry {
  sessionId: string;
  facilityId: string;
  partition: string;
  gatewayOrigin: string;
  win: BaseWindow;
  lab: WebContentsView;
  strip: WebContentsView;
  /** Why the window is closing when it is not the person's doing. */
  closingBecause?: 'session-ended' | 'quitting';
  /** The Lab page has agreed to go (or was told to): the window may close now. */
  labGone: boolean;
}

/** The strip's height in device-independent pixels: one line of text. */
export const STRIP_HEIGHT = 30;

export function labPartition(facilityId: string): string {
  return `persist:facility-${facilityId}`;
}

/** The strip: the app's own page in the default session, with its one narrow preload. */
function stripWebPreferences(preload: string): WebPreferences {
  return {
    preload, /* eng-disable PRELOAD_JS_CHECK */ // reviewed: sandboxed, context-isolated, self-contained; exposes one named function per strip channel and onEvent (payload only), never ipcRenderer — pinned by test/unit/strip-preload.test.ts
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    spellcheck: false,
    disableBlinkFeatures: 'Auxclick',
  };
}

function labWebPreferences(partition: string): WebPreferences {
  return {
    partition,
    sandbox: true,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    // Chromium's spellchecker fetches dictionaries from Google; Lab brings its own.
    spellcheck: false,
  };
}

/** Which session a strip's webContents belongs to, for the strip's IPC (electron/shell/ipc.ts). */
export interface StripRegistry {
  sessionOf(webContentsId: number): string | undefined;
  all(): { sessionId: string; contents: WebContents }[];
}

export class LabWindows implements Disposable, StripRegistry {
  private readonly bySession = new Map<string, LabEntry>();
  /** Gateway origin of every Lab webContents (windows and their children), for permissions. */
  private readonly originByContents = new Map<number, string>();
  private readonly guardedPartitions = new Set<string>();
  /** Servers already told that closing the window keeps them running. */
  private readonly toldKeepsRunning = new Set<string>();
  private readonly onServiceEvent = (e: RoamlabEvent) => {
    if (e.type === 'session' && e.session.state === 'ended') this.closeFor(e.session.sessionId, 'session-ended');
  };

  constructor(private readonly o: LabWindowsOptions) {
    o.service.on('event', this.onServiceEvent);
  }

  private log(line: string): void {
    this.o.service.log.info(`lab window: ${line}`);
  }

  private view(sessionId: string): SessionView | undefined {
    return this.o.service.listSessions().find((s) => s.sessionId === sessionId);
  }

  /** The session's Lab window, if it and its page are open. */
  private openEntry(sessionId: string): LabEntry | undefined {
    const entry = this.bySession.get(sessionId);
    return !entry || entry.win.isDestroyed() || entry.lab.webContents.isDestroyed() ? undefined : entry;
  }

  /** ShellHooks.labLocation: the address the session's Lab page shows now. */
  location(sessionId: string): string | undefined {
    return this.openEntry(sessionId)?.lab.webContents.getURL();
  }

  /** ShellHooks.runInLab: run a script the core made in the session's open Lab page. */
  async runInLab(sessionId: string, script: string): Promise<unknown> {
    // As a user gesture: the classic interface's place script opens a window.
    return (await this.openEntry(sessionId)?.lab.webContents.executeJavaScript(script, true)) as unknown;
  }

  /** ShellHooks.openLab: show the session's Lab, focusing its window if it is already open. */
  open(info: LabOpenInfo): void {
    const existing = this.bySession.get(info.sessionId);
    if (existing && !existing.win.isDestroyed()) {
      if (existing.win.isMinimized()) existing.win.restore();
      existing.win.show();
      existing.win.focus();
      return;
    }
    const gatewayOrigin = gatewayOriginOf(info.url);
    if (!gatewayOrigin) {
      this.log(`refused to open ${describeUrl(info.url)}: not a local gateway`);
      return;
    }
    const partition = labPartition(info.facilityId);
    this.guardPartition(electronSession.fromPartition(partition), info.facilityId);

    const win = new BaseWindow({
      width: 1280,
      height: 860,
      minWidth: 640,
      minHeight: 480,
      title: info.title,
    });
    // The same preferences its child windows get, with the three that matter most spelled out here.
    const lab = new WebContentsView({ webPreferences: { ...labWebPreferences(partition), sandbox: true, contextIsolation: true, nodeIntegration: false } });
    const strip = new WebContentsView({ webPreferences: { ...stripWebPreferences(this.o.strip.preload), sandbox: true, contextIsolation: true, nodeIntegration: false } });
    win.contentView.addChildView(lab);
    win.contentView.addChildView(strip);
    const entry: LabEntry = { sessionId: info.sessionId, facilityId: info.facilityId, partition, gatewayOrigin, win, lab, strip, labGone: false };
    this.bySession.set(info.sessionId, entry);
    this.guardContents(lab.webContents, entry);
    this.guardStrip(strip.webContents);

    // The strip on top, one line high; the Lab page below it, filling the rest.
    const layout = () => {
      if (win.isDestroyed()) return;
      const { width, height } = win.getContentBounds();
      strip.setBounds({ x: 0, y: 0, width, height: STRIP_HEIGHT });
      lab.setBounds({ x: 0, y: STRIP_HEIGHT, width, height: Math.max(0, height - STRIP_HEIGHT) });
    };
    layout();
    win.on('resize', layout);
    win.on('maximize', layout);
    win.on('unmaximize', layout);
    win.on('enter-full-screen', layout);
    win.on('leave-full-screen', layout);

    const stop = () => void this.stopServer(entry);
    if (process.platform !== 'darwin') win.setMenu(this.o.menu({ stopServer: stop }));
    // The limits monitor samples every 5 s while the Lab is on screen, every 30 s otherwise.
    const visibility = () => {
      if (!win.isDestroyed()) this.o.service.setLabVisible(entry.sessionId, win.isVisible() && !win.isMinimized());
    };
    win.on('show', visibility);
    win.on('hide', visibility);
    win.on('minimize', visibility);
    win.on('restore', visibility);
    win.on('blur', visibility);
    win.on('focus', () => {
      visibility();
      // Keys go to the Lab page, not the strip.
      if (!lab.webContents.isDestroyed()) lab.webContents.focus();
      this.o.onFocus?.(stop);
    });
    win.on('close', (event) => this.onClose(entry, event));
    win.on('closed', () => {
      // A view's page is not closed with its window: end both here.
      for (const v of [lab, strip]) if (!v.webContents.isDestroyed()) v.webContents.close();
      if (this.bySession.get(entry.sessionId) === entry) {
        this.bySession.delete(entry.sessionId);
        this.o.service.setLabVisible(entry.sessionId, false);
      }
    });
    lab.webContents.once('destroyed', () => {
      entry.labGone = true;
      if (!win.isDestroyed()) win.close();
    });
    // Lab asks before leaving with unsaved changes (beforeunload); the person decides.
    lab.webContents.on('will-prevent-unload', (event) => {
      const choice = dialog.showMessageBoxSync(win, {
        type: 'question',
        buttons: ['Close anyway', 'Keep open'],
        defaultId: 1,
        cancelId: 1,
        message: 'JupyterLab has unsaved changes.',
        detail: 'Closing the window loses the changes not saved in open notebooks; the server keeps running.',
      });
      if (choice === 0) event.preventDefault();
    });

    strip.webContents.loadURL(this.o.strip.url).catch((e: unknown) => this.log(`the status strip did not load (${(e as Error).message})`));
    // The entry URL holds a one-time key; it is never logged.
    lab.webContents.loadURL(info.url).catch((e: unknown) => this.log(`${gatewayOrigin} did not load (${(e as Error).message})`));
  }

  // StripRegistry: the strip IPC asks which session a sender's strip shows.
  sessionOf(webContentsId: number): string | undefined {
    for (const e of this.bySession.values()) if (!e.strip.webContents.isDestroyed() && e.strip.webContents.id === webContentsId) return e.sessionId;
    return undefined;
  }

  all(): { sessionId: string; contents: WebContents }[] {
    return [...this.bySession.values()].filter((e) => !e.strip.webContents.isDestroyed()).map((e) => ({ sessionId: e.sessionId, contents: e.strip.webContents }));
  }

  /** The strip shows its own page only; it opens no window and goes nowhere else. */
  private guardStrip(contents: WebContents): void {
    guardNavigation(contents, (url) => (isStripUrl(url, this.o.strip.appOrigin) ? 'allow' : 'deny'), (line) => this.log(`strip: ${line}`));
    contents.setWindowOpenHandler(({ url }) => {
      this.log(`strip: blocked window for ${describeUrl(url)}`);
      return { action: 'deny' };
    });
  }

  /** Bring a session's Lab window forward; false when it has none open. */
  focus(sessionId: string): boolean {
    const entry = this.bySession.get(sessionId);
    if (!entry || entry.win.isDestroyed()) return false;
    if (entry.win.isMinimized()) entry.win.restore();
    entry.win.show();
    entry.win.focus();
    return true;
  }

  /** The same guards on a Lab window and on every child window it opens. */
  private guardContents(contents: WebContents, entry: LabEntry): void {
    const id = contents.id;
    this.originByContents.set(id, entry.gatewayOrigin);
    contents.once('destroyed', () => this.originByContents.delete(id));
    guardNavigation(contents, (url) => decideNavigation(url, entry.gatewayOrigin), (line) => this.log(line));
    contents.setWindowOpenHandler(({ url }) => {
      const decision = decideNewWindow(url, entry.gatewayOrigin);
      if (decision === 'allow') {
        return { action: 'allow', overrideBrowserWindowOptions: { autoHideMenuBar: true, webPreferences: labWebPreferences(entry.partition) } };
      }
      if (decision === 'open-external') openExternal(url);
      else this.log(`blocked window for ${describeUrl(url)}`);
      return { action: 'deny' };
    });
    contents.on('did-create-window', (child) => this.guardContents(child.webContents, entry));
  }

  /**
   * Permissions for a facility's partition, set once. A request is measured against the gateway
   * origin of the window that made it; a check that arrives without a window (workers), against
   * every Lab window open on this partition.
   */
  private guardPartition(ses: Session, facilityId: string): void {
    const partition = labPartition(facilityId);
    if (this.guardedPartitions.has(partition)) return;
    this.guardedPartitions.add(partition);
    const originsHere = () => [...this.bySession.values()].filter((e) => e.partition === partition).map((e) => e.gatewayOrigin);
    ses.setPermissionRequestHandler((contents, permission, callback, details) => {
      const origin = this.originByContents.get(contents.id);
      callback(origin !== undefined && decidePermission(permission, details.requestingUrl, origin));
    });
    ses.setPermissionCheckHandler((contents, permission, requestingOrigin, details) => {
      const url = details.requestingUrl ?? requestingOrigin;
      if (contents) {
        const origin = this.originByContents.get(contents.id);
        return origin !== undefined && decidePermission(permission, url, origin);
      }
      return decidePermissionForAny(permission, url, originsHere());
    });
    // HID, USB, serial, Bluetooth: never.
    ses.setDevicePermissionHandler(() => false);
  }

  /**
   * A window closes in two steps: first the Lab page is asked to go (its beforeunload may ask the
   * person, see will-prevent-unload), then, once it has gone, the window. When the session ended or
   * the app quits, the page is not asked.
   */
  private onClose(entry: LabEntry, event: { preventDefault(): void }): void {
    if (!entry.labGone) {
      event.preventDefault();
      const contents = entry.lab.webContents;
      if (!contents.isDestroyed()) contents.close({ waitForBeforeUnload: !entry.closingBecause });
      return;
    }
    if (entry.closingBecause) return;
    const view = this.view(entry.sessionId);
    if (!view || view.state === 'ended') return;
    const key = `${view.facilityId}/${view.serverName}`;
    if (this.toldKeepsRunning.has(key)) return;
    this.toldKeepsRunning.add(key);
    this.o.notify({
      title: 'Your server keeps running',
      body: `Your server at ${view.facilityName} keeps running. Stop it from Roamlab's sessions list.`,
    });
  }

  private closeFor(sessionId: string, because: 'session-ended' | 'quitting'): void {
    const entry = this.bySession.get(sessionId);
    if (!entry || entry.win.isDestroyed()) return;
    entry.closingBecause = because;
    entry.win.close();
  }

  private async stopServer(entry: LabEntry): Promise<void> {
    const view = this.view(entry.sessionId);
    if (!view || entry.win.isDestroyed()) return;
    const { response } = await dialog.showMessageBox(entry.win, {
      type: 'warning',
      buttons: ['Stop server', 'Cancel'],
      defaultId: 1,
      cancelId: 1,
      message: `Stop your server at ${view.facilityName}?`,
      detail: 'Running kernels end, and changes not saved in open notebooks are lost. The hub frees the node for others.',
    });
    if (response !== 0) return;
    try {
      await this.o.service.stopServer(view.facilityId, view.serverName);
    } catch (e) {
      const info = errorInfo(e);
      this.o.notify({ title: `Could not stop the server at ${view.facilityName}`, body: `${info.message} ${info.hint}` });
    }
  }

  dispose(): void {
    this.o.service.off('event', this.onServiceEvent);
    for (const sessionId of [...this.bySession.keys()]) this.closeFor(sessionId, 'quitting');
  }
}
