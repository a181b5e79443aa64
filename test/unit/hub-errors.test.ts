import { describe, expect, it } from 'vitest';
import { CookieJar, hubErrorFromResponse, hubMessageOf, parseRetryAfter, resolveHubUrl } from '../../electron/core/hub/http';

const ctx = { action: 'start your server', target: 'https://hub.example.org/jhub/hub/api/users/alice/server' };
const json = (status: number, message: string): string => JSON.stringify({ status, message });
const err = (status: number, body = '', headers: Record<string, string> = {}) => hubErrorFromResponse({ status, headers, body }, ctx, Date.parse('2026-01-01T00:00:00Z'));

describe('hubErrorFromResponse', () => {
  it('maps 401 and 403 to hub-forbidden with a sign-in hint', () => {
    for (const status of [401, 403]) {
      const e = err(status, json(status, 'Forbidden'));
      expect(e.kind).toBe('hub-forbidden');
      expect(e.hint).toMatch(/sign in again/i);
      expect(e.details.status).toBe(status);
    }
  });

  it('keeps the hub message of other 400s verbatim', () => {
    const e = err(400, json(400, "Unknown notebook class 'huge'"));
    expect(e.kind).toBe('hub-bad-request');
    expect(e.message).toContain("Unknown notebook class 'huge'");
    expect(e.details.hubMessage).toBe("Unknown notebook class 'huge'");
    expect(e.details.status).toBe(400);
  });

  it('recognises "already running" and the pending states', () => {
    expect(err(400, json(400, 'alice is already running')).kind).toBe('hub-already-running');
    expect(err(400, json(400, "alice:gpu is already running")).kind).toBe('hub-already-running');
    expect(err(400, json(400, 'alice is pending stop')).kind).toBe('hub-pending-stop');
    const spawning = err(400, json(400, 'alice is pending spawn, please wait'));
    expect(spawning.kind).toBe('hub-already-running');
    expect(spawning.details.pending).toBe('spawn');
  });

  it('maps 404, 424 and 5xx', () => {
    expect(err(404, json(404, "alice has no server named 'x'")).kind).toBe('hub-not-found');
    expect(err(424, json(424, 'Server is not running')).kind).toBe('hub-server-stopped');
    for (const s of [500, 502, 503]) expect(err(s, '<html>Bad gateway</html>').kind).toBe('hub-server-error');
    expect(err(500, json(500, 'Spawner failed')).details.hubMessage).toBe('Spawner failed');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const a = err(429, json(429, 'Too many users trying to log in right now. Try again in 7 seconds.'), { 'retry-after': '7' });
    expect(a.kind).toBe('hub-rate-limited');
    expect(a.details.retryAfterSeconds).toBe(7);
    expect(a.hint).toContain('7 s');
    const b = err(429, '', { 'retry-after': 'Thu, 01 Jan 2026 00:00:42 GMT' });
    expect(b.details.retryAfterSeconds).toBe(42);
    expect(err(429, '').details.retryAfterSeconds).toBeUndefined();
  });

  it('treats an unexpected redirect as not-the-hub-API', () => {
    const e = err(302, '');
    expect(e.kind).toBe('hub-garbage');
    expect(e.hint).toMatch(/hub URL in the facility profile/);
  });

  it('never puts a query string or header in the message', () => {
    const e = hubErrorFromResponse({ status: 500, headers: {}, body: '' }, { action: 'x', target: 'https://hub.example.org/hub/api' });
    expect(e.message).not.toContain('?');
  });
});

describe('parseRetryAfter / hubMessageOf', () => {
  it('parses both forms and rejects junk', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(['12'], now)).toBe(12);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
  it('reads JupyterHub JSON errors only', () => {
    expect(hubMessageOf('{"status": 400, "message": "nope"}')).toBe('nope');
    expect(hubMessageOf('<html>{"message":"x"}</html>')).toBeUndefined();
    expect(hubMessageOf('{"status": 500}')).toBeUndefined();
  });
});

describe('resolveHubUrl', () => {
  it('resolves relative to the prefix and keeps absolute hub paths on the same origin', () => {
    const hub = new URL('https://hub.example.org/jhub/');
    expect(resolveHubUrl(hub, 'hub/api').href).toBe('https://hub.example.org/jhub/hub/api');
    expect(resolveHubUrl(new URL('https://hub.example.org/jhub'), 'hub/api').href).toBe('https://hub.example.org/jhub/hub/api');
    expect(resolveHubUrl(hub, '/jhub/user/alice/api/status').href).toBe('https://hub.example.org/jhub/user/alice/api/status');
    expect(() => resolveHubUrl(hub, 'https://evil.example.com/x')).toThrow();
    expect(() => resolveHubUrl(hub, '//evil.example.com/x')).toThrow();
  });
});

describe('CookieJar', () => {
  it('sends cookies by path, most specific first, and forgets expired ones', () => {
    const jar = new CookieJar();
    const login = new URL('http://h/jhub/hub/login');
    jar.store(
      [
        'jupyterhub-session-id=s1; HttpOnly; Path=/jhub/',
        'jupyterhub-hub-login="2|1:0|abc"; expires=Fri, 25 Dec 2099 08:50:00 GMT; HttpOnly; Path=/jhub/hub/',
        '_xsrf=x1; Path=/jhub/hub/; Max-Age=3600',
      ],
      login,
    );
    expect(jar.header(new URL('http://h/jhub/hub/api/user'))).toBe('jupyterhub-hub-login="2|1:0|abc"; _xsrf=x1; jupyterhub-session-id=s1');
    expect(jar.header(new URL('http://h/jhub/user/alice/'))).toBe('jupyterhub-session-id=s1');
    expect(jar.header(new URL('http://h/other/'))).toBeUndefined();
    expect(jar.get('_xsrf', new URL('http://h/jhub/hub/api/users/a/tokens'))).toBe('x1');
    jar.store(['_xsrf=; Path=/jhub/hub/; expires=Thu, 01 Jan 1970 00:00:00 GMT'], login);
    expect(jar.get('_xsrf', new URL('http://h/jhub/hub/api'))).toBeUndefined();
  });
});
