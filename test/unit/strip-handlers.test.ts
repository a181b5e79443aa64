import { describe, expect, it, vi } from 'vitest';
import type { RoamlabEvent, SessionView } from '../../electron/common/ipc-contract';
import type { LauncherService } from '../../electron/core/app/launcher-service';
import { createStripHandlerTable, dispatchStrip, isStripUrl, stripEventFor, stripSenderSession } from '../../electron/core/ipc/strip-handlers';

const APP = 'app://roamlab';
const view = (over: Partial<SessionView> = {}): SessionView => ({
  sessionId: 's1',
  facilityId: 'lim',
  facilityName: 'Limits facility',
  serverName: '',
  classId: 'tiny',
  classLabel: 'Tiny',
  state: 'ready',
  reason: 'JupyterLab is ready',
  requestedAt: 1,
  ...over,
});

/** Just what the strip table uses of the service. */
function fakeService(sessions: SessionView[]) {
  const service = { sessionView: (id: string) => sessions.find((s) => s.sessionId === id) } as unknown as LauncherService;
  return { service };
}

describe('which session a strip request is for (stripSenderSession)', () => {
  const sessionOf = (id: number) => (id === 7 ? 's1' : id === 8 ? 's2' : undefined);

  it("a strip's top frame on app://roamlab/strip.html: its own session", () => {
    expect(stripSenderSession({ webContentsId: 7, frameUrl: 'app://roamlab/strip.html', isMainFrame: true }, sessionOf, APP)).toBe('s1');
    expect(stripSenderSession({ webContentsId: 8, frameUrl: 'app://roamlab/strip.html#x', isMainFrame: true }, sessionOf, APP)).toBe('s2');
  });

  it.each([
    ['not a strip (the launcher, a Lab page)', { webContentsId: 3, frameUrl: 'app://roamlab/strip.html', isMainFrame: true }],
    ['a subframe', { webContentsId: 7, frameUrl: 'app://roamlab/strip.html', isMainFrame: false }],
    ['the launcher page in a strip view', { webContentsId: 7, frameUrl: 'app://roamlab/index.html', isMainFrame: true }],
    ['a strip that navigated away', { webContentsId: 7, frameUrl: 'http://127.0.0.1:8888/strip.html', isMainFrame: true }],
    ['a lookalike host', { webContentsId: 7, frameUrl: 'app://roamlab.evil/strip.html', isMainFrame: true }],
    ['credentials in the URL', { webContentsId: 7, frameUrl: 'app://x@roamlab/strip.html', isMainFrame: true }],
    ['no frame', { webContentsId: 7, frameUrl: undefined, isMainFrame: true }],
    ['garbage', { webContentsId: 7, frameUrl: 'not a url', isMainFrame: true }],
  ])('refused: %s', (_what, facts) => {
    expect(stripSenderSession(facts, sessionOf, APP)).toBeUndefined();
  });

  it('isStripUrl is the page, on the app origin, with any query', () => {
    expect(isStripUrl('app://roamlab/strip.html?theme=dark', APP)).toBe(true);
    expect(isStripUrl('app://roamlab/strip.html/..', APP)).toBe(false);
    expect(isStripUrl(undefined, APP)).toBe(false);
  });
});

describe('the strip handler table over the service', () => {
  it('session: its own session, null once the app no longer holds it', async () => {
    const { service } = fakeService([view()]);
    const table = createStripHandlerTable(service, { showLauncher: () => undefined });
    await expect(dispatchStrip(table, 'session', {}, { sessionId: 's1' })).resolves.toEqual({ ok: true, value: view() });
    await expect(dispatchStrip(table, 'session', undefined, { sessionId: 'gone' })).resolves.toEqual({ ok: true, value: null });
  });

  it("showLauncher: brings the launcher; with pickClass, on its session's facility's class picker", async () => {
    const { service } = fakeService([view()]);
    const showLauncher = vi.fn();
    const table = createStripHandlerTable(service, { showLauncher });
    await expect(dispatchStrip(table, 'showLauncher', { pickClass: false }, { sessionId: 's1' })).resolves.toEqual({ ok: true, value: { shown: true } });
    await dispatchStrip(table, 'showLauncher', { pickClass: true }, { sessionId: 's1' });
    await dispatchStrip(table, 'showLauncher', { pickClass: true }, { sessionId: 'gone' });
    expect(showLauncher.mock.calls).toEqual([[undefined], ['lim'], [undefined]]);
  });

  it.each([
    ['an unknown channel', 'signIn', {}],
    ['a launcher-style name', 'roamlab-strip:session', {}],
    ['a session named in the request', 'session', { sessionId: 's2' }],
    ['a wrong type', 'showLauncher', { pickClass: 'yes' }],
    ['a missing field', 'showLauncher', {}],
  ])('refuses %s before any handler runs', async (_what, channel, request) => {
    const table = { session: vi.fn(), showLauncher: vi.fn() };
    const r = await dispatchStrip(table as never, channel, request, { sessionId: 's1' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.kind).toBe('usage');
    expect(table.session).not.toHaveBeenCalled();
    expect(table.showLauncher).not.toHaveBeenCalled();
  });
});

describe('what a strip hears (stripEventFor)', () => {
  it('its own session updates, and nothing else', () => {
    const mine: RoamlabEvent = { type: 'session', session: view() };
    expect(stripEventFor(mine, 's1')).toEqual({ type: 'session', session: view() });
    expect(stripEventFor({ type: 'session', session: view({ sessionId: 's2' }) }, 's1')).toBeUndefined();
    for (const e of [
      { type: 'facilities-changed' },
      { type: 'servers-changed' },
      { type: 'pick-class', facilityId: 'lim' },
      { type: 'limit', sessionId: 's1', facilityId: 'lim', limit: { kind: 'memory', level: 'warning', title: 't', body: 'b', at: 1 } },
      { type: 'host-key-prompt', promptId: 'p', facilityId: 'lim', host: 'h', port: 22, keyType: 'ssh-ed25519', fingerprint: 'SHA256:x' },
    ] as RoamlabEvent[]) {
      expect(stripEventFor(e, 's1')).toBeUndefined();
    }
  });
});
