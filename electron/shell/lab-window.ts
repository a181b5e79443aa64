/**
 * The JupyterLab windows: one per session, on the session's local gateway. Each facility has its
 * own persistent partition (its cookies and Lab state stay apart from every other facility and
 * from the launcher), no preload, and the navigation and permission policies of
 * electron/core/policy. This file only wires them.
 */
import { BrowserWindow, Menu, dialog, session as electronSession, type Session, type WebContents, type WebPreferences } from 'electron';
import { errorInfo, type LauncherService, type ShellHooks } from '../core/app/launcher-service';
import { decideNavigation, decideNewWindow, gatewayOriginOf } from '../core/policy/navigation';
import { decidePermission, decidePermissionForAny } from '../core/policy/permission';
import type { RoamlabEvent, SessionView } from '../common/ipc-contract';
import type { Disposable } from './disposable';
import { describeUrl, guardNavigation, openExternal } from './navigation-guard';
import type { Notify } from './notifications';

export type LabOpenInfo = Parameters<ShellHooks['openLab']>[0];

export interface LabWindowsOptions {
  service: LauncherService;
  notify: Notify;
  /** The menu of a Lab window (Windows, Linux); on macOS main.ts swaps the app menu on focus. */
  menu: (actions: { stopServer?: () => void }) => Menu;
}

interface LabEntry {
  sessionId: string;
  facilityId: string;
  partition: string;
  gatewayOrigin: string;
  win: BrowserWindow;
  /** Why the window is closing when it is not the person's doing. */
  closingBecause?: 'session-ended' | 'quitting';
}

export function labPartition(facilityId: string): string {
  return `persist:facility-${facilityId}`;
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

export class LabWindows implements Disposable {
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

    const win = new BrowserWindow({ /* eng-disable AUXCLICK_JS_CHECK */ // Lab's tab bars close tabs on middle-click; a middle-clicked link still goes through setWindowOpenHandler (decideNewWindow) like any other new window
      width: 1280,
      height: 860,
      minWidth: 640,
      minHeight: 480,
      title: info.title,
      // The same preferences its child windows get, with the three that matter most spelled out here.
      webPreferences: { ...labWebPreferences(partition), sandbox: true, contextIsolation: true, nodeIntegration: false },
    });
    const entry: LabEntry = { sessionId: info.sessionId, facilityId: info.facilityId, partition, gatewayOrigin, win };
    this.bySession.set(info.sessionId, entry);
    this.guardContents(win.webContents, entry);

    if (process.platform !== 'darwin') win.setMenu(this.o.menu({ stopServer: () => void this.stopServer(entry) }));
    // Our title names the facility, class and server; the page's would not.
    win.on('page-title-updated', (event) => event.preventDefault());
    // The limits monitor samples every 5 s while the Lab is on screen, every 30 s otherwise.
    const visibility = () => {
      if (!win.isDestroyed()) this.o.service.setLabVisible(entry.sessionId, win.isVisible() && !win.isMinimized());
    };
    win.on('show', visibility);
    win.on('hide', visibility);
    win.on('minimize', visibility);
    win.on('restore', visibility);
    win.on('focus', visibility);
    win.on('blur', visibility);
    win.on('close', () => this.onClose(entry));
    win.on('closed', () => {
      if (this.bySession.get(entry.sessionId) === entry) {
        this.bySession.delete(entry.sessionId);
        this.o.service.setLabVisible(entry.sessionId, false);
      }
    });
    // The entry URL holds a one-time key; it is never logged.
    win.loadURL(info.url).catch((e: unknown) => this.log(`${gatewayOrigin} did not load (${(e as Error).message})`));
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

  /** The "Stop server" action of a focused Lab window, for the macOS application menu. */
  stopActionFor(win: BrowserWindow | null): (() => void) | undefined {
    const entry = [...this.bySession.values()].find((e) => e.win === win);
    return entry ? () => void this.stopServer(entry) : undefined;
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

  private onClose(entry: LabEntry): void {
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
