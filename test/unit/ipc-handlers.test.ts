import { describe, expect, it } from 'vitest';
import { CHANNELS, type Channel, type RequestOf } from '../../electron/common/ipc-contract';
import { RoamlabError } from '../../electron/core/errors';
import { dispatch, isTrustedSender, type HandlerTable } from '../../electron/core/ipc/handlers';

/** A handler table that records what reached it and answers with a marker (dispatch is pure logic; the service is not needed). */
function recordingTable(behaviour: Partial<Record<Channel, (r: unknown) => unknown>> = {}) {
  const calls: { channel: Channel; request: unknown }[] = [];
  const table = Object.fromEntries(
    CHANNELS.map((c) => [
      c,
      async (request: unknown) => {
        calls.push({ channel: c, request });
        const custom = behaviour[c];
        return custom ? custom(request) : { handled: c };
      },
    ]),
  ) as unknown as HandlerTable;
  return { table, calls };
}

// One valid request per channel; typed so that a new channel in the contract fails to compile here until it is covered.
const VALID: { [C in Channel]: RequestOf<C> } = {
  listFacilities: {},
  importFacility: { fileName: 'desy-naf.json', content: '{"id":"desy"}' },
  removeFacility: { facilityId: 'desy-naf' },
  signIn: { facilityId: 'desy-naf', username: 'ana', password: 'correct horse', remember: true },
  signInWithWebPage: { facilityId: 'desy-naf' },
  signOut: { facilityId: 'desy-naf' },
  disconnectFacility: { facilityId: 'desy-naf' },
  startSession: { facilityId: 'desy-naf', classId: 'small', serverName: 'beamtime' },
  switchClass: { facilityId: 'desy-naf', classId: 'large' },
  cancelSession: { sessionId: '0a1b2c3d4e5f6a7b' },
  reconnectSession: { sessionId: '0a1b2c3d4e5f6a7b' },
  networkChanged: { online: true },
  openSession: { sessionId: '0a1b2c3d4e5f6a7b' },
  closeSession: { sessionId: '0a1b2c3d4e5f6a7b' },
  stopServer: { facilityId: 'desy-naf', serverName: '' },
  listSessions: {},
  listServers: {},
  answerHostKey: { promptId: 'f00dfeedf00dfeed', accept: false },
  answerSshPrompt: { promptId: 'f00dfeedf00dfeed', answers: ['123456'] },
  listBookmarks: {},
  addBookmark: { name: 'Beamtime P11', facilityId: 'desy-naf', classId: 'medium', place: 'beamtime/run42.ipynb' },
  bookmarkSession: { sessionId: '0a1b2c3d4e5f6a7b', name: 'Here' },
  removeBookmark: { bookmarkId: '8d0c93b3-23d9-4f64-8551-a6babcd1a499' },
  resumeBookmark: { bookmarkId: '8d0c93b3-23d9-4f64-8551-a6babcd1a499' },
};

async function refused(channel: string, request: unknown) {
  const { table, calls } = recordingTable();
  const result = await dispatch(table, channel, request);
  expect(calls).toEqual([]);
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error.kind).toBe('usage');
  expect(result.error.message).toEqual(expect.any(String));
  expect(result.error.hint).toEqual(expect.any(String));
  return result.error;
}

describe('dispatch: valid requests', () => {
  it.each(CHANNELS.map((c) => [c]))('%s reaches its handler with the request, and the reply comes back as ok', async (channel) => {
    const { table, calls } = recordingTable();
    const result = await dispatch(table, channel, VALID[channel]);
    expect(result).toEqual({ ok: true, value: { handled: channel } });
    expect(calls).toEqual([{ channel, request: VALID[channel] }]);
  });

  it('an absent request counts as {} for channels that take nothing', async () => {
    const { table, calls } = recordingTable();
    expect(await dispatch(table, 'listSessions', undefined)).toEqual({ ok: true, value: { handled: 'listSessions' } });
    expect(await dispatch(table, 'listServers', null)).toEqual({ ok: true, value: { handled: 'listServers' } });
    expect(calls.map((c) => c.request)).toEqual([{}, {}]);
  });

  it('optional fields may be left out', async () => {
    const { table, calls } = recordingTable();
    expect((await dispatch(table, 'startSession', { facilityId: 'desy', classId: 'large' })).ok).toBe(true);
    expect(calls).toEqual([{ channel: 'startSession', request: { facilityId: 'desy', classId: 'large' } }]);
  });
});

