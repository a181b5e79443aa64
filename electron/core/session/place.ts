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
