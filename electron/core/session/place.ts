/**
 * "A place" in a notebook server: a file or folder of its file tree, as a relative path with
 * forward slashes ("beamtime/run42.ipynb"; "" is the top). A bookmark keeps one, so that resuming
 * it opens the Lab where the person was, and the Lab window's address tells which it is.
 */

/** A place as the person typed or a URL gave it, made canonical; undefined when it is unsafe or empty. */
export function normalizePlace(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const segments = raw.replace(/\\/g, '/').split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) return undefined; // never above the server's root
  return segments.length ? segments.join('/') : undefined;
}

const encodePath = (place: string): string => place.split('/').map(encodeURIComponent).join('/');

/**
 * The page to land on: `serverPath` (the server's URL path, with a trailing slash) and the
 * interface it has — JupyterLab's `lab/tree/PLACE`, which opens a file or shows a folder, or
 * the classic interface's `notebooks/PLACE` for a notebook and `tree/PLACE` otherwise.
 */
export function landingPath(serverPath: string, lab: boolean, place?: string): string {
  const p = normalizePlace(place);
  if (lab) return `${serverPath}lab${p ? `/tree/${encodePath(p)}` : ''}`;
  if (!p) return `${serverPath}tree`;
  return `${serverPath}${p.endsWith('.ipynb') ? 'notebooks' : 'tree'}/${encodePath(p)}`;
}

/**
 * A script for a Lab page that is open already: show `place` there without reloading the page,
 * so nothing in it is lost — not unsaved edits, not the output of a cell still running. In
 * JupyterLab through its own commands (the gateway exposes its app, gateway/lab-page.ts): a file
 * opens in a tab beside the others, a folder in the file browser. The classic interface has a
 * page per notebook and opens notebooks in new windows itself; so does this, and so does a Lab
 * whose app is not exposed. Resolves true.
 *
 * A page still loading is waited for (up to 20 s a step): its app appears once its plugins are
 * in; after it restores, JupyterLab opens the document its own address names (lab/tree/…) and
 * brings that to the front, and a place shown before then would end up behind it. The file
 * browser wears `jp-mod-restoring` until that open is done (filebrowser-extension's
 * restoreBrowser).
 */
export function openPlaceScript(serverPath: string, lab: boolean, place: string): string {
  const url = JSON.stringify(landingPath(serverPath, lab, place));
  if (!lab) return `(() => { window.open(${url}, '_blank'); return true; })()`;
  const path = JSON.stringify(normalizePlace(place) ?? '');
  return `(async () => {
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const waitWhile = async (cond) => { for (let i = 0; cond() && i < 400; i++) await sleep(50); };
  await waitWhile(() => document.readyState === 'loading');
  let exposed = false;
  try { exposed = String(JSON.parse(document.getElementById('jupyter-config-data').textContent).exposeAppInBrowser).toLowerCase() === 'true'; } catch (e) { exposed = false; }
  await waitWhile(() => exposed && !window.jupyterapp);
  const app = window.jupyterapp;
  if (!app || !app.commands || !app.serviceManager) { window.open(${url}, '_blank'); return true; }
  await app.restored;
  await waitWhile(() => document.querySelector('.jp-FileBrowser.jp-mod-restoring') !== null);
  const path = ${path};
  let folder = path === '';
  if (!folder) {
    try { folder = (await app.serviceManager.contents.get(path, { content: false })).type === 'directory'; } catch (e) { folder = false; }
  }
  await app.commands.execute(folder ? 'filebrowser:go-to-path' : 'docmanager:open', { path });
  return true;
})()`;
}

/**
 * A script for an open Lab page: the path of the document in front in JupyterLab's main area,
 * else the folder its file browser shows, or null (no app exposed, the classic interface). The
 * shell's current widget follows focus, which a window in the background does not get: a
 * document opened there by openPlaceScript is in front, but the focus may still name the one
 * before. So the current widget counts only while it is shown; else the first document shown in
 * the main area; with none (a Launcher or a terminal in front), the file browser's folder, as
 * that is where the person was. (`widgets(area)` is an iterator in JupyterLab 4, a Lumino 1
 * IIterator in JupyterLab 3.)
 */
export const CURRENT_PLACE_SCRIPT = `(() => {
  const app = window.jupyterapp;
  const shell = app && app.shell;
  if (!shell) return null;
  const widgets = (area) => {
    const it = shell.widgets(area);
    if (typeof it[Symbol.iterator] === 'function') return Array.from(it);
    const all = [];
    for (let w = it.next(); w !== undefined; w = it.next()) all.push(w);
    return all;
  };
  const pathOf = (w) => (w && w.isVisible && w.context && typeof w.context.path === 'string' ? w.context.path : null);
  if (pathOf(shell.currentWidget) !== null) return pathOf(shell.currentWidget);
  for (const w of widgets('main')) if (pathOf(w) !== null) return pathOf(w);
  const browser = widgets('left').find((w) => w.id === 'filebrowser');
  const folder = browser && browser.model && browser.model.path;
  // Another drive's path ("Drive:folder") is not a place on the server.
  return typeof folder === 'string' && !folder.includes(':') ? folder : null;
})()`;

/**
 * The place a Lab (or classic) page's URL shows, for a server at `serverPath`: JupyterLab's
 * `lab/tree/PLACE` and `lab/workspaces/NAME/tree/PLACE`, the classic `notebooks/PLACE`,
 * `tree/PLACE` and `edit/PLACE`. "" for the top or a page that names no file; undefined for a
 * URL outside the server.
 */
export function placeFromUrl(url: string, serverPath: string): string | undefined {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return undefined;
  }
  if (!pathname.startsWith(serverPath)) return undefined;
  const rest = pathname.slice(serverPath.length);
  const m = /^(?:lab(?:\/workspaces\/[^/]+)?\/tree|notebooks|tree|edit)\/(.+)$/.exec(rest);
  if (!m) return '';
  let decoded: string;
  try {
    decoded = m[1]!.split('/').map(decodeURIComponent).join('/');
  } catch {
    return '';
  }
  return normalizePlace(decoded) ?? '';
}
