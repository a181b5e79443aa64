/**
 * JupyterLab's page, as the gateway passes it on, with two of its settings changed.
 *
 * `exposeAppInBrowser` on (JupyterLab's `LabApp.expose_app_in_browser`, made for driving a Lab
 * from outside, as its UI tests do), so `window.jupyterapp` is there and Roamlab can open a
 * bookmark's notebook in a Lab that is open already — in a tab beside the others, without
 * reloading the page and losing the output of a running cell (session/place.ts). It gives the
 * page's scripts nothing they could not do before: JupyterLab's extensions and any script in
 * the page already act as the person, through the same server API.
 */

/** Most a Lab page may weigh to be rewritten (it is ~10 KB; larger ones pass unchanged). */
export const LAB_PAGE_MAX_BYTES = 1024 * 1024;

/**
 * A GET of a server's JupyterLab page: `…/user/NAME[/SERVER]/lab`, with `/tree/…` or
 * `/workspaces/…` after it (not its API, its files, or a file that happens to be called lab).
 */
export function isLabPageRequest(method: string | undefined, url: string | undefined): boolean {
  if (method !== 'GET' || !url) return false;
  const pathname = url.split(/[?#]/)[0]!;
  return /\/user\/[^/]+\/(?:[^/]+\/)?lab(?:\/(?:tree|workspaces)(?:\/.*)?)?\/?$/.test(pathname);
}

const CONFIG = /(<script\b[^>]*\bid=["']jupyter-config-data["'][^>]*>)([\s\S]*?)(<\/script>)/i;

/** The page with exposeAppInBrowser on and hubHost empty; undefined when it has no page config to change. */
export function rewriteLabPage(html: string): string | undefined {
  const m = CONFIG.exec(html);
  if (!m) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(m[2]!);
  } catch {
    return undefined;
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) return undefined;
  const changed: Record<string, unknown> = { ...(config as Record<string, unknown>), exposeAppInBrowser: true };
  if (typeof changed.hubHost === 'string' && changed.hubHost !== '') changed.hubHost = '';
  const json = JSON.stringify(changed)
    // Inside <script>: nothing in a value may close the element or start a comment.
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
  return html.slice(0, m.index) + m[1] + json + m[3] + html.slice(m.index + m[0].length);
}
