import { describe, expect, it } from 'vitest';
import {
  cookieName,
  hubPublicOrigin,
  judgeRequest,
  readCookie,
  rewriteLocation,
  rewriteSetCookie,
  proxyHasNoRoute,
  stripCookie,
  hubPageFor,
} from '../../electron/core/gateway/policy';
import { hubPageHtml } from '../../electron/core/gateway/gateway';

const PORT = 43123;
const SECRET = 's3cr3t-value-from-the-gateway';
const good = { host: `127.0.0.1:${PORT}`, origin: undefined, cookieHeader: `${cookieName(PORT)}=${SECRET}` };

describe('gateway policy', () => {
  it('allows the owning window: right host, no or own origin, secret cookie', () => {
    expect(judgeRequest(good, PORT, SECRET)).toEqual({ allow: true });
    expect(judgeRequest({ ...good, origin: `http://127.0.0.1:${PORT}` }, PORT, SECRET)).toEqual({ allow: true });
  });

  it.each([
    ['localhost name (DNS rebinding or another tab)', `localhost:${PORT}`],
    ['rebinding host', `evil.example:${PORT}`],
    ['lookalike', `127.0.0.1.evil.example:${PORT}`],
    ['other port', `127.0.0.1:${PORT + 1}`],
    ['missing', undefined],
  ])('refuses a foreign Host: %s', (_label, host) => {
    expect(judgeRequest({ ...good, host }, PORT, SECRET)).toEqual({ allow: false, reason: 'host' });
  });

  it.each([['https://evil.example'], ['null'], [`http://localhost:${PORT}`], [`http://127.0.0.1:${PORT + 1}`]])(
    'refuses a foreign Origin %s',
    (origin) => {
      expect(judgeRequest({ ...good, origin }, PORT, SECRET)).toEqual({ allow: false, reason: 'origin' });
    },
  );

  it('refuses a missing, wrong or other-port cookie', () => {
    expect(judgeRequest({ ...good, cookieHeader: undefined }, PORT, SECRET).allow).toBe(false);
    expect(judgeRequest({ ...good, cookieHeader: `${cookieName(PORT)}=nope` }, PORT, SECRET).allow).toBe(false);
    expect(judgeRequest({ ...good, cookieHeader: `${cookieName(PORT + 1)}=${SECRET}` }, PORT, SECRET).allow).toBe(false);
  });

  it('reads and strips only its own cookie', () => {
    const header = `_xsrf=abc; ${cookieName(PORT)}=${SECRET}; jupyterhub-user-alice=xyz`;
    expect(readCookie(header, cookieName(PORT))).toBe(SECRET);
    expect(stripCookie(header, cookieName(PORT))).toBe('_xsrf=abc; jupyterhub-user-alice=xyz');
    expect(stripCookie(`${cookieName(PORT)}=${SECRET}`, cookieName(PORT))).toBeUndefined();
  });

  it('makes hub cookies work on the loopback origin', () => {
    expect(rewriteSetCookie('_xsrf=1|abc; Domain=hub.example.org; Path=/user/a/; Secure; SameSite=None; HttpOnly')).toBe(
      '_xsrf=1|abc; Path=/user/a/; SameSite=Lax; HttpOnly',
    );
  });

  it('brings hub redirects back onto the gateway origin and leaves others alone', () => {
    expect(rewriteLocation('https://hub.example.org/jhub/user/a/lab?x=1', ['https://hub.example.org'], PORT)).toBe(
      `http://127.0.0.1:${PORT}/jhub/user/a/lab?x=1`,
    );
    expect(rewriteLocation('/jhub/hub/login', ['https://hub.example.org'], PORT)).toBe('/jhub/hub/login');
    expect(rewriteLocation('https://sso.example.org/login', ['https://hub.example.org'], PORT)).toBe('https://sso.example.org/login');
  });

  it("learns the hub's public_url from a redirect into JupyterHub's own paths, and from nothing else", () => {
    const hub = new URL('http://10.0.0.5:8000/jhub/');
    const pub = 'https://jupyter.facility.org';
    expect(hubPublicOrigin(`${pub}/jhub/hub/`, hub)).toBe(pub);
    expect(hubPublicOrigin(`${pub}/jhub/hub/user-redirect/tree`, hub)).toBe(pub);
    expect(hubPublicOrigin(`${pub}/jhub/user/a/lab?redirects=1`, hub)).toBe(pub);
    expect(hubPublicOrigin(`${pub}/jhub/hub/api/oauth2/authorize?client_id=jupyterhub-user-a`, hub)).toBe(pub);
    // Then its redirects, to any path, stay on the gateway.
    expect(rewriteLocation(`${pub}/jhub/`, [hub.origin, pub], PORT)).toBe(`http://127.0.0.1:${PORT}/jhub/`);
    expect(hubPublicOrigin('/jhub/hub/home', hub)).toBeUndefined(); // relative: the hub's own
    expect(hubPublicOrigin('http://10.0.0.5:8000/jhub/hub/home', hub)).toBeUndefined(); // the hub's origin already
    expect(hubPublicOrigin(`${pub}/hub/home`, hub)).toBeUndefined(); // not under the hub's base path
    expect(hubPublicOrigin(`${pub}/jhub/`, hub)).toBeUndefined(); // the bare base path says too little
    expect(hubPublicOrigin('https://sso.facility.org/realms/x/protocol/openid-connect/auth', hub)).toBeUndefined(); // a login service
    expect(hubPublicOrigin('https://github.com/login/oauth/authorize', hub)).toBeUndefined();
    expect(hubPublicOrigin('javascript:alert(1)', hub)).toBeUndefined();
    expect(hubPublicOrigin('not a url', hub)).toBeUndefined();
  });

  it('tells the proxy\'s "no route" 404 for a server API call from the server\'s own 404', () => {
    const api = '/jhub/user/alice/api/contents?content=1&123';
    // configurable-http-proxy with no route: bare "Not Found", or the hub's HTML error page.
    expect(proxyHasNoRoute(404, {}, api)).toBe(true);
    expect(proxyHasNoRoute(404, { 'content-type': 'text/html' }, api)).toBe(true);
    expect(proxyHasNoRoute(404, { 'content-type': 'text/html' }, '/user/alice/gpu/api/kernels')).toBe(true); // a named server
    // The server's own: a missing file (JSON), an unknown page (Tornado's HTML 404).
    expect(proxyHasNoRoute(404, { 'content-type': 'application/json', server: 'TornadoServer/6.4.2' }, api)).toBe(false);
    expect(proxyHasNoRoute(404, { 'content-type': 'text/html', server: 'TornadoServer/6.4.2' }, api)).toBe(false);
    // Not a 404, not an API call of a server, or no URL.
    expect(proxyHasNoRoute(503, {}, api)).toBe(false);
    expect(proxyHasNoRoute(404, {}, '/jhub/user/alice/lab/tree/x.ipynb')).toBe(false);
    expect(proxyHasNoRoute(404, {}, '/jhub/hub/api/users/alice')).toBe(false);
    expect(proxyHasNoRoute(404, {}, undefined)).toBe(false);
  });
});

