import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { STRIP_CHANNEL_NAMES } from '../../electron/common/channels';
import { CHANNELS, STRIP_CHANNELS, STRIP_EVENT_CHANNEL, ipcChannel, stripIpcChannel, type RoamlabStripApi, type StripEvent } from '../../electron/common/ipc-contract';

// The Lab window strip's preload, against a fake of the two Electron modules it may touch.
const fake = vi.hoisted(() => {
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  return {
    listeners,
    contextBridge: { exposeInMainWorld: vi.fn() },
    ipcRenderer: {
      invoke: vi.fn(async (..._args: unknown[]) => ({ ok: true, value: 'reply' })),
      on: vi.fn((channel: string, fn: (...args: unknown[]) => void) => {
        if (!listeners.has(channel)) listeners.set(channel, new Set());
        listeners.get(channel)!.add(fn);
      }),
      removeListener: vi.fn((channel: string, fn: (...args: unknown[]) => void) => {
        listeners.get(channel)?.delete(fn);
      }),
      send: vi.fn(),
      sendSync: vi.fn(),
    },
  };
});

vi.mock('electron', () => ({ contextBridge: fake.contextBridge, ipcRenderer: fake.ipcRenderer }));

async function load(): Promise<Record<string, unknown>> {
  await import('../../electron/shell/strip-preload.js');
  expect(fake.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
  const [key, api] = fake.contextBridge.exposeInMainWorld.mock.calls[0]!;
  expect(key).toBe('roamlabStrip');
  return api as Record<string, unknown>;
}

function emitFromMain(channel: string, payload: unknown): void {
  const electronEvent = { sender: fake.ipcRenderer, senderId: 0, ports: [] };
  for (const fn of fake.listeners.get(channel) ?? []) fn(electronEvent, payload);
}

describe('strip preload (window.roamlabStrip)', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    vi.resetModules();
    fake.listeners.clear();
  });

  it('exposes exactly one function per strip channel, plus onEvent, and no launcher channel', async () => {
    const api = await load();
    expect(Object.keys(api).sort()).toEqual([...STRIP_CHANNELS, 'onEvent'].sort());
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
    for (const c of CHANNELS) if (!(STRIP_CHANNELS as string[]).includes(c)) expect(api).not.toHaveProperty(c);
    expect(fake.ipcRenderer.on).not.toHaveBeenCalled();
  });

  it.each(STRIP_CHANNELS.map((c) => [c]))('%s invokes roamlab-strip:<name> with the request only', async (channel) => {
    const api = await load();
    const request = { marker: channel };
    const fn = api[channel] as (r: unknown, ...rest: unknown[]) => Promise<unknown>;
    await expect(fn(request, 'extra')).resolves.toEqual({ ok: true, value: 'reply' });
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledTimes(1);
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(stripIpcChannel(channel), request);
    // Never a launcher channel, whatever the name.
    expect(fake.ipcRenderer.invoke.mock.calls[0]![0]).not.toBe(ipcChannel(channel as never));
  });

  it('onEvent passes the payload only, on the strip event channel, and unsubscribes', async () => {
    const api = (await load()) as unknown as RoamlabStripApi;
    const seen: unknown[][] = [];
    const off = api.onEvent((...args: unknown[]) => void seen.push(args));
    expect(fake.ipcRenderer.on).toHaveBeenCalledWith(STRIP_EVENT_CHANNEL, expect.any(Function));
    const event = { type: 'session', session: { sessionId: 'abc' } } as unknown as StripEvent;
    emitFromMain(STRIP_EVENT_CHANNEL, event);
    emitFromMain('roamlab:event', { type: 'facilities-changed' });
    expect(seen).toEqual([[event]]);
    off();
    emitFromMain(STRIP_EVENT_CHANNEL, event);
    expect(seen).toHaveLength(1);
  });

  it('needs no module but electron at run time, and its copy of the names equals channels.ts', () => {
    const source = readFileSync(path.join(__dirname, '../../electron/shell/strip-preload.ts'), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2023 } }).outputText;
    expect([...js.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1])).toEqual(['electron']);
    expect([...STRIP_CHANNEL_NAMES]).toEqual(STRIP_CHANNELS);
  });
});