describe('dispatch: refused before any handler runs', () => {
  it.each([['nope'], [''], ['__proto__'], ['constructor'], ['toString'], ['hasOwnProperty'], ['roamlab:signIn'], ['SignIn'], ['signIn '], ['x'.repeat(10_000)]])(
    'unknown channel %j',
    async (channel) => {
      const error = await refused(channel, {});
      expect(error.message.length).toBeLessThan(200); // the channel name is cut, not echoed whole
    },
  );

  it.each<[Channel, unknown]>([
    // wrong types
    ['signIn', { ...VALID.signIn, remember: 'yes' }],
    ['signIn', { ...VALID.signIn, username: 42 }],
    ['signIn', { ...VALID.signIn, password: null }],
    ['startSession', { facilityId: null, classId: 'small' }],
    ['importFacility', { fileName: 'x.json', content: ['a'] }],
    ['answerHostKey', { promptId: 'abc', accept: 'true' }],
    ['answerHostKey', { promptId: 123, accept: true }],
    ['stopServer', { facilityId: 'desy' }], // serverName missing ('' is the default server, but it must be said)
    // not an object at all
    ['signIn', undefined],
    ['signIn', null],
    ['listFacilities', []],
    ['listFacilities', 'list'],
    ['listFacilities', 42],
    ['listFacilities', true],
    ['openSession', [VALID.openSession]],
  ])('wrong type: %s %j', async (channel, request) => {
    await refused(channel, request);
  });

  it.each<[Channel, unknown]>([
    ['listFacilities', { all: true }],
    ['listSessions', { sessionId: 'x' }],
    ['signIn', { ...VALID.signIn, admin: true }],
    ['removeFacility', { facilityId: 'desy', path: '/etc' }],
    ['startSession', { ...VALID.startSession, userOptions: { mem: '1TB' } }],
    ['answerHostKey', { ...VALID.answerHostKey, fingerprint: 'SHA256:x' }],
    ['listFacilities', JSON.parse('{"__proto__": {"polluted": true}}')],
  ])('extra keys (schemas are strict): %s %j', async (channel, request) => {
    await refused(channel, request);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each<[Channel, unknown]>([
    ['importFacility', { fileName: 'big.json', content: 'x'.repeat(256 * 1024 + 1) }],
    ['importFacility', { fileName: 'x'.repeat(256), content: '{}' }],
    ['importFacility', { fileName: '', content: '{}' }],
    ['signIn', { ...VALID.signIn, password: 'p'.repeat(4097) }],
    ['signIn', { ...VALID.signIn, password: '' }],
    ['signIn', { ...VALID.signIn, username: 'u'.repeat(256) }],
    ['signIn', { ...VALID.signIn, facilityId: 'f'.repeat(65) }],
    ['startSession', { facilityId: 'desy', classId: 'small', serverName: 's'.repeat(256) }],
    ['cancelSession', { sessionId: '' }],
  ])('oversize or empty strings: %s', async (channel, request) => {
    await refused(channel, request);
  });

  it.each([['../x'], ['..\\x'], ['a/b'], ['/etc/passwd'], ['C:\\Windows'], ['%2e%2e%2fx'], ['desy naf'], ['desy\u0000'], ['dé'], ['desy\n'], ['~']])(
    'path-like or odd ids are refused: %j',
    async (id) => {
      await refused('removeFacility', { facilityId: id });
      await refused('openSession', { sessionId: id });
      await refused('startSession', { facilityId: 'desy', classId: id });
      await refused('answerHostKey', { promptId: id, accept: true });
    },
  );

  it.each([['../x'], ['a/b'], ['srv?x=1'], ['srv#x'], ['srv%2F..']])('server names that are not a URL path segment are refused: %j', async (name) => {
    await refused('stopServer', { facilityId: 'desy', serverName: name });
    await refused('startSession', { facilityId: 'desy', classId: 'small', serverName: name });
  });

  it('names the field, never the value (a malformed sign-in must not echo the password)', async () => {
    const secret = 'hunter2-' + 'p'.repeat(5000);
    const error = await refused('signIn', { ...VALID.signIn, password: secret });
    expect(error.details.field).toBe('password');
    expect(JSON.stringify(error)).not.toContain('hunter2');
    const wrongType = await refused('signIn', { ...VALID.signIn, remember: 'hunter2' });
    expect(JSON.stringify(wrongType)).not.toContain('hunter2');
  });
});

describe('dispatch: handler failures become ErrorInfo', () => {
  it('a RoamlabError keeps its kind, message, hint and details', async () => {
    const { table } = recordingTable({
      signIn: () => {
        throw new RoamlabError('auth-failed', 'The hub did not accept that password.', 'Check it and try again.', { status: 403 });
      },
    });
    expect(await dispatch(table, 'signIn', VALID.signIn)).toEqual({
      ok: false,
      error: { kind: 'auth-failed', message: 'The hub did not accept that password.', hint: 'Check it and try again.', details: { status: 403 } },
    });
  });

  it.each([
    ['an Error', () => new Error('ECONNREFUSED token=abc123 /home/ana/.ssh/id_ed25519')],
    ['a TypeError', () => new TypeError("Cannot read properties of undefined (reading 'token=abc123')")],
    ['a string', () => 'token=abc123'],
    ['an object that looks like a RoamlabError', () => ({ kind: 'auth-failed', message: 'token=abc123', hint: 'x', details: {} })],
    ['undefined', () => undefined],
  ])('%s never leaks its message: it becomes kind "internal"', async (_name, make) => {
    const { table } = recordingTable({
      listServers: () => {
        throw make();
      },
    });
    const result = await dispatch(table, 'listServers', {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.kind).toBe('internal');
    expect(result.error.message).toBeTruthy();
    expect(result.error.hint).toBeTruthy();
    expect(result.error.details).toEqual({});
    expect(JSON.stringify(result)).not.toMatch(/abc123|ECONNREFUSED|id_ed25519/);
  });

  it('a rejected promise is caught the same way, and dispatch itself never throws', async () => {
    const { table } = recordingTable({ listSessions: () => Promise.reject(new Error('boom secret')) });
    const result = await dispatch(table, 'listSessions', {});
    expect(result).toMatchObject({ ok: false, error: { kind: 'internal' } });
    expect(JSON.stringify(result)).not.toContain('secret');
  });
});

describe('isTrustedSender', () => {
  const LAUNCHER = 7;
  const APP = 'app://roamlab';
  const top = { webContentsId: LAUNCHER, frameUrl: 'app://roamlab/index.html', isMainFrame: true };

  it("trusts the launcher's top frame on app://roamlab", () => {
    expect(isTrustedSender(top, LAUNCHER, APP)).toBe(true);
    expect(isTrustedSender({ ...top, frameUrl: 'app://roamlab/' }, LAUNCHER, APP)).toBe(true);
    expect(isTrustedSender({ ...top, frameUrl: 'app://roamlab/index.html#/sessions' }, LAUNCHER, APP)).toBe(true);
  });

  it.each([
    ['another webContents (a Lab window)', { ...top, webContentsId: 8 }, LAUNCHER],
    ['a subframe of the launcher', { ...top, isMainFrame: false }, LAUNCHER],
    ['a frame that is gone (no URL)', { ...top, frameUrl: undefined }, LAUNCHER],
    ['an empty frame URL', { ...top, frameUrl: '' }, LAUNCHER],
    ['no launcher window', top, undefined],
    ['https://evil.example', { ...top, frameUrl: 'https://evil.example/' }, LAUNCHER],
    ['app://roamlab.evil', { ...top, frameUrl: 'app://roamlab.evil/index.html' }, LAUNCHER],
    ['app://evil', { ...top, frameUrl: 'app://evil/index.html' }, LAUNCHER],
    ['app://roamlab:1234', { ...top, frameUrl: 'app://roamlab:1234/index.html' }, LAUNCHER],
    ['file://', { ...top, frameUrl: 'file:///opt/Roamlab/resources/app.asar/dist/renderer/index.html' }, LAUNCHER],
    ['the gateway', { ...top, frameUrl: 'http://127.0.0.1:43117/user/ana/lab' }, LAUNCHER],
    ['about:blank', { ...top, frameUrl: 'about:blank' }, LAUNCHER],
    ['data:', { ...top, frameUrl: 'data:text/html,<b>hi</b>' }, LAUNCHER],
    ['garbage', { ...top, frameUrl: 'not a url' }, LAUNCHER],
  ])('refuses %s', (_name, facts, launcherId) => {
    expect(isTrustedSender(facts, launcherId, APP)).toBe(false);
  });
});
