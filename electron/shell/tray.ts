/**
 * The tray icon: the open sessions (each opens its Lab), the launcher, and Quit, with the
 * session nearest its limit as the tooltip. Rebuilt on every session event.
 */
import { Menu, Tray, app, nativeImage, type MenuItemConstructorOptions } from 'electron';
import path from 'node:path';
import { errorInfo, type LauncherService } from '../core/app/launcher-service';
import type { RoamlabEvent, SessionView } from '../common/ipc-contract';
import type { Disposable } from './disposable';
import type { Notify } from './notifications';
import { trayTooltip } from './tray-tooltip';

export interface TrayOptions {
  service: LauncherService;
  notify: Notify;
  showLauncher: () => void;
}

const OPENABLE: ReadonlySet<SessionView['state']> = new Set(['ready', 'degraded']);

function label(s: SessionView): string {
  const server = s.serverName ? ` — ${s.serverName}` : '';
  return `${s.facilityName} — ${s.classLabel}${server} (${s.state})`;
}

/** The tray, or undefined where the icon cannot be loaded (then the app works without one). */
export function createTray(o: TrayOptions): (Disposable & { hasTray: true }) | undefined {
  const icon = nativeImage.createFromPath(path.join(app.getAppPath(), 'assets', 'icon.png'));
  if (icon.isEmpty()) {
    o.service.log.warn('tray: assets/icon.png not found; running without a tray icon');
    return undefined;
  }
  const tray = new Tray(icon.resize({ width: process.platform === 'darwin' ? 18 : 22 }));
  tray.setToolTip('Roamlab');

  const open = (s: SessionView) => {
    try {
      o.service.openSession(s.sessionId);
    } catch (e) {
      const info = errorInfo(e);
      o.notify({ title: `Could not open ${s.facilityName}`, body: `${info.message} ${info.hint}` });
    }
  };

  const refresh = () => {
    const sessions = o.service.listSessions().filter((s) => s.state !== 'ended');
    // The session nearest its limit (memory or runtime), refreshed with every sample.
    tray.setToolTip(trayTooltip(sessions, Date.now()));
    const items: MenuItemConstructorOptions[] = sessions.length
      ? sessions.map((s) => ({ label: label(s), enabled: OPENABLE.has(s.state), click: () => open(s) }))
      : [{ label: 'No open sessions', enabled: false }];
    tray.setContextMenu(
      Menu.buildFromTemplate([
        ...items,
        { type: 'separator' },
        { label: 'Show Roamlab', click: () => o.showLauncher() },
        { role: 'quit', label: 'Quit Roamlab' },
      ]),
    );
  };
  const onEvent = (e: RoamlabEvent) => {
    if (e.type === 'session') refresh();
  };
  o.service.on('event', onEvent);
  refresh();

  return {
    hasTray: true,
    dispose() {
      o.service.off('event', onEvent);
      tray.destroy();
    },
  };
}
