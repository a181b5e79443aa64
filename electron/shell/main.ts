/**
 * The main process: the thin Electron adapter over the core's LauncherService. It makes the
 * windows, registers the one IPC contract, and forwards events; every decision it acts on
 * (which sender, which request, which navigation, which permission, which file) is made by a
 * pure function in electron/core.
 */
import { BrowserWindow, Menu, app, nativeTheme, powerMonitor } from 'electron';
import path from 'node:path';
import { LauncherService, type ShellHooks } from '../core/app/launcher-service';
import type { RoamlabEvent } from '../common/ipc-contract';
import { createHandlerTable } from '../core/ipc/handlers';
import { STRIP_PATH, createStripHandlerTable } from '../core/ipc/strip-handlers';
import { OsKeychain } from '../core/keychain/os-keychain';
import { roamlabHome } from '../core/paths';
import { APP_ENTRY_URL, APP_ORIGIN } from '../core/policy/app-protocol';
import { launcherNavigationAllowed } from '../core/policy/navigation';
import { decideLauncherPermission } from '../core/policy/permission';
import { DisposableStore } from './disposable';
import { registerIpc, registerStripIpc } from './ipc';
import { LabWindows } from './lab-window';
import { buildMenu } from './menu';
import { guardNavigation, openExternal } from './navigation-guard';
import { notify, notifyLimit } from './notifications';
import { registerAppScheme, serveApp } from './serve-app';
import { webSignIn } from './signin-window';
import { createTray } from './tray';

const APP_USER_MODEL_ID = 'org.roamlab.launcher'; // electron-builder.yml appId
/** A quit waits this long at most for tunnels to close. */
const DISPOSE_TIMEOUT_MS = 5000;

// One folder for everything: the core's files (facilities, state, logs) and Chromium's (the
// Lab partitions). roamlabHome() is $ROAMLAB_HOME or the platform folder Electron would call
// userData for "Roamlab"; setting both makes them the same by construction.
app.setName('Roamlab');
app.setPath('userData', roamlabHome());
app.setAppUserModelId(APP_USER_MODEL_ID);
registerAppScheme();

if (!app.requestSingleInstanceLock()) {
  // A second launch hands over to the first (see 'second-instance') and leaves.
  app.quit();
} else {
  start();
}

