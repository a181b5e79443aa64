import { describe, expect, it } from 'vitest';
import { hostForPath, splitServerUrl } from '../../electron/core/hub/http';

const hub = new URL('https://hub.example.org/jhub/');

describe('splitServerUrl (the server URL the hub REST API gives)', () => {
  it('keeps a path on the hub as it is, with no host of its own', () => {
    expect(splitServerUrl('/jhub/user/alice/', hub)).toEqual({ path: '/jhub/user/alice/' });
  });

  it("takes a subdomain_host hub's absolute URL apart: the path, and the user's host for every server of theirs", () => {
    expect(splitServerUrl('https://alice.hub.example.org/jhub/user/alice/lab-2/', hub)).toEqual({
      path: '/jhub/user/alice/lab-2/',
      host: { host: 'alice.hub.example.org', origin: 'https://alice.hub.example.org', pathPrefix: '/jhub/user/alice/' },
    });
    expect(splitServerUrl('http://alice.localhost:8000/user/alice/', new URL('http://localhost:8000/'))?.host).toEqual({
      host: 'alice.localhost:8000',
      origin: 'http://alice.localhost:8000',
      pathPrefix: '/user/alice/',
    });
  });

  it("treats an absolute URL on the hub's own origin as a path", () => {
    expect(splitServerUrl('https://hub.example.org/jhub/user/alice/', hub)).toEqual({ path: '/jhub/user/alice/' });
  });

  it('refuses what is neither a path nor an http(s) URL', () => {
    expect(splitServerUrl('//evil.example/user/alice/', hub)).toBeUndefined();
    expect(splitServerUrl('javascript:alert(1)', hub)).toBeUndefined();
    expect(splitServerUrl('not a url', hub)).toBeUndefined();
  });
});

describe('hostForPath', () => {
  const host = { host: 'alice.hub.example.org', origin: 'https://alice.hub.example.org', pathPrefix: '/jhub/user/alice/' };
  it("sends the user's paths to their host and the hub's to the hub", () => {
    expect(hostForPath('/jhub/user/alice/api/kernels?x=1', host)).toBe(host);
    expect(hostForPath('/jhub/hub/api/users/alice', host)).toBeUndefined();
    expect(hostForPath('/jhub/user/alicex/api', host)).toBeUndefined();
    expect(hostForPath('/jhub/user/alice/api', undefined)).toBeUndefined();
  });
});
