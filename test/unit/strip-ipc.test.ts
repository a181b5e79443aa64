/**
 * registerStripIpc (electron/shell/ipc.ts) against a fake ipcMain: each strip channel answers a
 * strip's own top frame only, for the session main made it for, and each strip hears only its
 * own session's updates.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import { STRIP_CHANNELS, STRIP_EVENT_CHANNEL, stripIpcChannel, type RoamlabEvent, type SessionView } from '../../electron/common/ipc-contract';
import { createStripHandlerTable } from '../../electron/core/ipc/strip-handlers';
import { registerStripIpc } from '../../electron/shell/ipc';

const ipc = vi.hoisted(() => ({ handlers: new Map<string, (...args: unknown[]) => Promise<unknown>>() }));
vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: (...args: unknown[]) => Promise<unknown>) => void ipc.handlers.set(channel, fn),
    removeHandler: (channel: string) => void ipc.handlers.delete(channel),
  },
}));

const APP = 'app://roamlab';
const view = (sessionId: string): SessionView => ({ sessionId, facilityId: 'lim', facilityName: 'Limits facility', serverName: '', classId: 'tiny', classLabel: 'Tiny', state: 'ready', reason: 'ready', requestedAt: 1 });

function strip(id: number, url = `${APP}/strip.html`) {
  const sent: unknown[][] = [];
  const mainFrame = { url };
  return { id, mainFrame, sent, isDestroyed: () => false, getURL: () => url, send: (...a: unknown[]) => void sent.push(a) };
}

function setup() {
  const service = Object.assign(new EventEmitter<{ event: [RoamlabEvent] }>(), {
    log: { warn: vi.fn() },
    sessionView: (id: string) => (id === 's1' || id === 's2' ? view(id) : undefined),
    requestClassPicker: vi.fn(),
  });
  const a = strip(7);
  const b = strip(8);
  const astray = strip(9, 'http://127.0.0.1:8888/');
  const launcher = strip(1, `${APP}/index.html`);
  const byId = new Map<number, string>([
    [7, 's1'],
    [8, 's2'],
    [9, 's1'],
  ]);
  const showLauncher = vi.fn();
  const d = registerStripIpc({
    table: createStripHandlerTable(service as never, { showLauncher }),
    service: service as never,
    strips: { sessionOf: (id) => byId.get(id), all: () => [{ sessionId: 's1', contents: a as never }, { sessionId: 's2', contents: b as never }, { sessionId: 's1', contents: astray as never }] },
    appOrigin: APP,
  });
  const ask = (from: ReturnType<typeof strip>, channel: string, ...args: unknown[]) =>
    ipc.handlers.get(stripIpcChannel(channel as never))!({ sender: from, senderFrame: from.mainFrame }, ...args);
  return { service, a, b, astray, launcher, ask, showLauncher, dispose: () => d.dispose() };
}

describe('registerStripIpc', () => {
  it('registers one handler per strip channel, and removes them on dispose', () => {
    ipc.handlers.clear();
    const { dispose } = setup();
    expect([...ipc.handlers.keys()].sort()).toEqual(STRIP_CHANNELS.map(stripIpcChannel).sort());
    dispose();
    expect(ipc.handlers.size).toBe(0);
  });

  it("answers a strip for its own session, and refuses the launcher, a strip that navigated away, and a subframe", async () => {
    const { a, b, astray, launcher, ask, dispose } = setup();
    await expect(ask(a, 'session', {})).resolves.toEqual({ ok: true, value: view('s1') });
    await expect(ask(b, 'session', {})).resolves.toEqual({ ok: true, value: view('s2') });
    for (const from of [launcher, astray]) await expect(ask(from, 'session', {})).resolves.toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    const sub = ipc.handlers.get(stripIpcChannel('session'))!({ sender: a, senderFrame: { url: `${APP}/strip.html` } }, {});
    await expect(sub).resolves.toMatchObject({ ok: false, error: { kind: 'forbidden' } });
    await expect(ask(a, 'session', {}, 'extra')).resolves.toMatchObject({ ok: false, error: { kind: 'usage' } });
    dispose();
  });

  it('"Pick a bigger class" from a strip names its own facility to the shell', async () => {
    const { a, ask, showLauncher, dispose } = setup();
    await expect(ask(a, 'showLauncher', { pickClass: true })).resolves.toEqual({ ok: true, value: { shown: true } });
    expect(showLauncher).toHaveBeenCalledWith('lim');
    dispose();
  });

  it("sends each strip its own session's updates only, and only while it shows its page", () => {
    const { service, a, b, astray, dispose } = setup();
    service.emit('event', { type: 'session', session: view('s1') });
    service.emit('event', { type: 'facilities-changed' });
    service.emit('event', { type: 'limit', sessionId: 's1', facilityId: 'lim', limit: { kind: 'memory', level: 'warning', title: 't', body: 'b', at: 1 } });
    expect(a.sent).toEqual([[STRIP_EVENT_CHANNEL, { type: 'session', session: view('s1') }]]);
    expect(b.sent).toEqual([]);
    expect(astray.sent).toEqual([]);
    dispose();
    service.emit('event', { type: 'session', session: view('s1') });
    expect(a.sent).toHaveLength(1);
  });
});