function start(): void {
  const disposables = new DisposableStore();
  let launcher: BrowserWindow | undefined;
  // A launcher made anew hears events only once its page has subscribed; it asks for the
  // facilities right after, so its first request says it listens.
  let launcherListening = false;
  let pendingPickClass: string | undefined;

  const hooks: ShellHooks = {
    openLab: (info) => labs.open(info),
    labLocation: (sessionId) => labs.location(sessionId),
    runInLab: (sessionId, script) => labs.runInLab(sessionId, script),
    webSignIn: (info) => webSignIn(info, launcher && !launcher.isDestroyed() ? launcher : undefined),
  };
  const service: LauncherService = new LauncherService({ home: roamlabHome(), keychain: new OsKeychain(), hooks });

  /** Bring the launcher forward; with `pickClassFor`, on that facility's class picker. */
  const showLauncher = (pickClassFor?: string): void => {
    if (!app.isReady()) return;
    if (!launcher || launcher.isDestroyed()) {
      launcherListening = false;
      launcher = createLauncherWindow((line) => service.log.warn(`launcher: ${line}`));
    }
    if (launcher.isMinimized()) launcher.restore();
    launcher.show();
    launcher.focus();
    if (pickClassFor && launcherListening) service.requestClassPicker(pickClassFor);
    else if (pickClassFor) pendingPickClass = pickClassFor;
  };
  const onLauncherRequest = (): void => {
    launcherListening = true;
    const pick = pendingPickClass;
    pendingPickClass = undefined;
    if (pick) service.requestClassPicker(pick);
  };
  const menuFor = (stopServer?: () => void) => buildMenu({ stopServer, showLauncher });

  const labs: LabWindows = disposables.add(
    new LabWindows({
      service,
      notify,
      menu: (a) => menuFor(a.stopServer),
      // macOS has one menu bar: it shows "Stop Server…" while a Lab window has focus.
      onFocus: (stopServer) => {
        if (process.platform === 'darwin') Menu.setApplicationMenu(menuFor(stopServer));
      },
      strip: { url: `${APP_ORIGIN}${STRIP_PATH}`, preload: path.join(__dirname, 'strip-preload.js'), appOrigin: APP_ORIGIN },
    }),
  );

  // A threshold crossed (memory, runtime): a native notification; the launcher shows its banner.
  // A drop that lasted 5 s and its end (the core decides, see connectionNotice), and a session
  // that ended by itself (server gone, or a reconnect that needs the person): one each.
  const toldEnded = new Set<string>();
  const onLimit = (e: RoamlabEvent) => {
    if (e.type === 'limit') notifyLimit({ notify, focusLab: (id) => labs.focus(id), showLauncher }, e);
    if (e.type === 'connection') {
      notify({ title: e.notice.title, body: e.notice.body, onClick: () => labs.focus(e.sessionId) || showLauncher() });
    }
    if (e.type === 'session' && e.session.state === 'ended' && e.session.error && !toldEnded.has(e.session.sessionId)) {
      toldEnded.add(e.session.sessionId);
      notify({ title: `${e.session.facilityName}: session ended`, body: `${e.session.reason} ${e.session.error.hint}`, urgency: 'critical', onClick: showLauncher });
    }
  };
  service.on('event', onLimit);
  disposables.addFn(() => service.off('event', onLimit));

  app.on('second-instance', () => showLauncher());
  app.on('activate', () => showLauncher()); // macOS: the dock icon with no window open
  // A webview could load anything with its own preferences; no window here has one.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });

  // macOS has one menu bar: the launcher and other BrowserWindows have no "Stop Server…" (a Lab
  // window, a BaseWindow, sets its own through onFocus above).
  if (process.platform === 'darwin') {
    app.on('browser-window-focus', () => Menu.setApplicationMenu(menuFor()));
  }

  void app.whenReady().then(() => {
    serveApp(path.join(__dirname, '..', '..', 'renderer'));
    Menu.setApplicationMenu(menuFor());
    disposables.add(registerIpc({ table: createHandlerTable(service), service, launcher: () => launcher?.webContents, appOrigin: APP_ORIGIN, onLauncherRequest }));
    // The Lab windows' status strips: their own contract, each for its own session.
    disposables.add(registerStripIpc({ table: createStripHandlerTable(service, { showLauncher }), service, strips: labs, appOrigin: APP_ORIGIN }));
    const tray = createTray({ service, notify, showLauncher });
    if (tray) disposables.add(tray);
    // The computer woke up: every session checks its link now (and one that waits tries now),
    // rather than at its next probe or keepalive. Network changes come from the launcher page's
    // online/offline events (the networkChanged channel): the main process has no such event.
    const onResume = () => service.signalAll('resume');
    powerMonitor.on('resume', onResume);
    disposables.addFn(() => powerMonitor.off('resume', onResume));
    showLauncher();

    app.on('window-all-closed', () => {
      // With a tray and live tunnels the app stays, reachable from the tray; otherwise it quits
      // (macOS keeps apps without windows, as its users expect).
      const live = service.listSessions().some((s) => s.state !== 'ended');
      if (process.platform !== 'darwin' && !(tray && live)) app.quit();
    });
  });

  // Quit cleanly: every Lab window, tunnel, gateway and timer is released first (the servers at
  // the hubs keep running), bounded so a hung tunnel cannot keep the app from quitting.
  let quitting: 'no' | 'disposing' | 'done' = 'no';
  app.on('before-quit', (event) => {
    if (quitting === 'done') return;
    event.preventDefault();
    if (quitting === 'disposing') return;
    quitting = 'disposing';
    disposables.dispose();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, DISPOSE_TIMEOUT_MS).unref());
    void Promise.race([service.dispose().catch(() => undefined), timeout]).finally(() => {
      quitting = 'done';
      app.quit();
    });
  });
}

function createLauncherWindow(log: (line: string) => void): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 900,
    minHeight: 600,
    title: 'Roamlab',
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#1e1e1e' : '#ffffff',
    webPreferences: {
      preload: path.join(__dirname, 'preload.js'), /* eng-disable PRELOAD_JS_CHECK */ // reviewed: sandboxed, context-isolated, self-contained; exposes one named function per contract channel and onEvent (payload only), never ipcRenderer — pinned by test/unit/preload.test.ts
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      // Nothing in the launcher uses middle-click; without it a middle-clicked link cannot even ask for a window.
      disableBlinkFeatures: 'Auxclick',
    },
  });
  const wc = win.webContents;
  // Only its own pages; a web link goes to the system browser, anything else nowhere.
  guardNavigation(wc, (url) => (launcherNavigationAllowed(url, APP_ORIGIN) ? 'allow' : 'open-external'), log);
  wc.setWindowOpenHandler(({ url }) => {
    openExternal(url);
    return { action: 'deny' };
  });
  // The launcher may write to the clipboard (copy a fingerprint, an error); nothing else.
  wc.session.setPermissionRequestHandler((_contents, permission, callback, details) => callback(decideLauncherPermission(permission, details.requestingUrl, APP_ORIGIN)));
  wc.session.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) => decideLauncherPermission(permission, details.requestingUrl ?? requestingOrigin, APP_ORIGIN));
  void win.loadURL(APP_ENTRY_URL);
  return win;
}
