/**
 * The application menu: the platform's standard roles, a "Stop Server" item when the window
 * is a Lab window, and Help → the documentation shipped with the app.
 */
import path from 'node:path';
import { Menu, app, shell, type MenuItemConstructorOptions } from 'electron';

/**
 * The documentation ships with the app (electron-builder copies docs/ into the resources
 * folder), so Help works offline — on a train, say.
 */
function docsFolder(): string {
  return app.isPackaged ? path.join(process.resourcesPath, 'docs') : path.join(app.getAppPath(), 'docs');
}

export interface MenuActions {
  /** Present for a Lab window: stop its server at the hub (asks first). */
  stopServer?: () => void;
  /** Bring the launcher window back (it may have been closed). */
  showLauncher: () => void;
}

export function buildMenu(actions: MenuActions): Menu {
  const mac = process.platform === 'darwin';
  const file: MenuItemConstructorOptions[] = [
    { label: 'Roamlab Launcher', accelerator: 'CmdOrCtrl+Shift+L', click: () => actions.showLauncher() },
    { type: 'separator' },
  ];
  if (actions.stopServer) {
    const stop = actions.stopServer;
    file.push({ label: 'Stop Server…', accelerator: 'CmdOrCtrl+Alt+Shift+Q', click: () => stop() }, { type: 'separator' });
  }
  file.push(mac ? { role: 'close' } : { role: 'quit' });

  const view: MenuItemConstructorOptions[] = [{ role: 'reload' }, { role: 'forceReload' }];
  if (!app.isPackaged) view.push({ role: 'toggleDevTools' });
  view.push({ type: 'separator' }, { role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' });

  const template: MenuItemConstructorOptions[] = [
    ...(mac ? [{ role: 'appMenu' } as MenuItemConstructorOptions] : []),
    { label: actions.stopServer ? 'Session' : 'File', submenu: file },
    { role: 'editMenu' },
    { label: 'View', submenu: view },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'Facility Profiles', click: () => void shell.openPath(path.join(docsFolder(), 'facility-profile.md')) },
        { label: 'Command Line', click: () => void shell.openPath(path.join(docsFolder(), 'cli.md')) },
        { label: 'Documentation Folder', click: () => void shell.openPath(docsFolder()) },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