describe("the hub's control panel and logout (answered by the gateway)", () => {
  const nav = (url: string, more: object = {}) => ({ method: 'GET', url, fetchDest: 'document', ...more });

  it('takes a navigation to hub/home, hub/ or hub/logout under the hub base path', () => {
    expect(hubPageFor(nav('/jhub/hub/home'), '/jhub/')).toBe('control-panel');
    expect(hubPageFor(nav('/jhub/hub/'), '/jhub/')).toBe('control-panel');
    expect(hubPageFor(nav('/jhub/hub'), '/jhub/')).toBe('control-panel');
    expect(hubPageFor(nav('/jhub/hub/logout'), '/jhub/')).toBe('logout');
    expect(hubPageFor(nav('/hub/home'), '/')).toBe('control-panel');
    // JupyterLab's Restart Server (also offered when the server went away), named servers too.
    expect(hubPageFor(nav('/jhub/hub/spawn'), '/jhub/')).toBe('spawn');
    expect(hubPageFor(nav('/jhub/hub/spawn/alice/gpu?next=x'), '/jhub/')).toBe('spawn');
    expect(hubPageFor(nav('/jhub/hub/spawn-pending/alice'), '/jhub/')).toBe('spawn');
    expect(hubPageFor(nav('/jhub/hub/spawner'), '/jhub/')).toBeUndefined();
    expect(hubPageFor(nav('/jhub/hub/spawn?roamlab=hub'), '/jhub/')).toBeUndefined();
    // Without Sec-Fetch-Dest (an older browser), by what it accepts.
    expect(hubPageFor({ method: 'GET', url: '/hub/logout', accept: 'text/html,application/xhtml+xml' }, '/')).toBe('logout');
  });

  it("leaves everything else to the hub: its API, other pages, fetches, other methods, another prefix, and ?roamlab=hub", () => {
    expect(hubPageFor(nav('/jhub/hub/api/user'), '/jhub/')).toBeUndefined();
    expect(hubPageFor(nav('/jhub/hub/login'), '/jhub/')).toBeUndefined();
    expect(hubPageFor(nav('/jhub/hub/admin'), '/jhub/')).toBeUndefined();
    expect(hubPageFor(nav('/jhub/user/alice/logout'), '/jhub/')).toBeUndefined(); // the server's own, which sends the page to hub/logout
    expect(hubPageFor(nav('/jhub/hub/home', { fetchDest: 'empty' }), '/jhub/')).toBeUndefined();
    expect(hubPageFor({ method: 'GET', url: '/hub/home', accept: 'application/json' }, '/')).toBeUndefined();
    expect(hubPageFor(nav('/jhub/hub/logout', { method: 'POST' }), '/jhub/')).toBeUndefined();
    expect(hubPageFor(nav('/hub/home'), '/jhub/')).toBeUndefined();
    expect(hubPageFor(nav('/jhub/hub/home?roamlab=hub'), '/jhub/')).toBeUndefined();
    expect(hubPageFor(nav('/jhub/hub/home?next=x&roamlab=hub'), '/jhub/')).toBeUndefined();
  });

  it("the page names the facility (escaped), links back to the notebooks, and to the hub's page", () => {
    const html = hubPageHtml('control-panel', 'A <b>lab</b>', '/jhub/user/a/lab', '/jhub/hub/home?roamlab=hub');
    expect(html).toContain('Your servers at A &lt;b&gt;lab&lt;/b&gt; are in the Roamlab window');
    expect(html).toContain('<a href="/jhub/user/a/lab">Back to your notebooks</a>');
    expect(html).toContain('<a href="/jhub/hub/home?roamlab=hub">');
    const out = hubPageHtml('logout', 'DESY NAF', '/user/a/tree', '/hub/logout?roamlab=hub');
    expect(out).toContain('You are still signed in to DESY NAF');
    expect(out).not.toContain('roamlab=hub');
  });
});
