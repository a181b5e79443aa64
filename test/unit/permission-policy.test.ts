import { describe, expect, it } from 'vitest';
import { decideLauncherPermission, decidePermission, decidePermissionForAny } from '../../electron/core/policy/permission';

const GW = 'http://127.0.0.1:43117';
const LAB = `${GW}/user/ana/lab`;

// Every permission name Electron 41 passes to setPermissionRequestHandler or setPermissionCheckHandler.
const ELECTRON_PERMISSIONS = [
  'clipboard-read',
  'clipboard-sanitized-write',
  'deprecated-sync-clipboard-read',
  'display-capture',
  'fileSystem',
  'fullscreen',
  'geolocation',
  'hid',
  'idle-detection',
  'keyboardLock',
  'media',
  'mediaKeySystem',
  'midi',
  'midiSysex',
  'notifications',
  'openExternal',
  'pointerLock',
  'serial',
  'speaker-selection',
  'storage-access',
  'top-level-storage-access',
  'unknown',
  'usb',
  'window-management',
] as const;
const ALLOWED = new Set(['clipboard-read', 'clipboard-sanitized-write', 'notifications']);

describe('decidePermission (Lab windows)', () => {
  it.each(ELECTRON_PERMISSIONS.map((p) => [p]))('%s for the gateway origin: only clipboard and notifications', (permission) => {
    expect(decidePermission(permission, LAB, GW)).toBe(ALLOWED.has(permission));
  });

  it('accepts the origin form Electron passes to check handlers', () => {
    expect(decidePermission('clipboard-read', GW, GW)).toBe(true);
    expect(decidePermission('clipboard-read', `${GW}/`, GW)).toBe(true);
  });

  it.each([
    ['http://127.0.0.1.evil.example:43117/user/ana/lab'],
    ['http://127.0.0.1:43117@evil.example/'],
    ['http://127.0.0.1:43118/user/ana/lab'],
    ['http://localhost:43117/user/ana/lab'],
    ['https://127.0.0.1:43117/'],
    ['https://evil.example/'],
    ['http://user@127.0.0.1:43117/'],
    ['file:///home/ana/x.html'],
    ['data:text/html,x'],
    ['about:blank'],
    ['null'],
    [''],
  ])('denies even the allowed ones to %s', (url) => {
    for (const p of ALLOWED) expect(decidePermission(p, url, GW)).toBe(false);
  });

  it('denies unknown and odd names', () => {
    for (const p of ['', 'Clipboard-Read', 'clipboard-write', 'notifications ', 'camera', 'persistent-storage', '__proto__', 'toString']) {
      expect(decidePermission(p, LAB, GW)).toBe(false);
    }
  });

  it('denies everything when the gateway origin is not one', () => {
    expect(decidePermission('notifications', LAB, '')).toBe(false);
    expect(decidePermission('notifications', 'x', 'x')).toBe(false);
  });
});

describe('decidePermissionForAny (a check without a window)', () => {
  it('grants when the requester is one of the open gateways, for allowed permissions only', () => {
    const open = ['http://127.0.0.1:40001', GW];
    expect(decidePermissionForAny('notifications', LAB, open)).toBe(true);
    expect(decidePermissionForAny('media', LAB, open)).toBe(false);
    expect(decidePermissionForAny('notifications', 'http://127.0.0.1:40002/', open)).toBe(false);
    expect(decidePermissionForAny('notifications', LAB, [])).toBe(false);
  });
});

describe('decideLauncherPermission (launcher window)', () => {
  it.each(ELECTRON_PERMISSIONS.map((p) => [p]))('%s: only clipboard writes, only for app://roamlab', (permission) => {
    expect(decideLauncherPermission(permission, 'app://roamlab/index.html', 'app://roamlab')).toBe(permission === 'clipboard-sanitized-write');
    expect(decideLauncherPermission(permission, 'app://roamlab.evil/index.html', 'app://roamlab')).toBe(false);
    expect(decideLauncherPermission(permission, LAB, 'app://roamlab')).toBe(false);
  });
});
