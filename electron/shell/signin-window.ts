import { randomBytes } from 'node:crypto';
import { BrowserWindow, session } from 'electron';

/** JupyterHub's cookie for a signed-in browser session (all versions since 0.8). */
const HUB_LOGIN_COOKIE = 'jupyterhub-hub-login';

export interface WebSignInRequest {
  facilityId: string;
  loginUrl: string;
  cookieUrl: string;
  title: string;
}

/**
 * The hub's own sign-in page (single sign-on, two-factor) in a window with a fresh in-memory
 * session: nothing from it persists, and it shares nothing with the launcher or the Lab
 * windows. When the hub sets its login cookie, the cookies for the hub's pages are handed to
 * the core (which mints an API token with them), the session is wiped and the window closes.
 * Closing the window first resolves null.
 */
export function webSignIn(req: WebSignInRequest, parent?: BrowserWindow): Promise<{ name: string; value: string }[] | null> {
  const ses = session.fromPartition(`signin-${req.facilityId}-${randomBytes(6).toString('hex')}`, { cache: false });
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  const win = new BrowserWindow({
    width: 900,
    height: 760,
    title: req.title,
    parent,
    autoHideMenuBar: true,
    webPreferences: { session: ses, sandbox: true, contextIsolation: true, nodeIntegration: false, webSecurity: true, disableBlinkFeatures: 'Auxclick' },
  });
  // Identity providers live on other origins, so the window may browse http(s); nothing else,
  // and no pop-ups.
  win.webContents.on('will-navigate', (event, url) => {
    if (!/^https?:\/\//i.test(url)) event.preventDefault();
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));

  return new Promise((resolve) => {
    let settled = false;
    const finish = async (cookies: { name: string; value: string }[] | null) => {
      if (settled) return;
      settled = true;
      await ses.clearStorageData().catch(() => undefined);
      if (!win.isDestroyed()) win.close();
      resolve(cookies);
    };
    ses.cookies.on('changed', (_event, cookie, _cause, removed) => {
      if (removed || cookie.name !== HUB_LOGIN_COOKIE) return;
      void ses.cookies.get({ url: req.cookieUrl }).then((all) => finish(all.map((c) => ({ name: c.name, value: c.value }))));
    });
    win.on('closed', () => void finish(null));
    void win.loadURL(req.loginUrl);
  });
}
