import { describe, expect, it } from 'vitest';
import { rewriteLabPage, isLabPageRequest } from '../../../electron/core/gateway/lab-page';

describe("JupyterLab's page", () => {
  it('is the Lab page under any prefix and server, with or without a file or workspace, and nothing else', () => {
    for (const url of ['/jhub/user/ann/lab', '/user/ann/lab/', '/user/ann/gpu/lab/tree/run%2042.ipynb', '/user/ann/lab/workspaces/auto-x/tree/a/b', '/user/ann/lab?reset']) {
      expect(isLabPageRequest('GET', url)).toBe(true);
    }
    for (const url of ['/user/ann/lab/api/settings', '/user/ann/lab/extensions/x/remoteEntry.js', '/user/ann/tree', '/user/ann/notebooks/a.ipynb', '/user/ann/api/contents/lab']) {
      expect(isLabPageRequest('GET', url)).toBe(false);
    }
    expect(isLabPageRequest('POST', '/user/ann/lab')).toBe(false);
  });

  const page = (config: string, attrs = 'id="jupyter-config-data" type="application/json"') =>
    `<!doctype html><html><head><title>JupyterLab</title><script ${attrs}>${config}</script></head><body><script src="static/main.js"></script></body></html>`;
  const configOf = (html: string) => JSON.parse(/<script[^>]*jupyter-config-data[^>]*>([\s\S]*?)<\/script>/.exec(html)![1]!) as Record<string, unknown>;

  it('gets its app exposed, the rest of its config and of the page unchanged', () => {
    const html = page(JSON.stringify({ baseUrl: '/user/ann/', exposeAppInBrowser: false, treePath: 'a.ipynb', token: '' }));
    const out = rewriteLabPage(html)!;
    expect(configOf(out)).toEqual({ baseUrl: '/user/ann/', exposeAppInBrowser: true, treePath: 'a.ipynb', token: '' });
    expect(out.replace(/<script [^>]*jupyter-config-data[\s\S]*?<\/script>/, '')).toBe(html.replace(/<script [^>]*jupyter-config-data[\s\S]*?<\/script>/, ''));
    // Other attribute orders and quotes.
    expect(configOf(rewriteLabPage(page('{"a": 1}', "type='application/json' id='jupyter-config-data'"))!)).toEqual({ a: 1, exposeAppInBrowser: true });
  });

  it("keeps the hub's links on the page's origin: a hub with its own host (subdomain_host, public_url) gets an empty hubHost", () => {
    const hubs = { baseUrl: '/user/ann/', hubPrefix: '/hub/', hubUser: 'ann' };
    expect(configOf(rewriteLabPage(page(JSON.stringify({ ...hubs, hubHost: 'https://hub.example.org' })))!)).toEqual({ ...hubs, hubHost: '', exposeAppInBrowser: true });
    expect(configOf(rewriteLabPage(page(JSON.stringify({ ...hubs, hubHost: '' })))!)).toEqual({ ...hubs, hubHost: '', exposeAppInBrowser: true });
    expect(configOf(rewriteLabPage(page(JSON.stringify(hubs)))!)).toEqual({ ...hubs, exposeAppInBrowser: true });
  });

  it('keeps a value that looks like markup from closing the script element', () => {
    const html = page('{"appName": "\\u003c/script\\u003e\\u003cscript\\u003ealert(1)\\u003c/script\\u003e", "x": "a & b"}');
    const out = rewriteLabPage(html)!;
    expect(out.match(/<\/script>/g)).toHaveLength(2);
    expect(configOf(out)).toMatchObject({ appName: '</script><script>alert(1)</script>', x: 'a & b', exposeAppInBrowser: true });
  });

  it('leaves a page without a readable config alone', () => {
    expect(rewriteLabPage('<html><body>Not Found</body></html>')).toBeUndefined();
    expect(rewriteLabPage(page('{not json'))).toBeUndefined();
    expect(rewriteLabPage(page('[1, 2]'))).toBeUndefined();
  });
});
