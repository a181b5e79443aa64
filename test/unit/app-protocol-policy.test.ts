import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_CSP, APP_ENTRY_URL, APP_ORIGIN, appResponseHeaders, contentTypeOf, resolveAppRequest } from '../../electron/core/policy/app-protocol';

const ROOT = path.resolve('/opt/roamlab/dist/renderer');

describe('resolveAppRequest (app://roamlab serves dist/renderer only)', () => {
  it.each([
    ['app://roamlab/', 'index.html', 'text/html; charset=utf-8'],
    ['app://roamlab', 'index.html', 'text/html; charset=utf-8'],
    ['app://roamlab/index.html', 'index.html', 'text/html; charset=utf-8'],
    ['app://roamlab/index.html?x=1#/sessions', 'index.html', 'text/html; charset=utf-8'],
    ['app://roamlab/assets/index-Bx1.js', 'assets/index-Bx1.js', 'text/javascript; charset=utf-8'],
    ['app://roamlab/assets/index-Bx1.css', 'assets/index-Bx1.css', 'text/css; charset=utf-8'],
    ['app://roamlab/assets/my%20icon.svg', 'assets/my icon.svg', 'image/svg+xml'],
    ['app://ROAMLAB/index.html', 'index.html', 'text/html; charset=utf-8'],
  ])('%s → %s', (url, rel, type) => {
    expect(resolveAppRequest(url, 'GET', ROOT)).toEqual({ file: path.join(ROOT, rel), contentType: type });
  });

  it('answers HEAD like GET and refuses other methods', () => {
    expect(resolveAppRequest(APP_ENTRY_URL, 'HEAD', ROOT)).toMatchObject({ file: path.join(ROOT, 'index.html') });
    for (const m of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'get']) expect(resolveAppRequest(APP_ENTRY_URL, m, ROOT)).toMatchObject({ status: 405 });
  });

  it.each([
    ['app://roamlab/%2E%2E%2Fpackage.json'],
    ['app://roamlab/assets/%2e%2e%2f%2e%2e%2fpackage.json'],
    ['app://roamlab/..%5c..%5cpackage.json'],
    ['app://roamlab/assets%5c..%5c..%5cpackage.json'],
    ['app://roamlab/%00index.html'],
    ['app://roamlab/index.html%00.png'],
    ['app://roamlab/C:/Windows/win.ini'],
    ['app://roamlab/c%3A%5CWindows%5Cwin.ini'],
  ])('refuses path traversal: %s', (url) => {
    const d = resolveAppRequest(url, 'GET', ROOT);
    expect(d).toMatchObject({ status: 403 });
  });

  it('dot segments the URL parser resolves (as Chromium does for a standard scheme) stay inside the root', () => {
    expect(resolveAppRequest('app://roamlab/../package.json', 'GET', ROOT)).toMatchObject({ file: path.join(ROOT, 'package.json') });
    expect(resolveAppRequest('app://roamlab/%2e%2e/package.json', 'GET', ROOT)).toMatchObject({ file: path.join(ROOT, 'package.json') });
    expect(resolveAppRequest('app://roamlab/assets/../../electron/shell/main.js', 'GET', ROOT)).toMatchObject({ file: path.join(ROOT, 'electron/shell/main.js') });
    expect(resolveAppRequest('app://roamlab/./index.html', 'GET', ROOT)).toMatchObject({ file: path.join(ROOT, 'index.html') });
  });

  it('whatever it maps to stays inside the root', () => {
    for (const url of ['app://roamlab/a/b/../../../x', 'app://roamlab//etc/passwd', 'app://roamlab/assets//x.js', 'app://roamlab/%2e%2e/%2e%2e/x']) {
      const d = resolveAppRequest(url, 'GET', ROOT);
      if ('file' in d) expect(d.file.startsWith(ROOT + path.sep)).toBe(true);
      else expect(d.status).toBeGreaterThanOrEqual(400);
    }
  });

  it.each([['app://evil/index.html'], ['app://roamlab.evil/index.html'], ['app://x@roamlab/index.html'], ['https://roamlab/index.html'], ['file:///index.html']])(
    'refuses other origins: %s',
    (url) => expect(resolveAppRequest(url, 'GET', ROOT)).toMatchObject({ status: 403 }),
  );

  it('refuses bad encodings and garbage', () => {
    expect(resolveAppRequest('app://roamlab/%E0%A4%A', 'GET', ROOT)).toMatchObject({ status: 400 });
    expect(resolveAppRequest('not a url', 'GET', ROOT)).toMatchObject({ status: 400 });
  });
});

describe('app:// headers', () => {
  it('every response carries the strict CSP', () => {
    expect(APP_CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
    );
    expect(appResponseHeaders()).toMatchObject({ 'Content-Security-Policy': APP_CSP, 'X-Content-Type-Options': 'nosniff' });
    expect(appResponseHeaders('text/html')).toMatchObject({ 'Content-Security-Policy': APP_CSP, 'Content-Type': 'text/html' });
    expect(APP_ORIGIN).toBe('app://roamlab');
  });

  it('unknown file types are not sniffed into something runnable', () => {
    expect(contentTypeOf('x.exe')).toBe('application/octet-stream');
    expect(contentTypeOf('noext')).toBe('application/octet-stream');
    expect(contentTypeOf('A.JS')).toBe('text/javascript; charset=utf-8');
  });
});
