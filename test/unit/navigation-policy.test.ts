import { describe, expect, it } from 'vitest';
import {
  decideNavigation,
  decideNewWindow,
  externalHref,
  gatewayOriginOf,
  isSafeExternalUrl,
  launcherNavigationAllowed,
} from '../../electron/core/policy/navigation';

const GW = 'http://127.0.0.1:43117';

// Hosts and ports that look like the gateway but are not it.
const LOOKALIKES = [
  'http://127.0.0.1.evil.example:43117/user/ana/lab',
  'http://127.0.0.1:43117@evil.example/user/ana/lab',
  'http://127.0.0.1:43117@evil.example:43117/',
  'http://evil.example/?http://127.0.0.1:43117/',
  'http://evil.example/http://127.0.0.1:43117',
  'http://127.0.0.1:43118/user/ana/lab', // another port: another session, or anyone
  'http://127.0.0.1/user/ana/lab', // port 80
  'http://localhost:43117/user/ana/lab', // same machine, different origin (and cookie jar)
  'http://[::1]:43117/user/ana/lab',
  'http://127.0.0.2:43117/',
  'https://127.0.0.1:43117/user/ana/lab', // scheme differs
];

describe('decideNavigation (Lab window)', () => {
  it.each([
    [`${GW}/user/ana/lab`],
    [`${GW}/user/ana/lab/tree/analysis.ipynb?reset#cell-3`],
    [`${GW}/hub/home`],
    [`${GW}/`],
    [GW],
    ['HTTP://127.0.0.1:43117/user/ana/lab'], // the parser lowercases the scheme
  ])('allows the gateway origin: %s', (url) => {
    expect(decideNavigation(url, GW)).toBe('allow');
  });

  it.each(LOOKALIKES.map((u) => [u]))('a lookalike is not the gateway: %s', (url) => {
    expect(decideNavigation(url, GW)).not.toBe('allow');
  });

  it('credentials in a gateway URL are refused, not followed', () => {
    expect(decideNavigation('http://user:pw@127.0.0.1:43117/user/ana/lab', GW)).toBe('deny');
    expect(decideNavigation('http://user@127.0.0.1:43117/', GW)).toBe('deny');
  });

  it.each([
    ['https://jupyter.org/'],
    ['http://example.org/docs?q=1'],
    ['https://github.com/jupyterlab/jupyterlab/issues/1'],
    ['mailto:support@facility.example'],
    ['https://localhost:43117/'], // other origins go to the browser, which has no gateway cookie
    ['http://127.0.0.1:43118/'],
    ['http://127.0.0.1.evil.example:43117/'],
  ])('sends web and mail links elsewhere to the system browser: %s', (url) => {
    expect(decideNavigation(url, GW)).toBe('open-external');
  });

  it.each([
    ['javascript:alert(1)'],
    ['JavaScript:alert(document.cookie)'],
    ['file:///etc/passwd'],
    ['file://server/share/x.ipynb'],
    ['data:text/html,<script>alert(1)</script>'],
    ['blob:https://evil.example/2f0e0b1c-4a7e-4f8e-9d1f-0c7a5b1e2d3c'],
    ['blob:null/2f0e0b1c-4a7e-4f8e-9d1f-0c7a5b1e2d3c'],
    ['blob:http://127.0.0.1:43118/2f0e0b1c'],
    ['about:config'],
    ['about:version'],
    ['chrome://settings'],
    ['chrome-extension://abc/x.html'],
    ['devtools://devtools/bundled/inspector.html'],
    ['view-source:http://127.0.0.1:43117/'],
    ['ftp://ftp.example.org/file'],
    ['ws://127.0.0.1:43117/api/kernels'],
    ['app://roamlab/index.html'],
    ['vscode://file/x'],
    ['ms-settings:'],
    ['smb://server/share'],
    ['tel:+491234'],
    ['not a url'],
    [''],
    ['//127.0.0.1:43117/'], // relative: Chromium always hands over absolute URLs
    ['https://user:pw@example.org/'], // credentials in a link are a phishing pattern
  ])('refuses everything else: %s', (url) => {
    expect(decideNavigation(url, GW)).toBe('deny');
  });

  it('allows documents that take the opener origin (about:blank, about:srcdoc) and blobs made by the gateway page', () => {
    expect(decideNavigation('about:blank', GW)).toBe('allow');
    expect(decideNavigation('about:srcdoc', GW)).toBe('allow');
    expect(decideNavigation(`blob:${GW}/2f0e0b1c-4a7e-4f8e-9d1f-0c7a5b1e2d3c`, GW)).toBe('allow');
  });

  it('with no valid gateway origin nothing stays in the window', () => {
    expect(decideNavigation(`${GW}/lab`, '')).toBe('open-external');
    expect(decideNavigation('about:blank', 'not an origin')).toBe('deny');
    expect(decideNavigation(`blob:${GW}/x`, '')).toBe('deny');
  });
});

describe('decideNewWindow (window.open / target=_blank in Lab)', () => {
  it('same origin gets a child window (with the same guards), as does an about:blank print preview', () => {
    expect(decideNewWindow(`${GW}/user/ana/lab/workspaces/auto-x`, GW)).toBe('allow');
    expect(decideNewWindow(`${GW}/user/ana/files/report.html`, GW)).toBe('allow');
    expect(decideNewWindow('about:blank', GW)).toBe('allow');
  });

  it('external web and mail links go to the system browser', () => {
    expect(decideNewWindow('https://jupyterlab.readthedocs.io/', GW)).toBe('open-external');
    expect(decideNewWindow('mailto:help@facility.example', GW)).toBe('open-external');
  });

  it.each(LOOKALIKES.map((u) => [u]))('a lookalike never gets a window: %s', (url) => {
    expect(decideNewWindow(url, GW)).not.toBe('allow');
  });

  it.each([['javascript:alert(1)'], ['file:///etc/passwd'], ['data:text/html,x'], [`blob:${GW}/x`], ['about:srcdoc'], ['chrome://gpu'], ['']])(
    'refuses everything else: %s',
    (url) => {
      expect(decideNewWindow(url, GW)).toBe('deny');
    },
  );
});

describe('isSafeExternalUrl / externalHref', () => {
  it.each([['https://example.org/'], ['http://example.org:8080/a?b#c'], ['mailto:someone@example.org'], ['mailto:someone@example.org?subject=Beamtime']])(
    'allows http, https, mailto: %s',
    (url) => expect(isSafeExternalUrl(url)).toBe(true),
  );

  it.each([
    ['javascript:alert(1)'],
    ['file:///C:/Windows/System32/calc.exe'],
    ['data:text/html,x'],
    ['blob:https://example.org/x'],
    ['about:blank'],
    ['ftp://example.org/'],
    ['smb://attacker/share'],
    ['ms-msdt:/id PCWDiagnostic'],
    ['search-ms:query=x'],
    ['vbscript:msgbox(1)'],
    ['app://roamlab/'],
    ['https://user:pw@example.org/'],
    ['https://example.org@evil.example/'],
    ['http://'],
    ['https:'],
    ['example.org'],
    ['not a url'],
    [''],
    ['https://example.org/' + 'a'.repeat(9000)],
  ])('refuses %s', (url) => expect(isSafeExternalUrl(url)).toBe(false));

  it('hands out the parsed href: whitespace and control characters never reach the OS', () => {
    expect(externalHref('  https://example.org/a b\n')).toBe('https://example.org/a%20b');
    expect(externalHref('https://exa\tmple.org/')).toBe('https://example.org/');
    expect(isSafeExternalUrl(undefined as unknown as string)).toBe(false);
  });
});

describe('gatewayOriginOf (a Lab window only opens onto a local gateway)', () => {
  it('takes the origin of an entry URL on 127.0.0.1 with a port', () => {
    expect(gatewayOriginOf('http://127.0.0.1:43117/__roamlab/enter?key=abc')).toBe(GW);
  });
  it.each([['http://localhost:43117/'], ['https://127.0.0.1:43117/'], ['http://127.0.0.1/'], ['http://10.0.0.1:43117/'], ['http://a:b@127.0.0.1:43117/'], ['file:///x'], ['nope']])(
    'refuses %s',
    (url) => expect(gatewayOriginOf(url)).toBeNull(),
  );
});

describe('launcherNavigationAllowed (launcher window)', () => {
  const APP = 'app://roamlab';
  it.each([['app://roamlab/index.html'], ['app://roamlab/'], ['app://roamlab/index.html#/facility/desy'], ['APP://ROAMLAB/index.html']])('allows its own pages: %s', (url) => {
    expect(launcherNavigationAllowed(url, APP)).toBe(true);
  });
  it.each([
    ['app://roamlab.evil/index.html'],
    ['app://evil/index.html'],
    ['app://roamlab:8080/index.html'],
    ['app://x@roamlab/index.html'],
    ['https://roamlab/index.html'],
    ['https://evil.example/'],
    ['http://127.0.0.1:43117/user/ana/lab'],
    ['file:///work/dist/renderer/index.html'],
    ['javascript:alert(1)'],
    ['data:text/html,x'],
    ['about:blank'],
    [''],
  ])('refuses %s', (url) => {
    expect(launcherNavigationAllowed(url, APP)).toBe(false);
  });
});
