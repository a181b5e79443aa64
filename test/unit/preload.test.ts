import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CHANNEL_NAMES } from '../../electron/common/channels';
import { CHANNELS, EVENT_CHANNEL, ipcChannel, type RoamlabApi, type RoamlabEvent } from '../../electron/common/ipc-contract';

// A fake of the two Electron modules the preload may touch: what it exposes, and what it sends.
const fake = vi.hoisted(() => {
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  return {
    exposed: new Map<string, unknown>(),
    listeners,
    contextBridge: {
      exposeInMainWorld: vi.fn(),
    },
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
      postMessage: vi.fn(),
    },
  };
});

vi.mock('electron', () => ({ contextBridge: fake.contextBridge, ipcRenderer: fake.ipcRenderer }));

async function load(): Promise<Record<string, unknown>> {
  await import('../../electron/shell/preload.js');
  expect(fake.contextBridge.exposeInMainWorld).toHaveBeenCalledTimes(1);
  const [key, api] = fake.contextBridge.exposeInMainWorld.mock.calls[0]!;
  expect(key).toBe('roamlab');
  return api as Record<string, unknown>;
}

/** Deliver an event from main the way Electron does: (IpcRendererEvent, payload). */
function emitFromMain(channel: string, payload: unknown): void {
  const electronEvent = { sender: fake.ipcRenderer, senderId: 0, ports: [] };
  for (const fn of fake.listeners.get(channel) ?? []) fn(electronEvent, payload);
}

describe('launcher preload (window.roamlab)', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    vi.resetModules();
    fake.listeners.clear();
  });

  it('exposes exactly one function per contract channel, plus onEvent, under "roamlab" and nothing else', async () => {
    const api = await load();
    expect(Object.keys(api).sort()).toEqual([...CHANNELS, 'onEvent'].sort());
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
    expect(Object.values(api)).not.toContain(fake.ipcRenderer);
    expect(fake.ipcRenderer.on).not.toHaveBeenCalled(); // no listener until the page asks
  });

  it.each(CHANNELS.map((c) => [c]))('%s invokes roamlab:<name> with the request, and only the request', async (channel) => {
    const api = await load();
    const request = { marker: channel };
    const fn = api[channel] as (r: unknown, ...rest: unknown[]) => Promise<unknown>;
    await expect(fn(request, 'extra', 'args')).resolves.toEqual({ ok: true, value: 'reply' });
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledTimes(1);
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(`roamlab:${channel}`, request);
    expect(fake.ipcRenderer.invoke).toHaveBeenCalledWith(ipcChannel(channel), request);
    expect(fake.ipcRenderer.send).not.toHaveBeenCalled();
    expect(fake.ipcRenderer.sendSync).not.toHaveBeenCalled();
  });

  it('onEvent passes the listener the payload only, never the Electron event, and unsubscribes', async () => {
    const api = (await load()) as unknown as RoamlabApi;
    const seen: unknown[][] = [];
    const unsubscribe = api.onEvent((...args: unknown[]) => void seen.push(args));
    expect(fake.ipcRenderer.on).toHaveBeenCalledWith(EVENT_CHANNEL, expect.any(Function));

    const event: RoamlabEvent = { type: 'facilities-changed' };
    emitFromMain(EVENT_CHANNEL, event);
    expect(seen).toEqual([[event]]);

    emitFromMain('roamlab:other', { type: 'servers-changed' });
    expect(seen).toHaveLength(1);

    expect(typeof unsubscribe).toBe('function');
    unsubscribe();
    expect(fake.ipcRenderer.removeListener).toHaveBeenCalledWith(EVENT_CHANNEL, fake.ipcRenderer.on.mock.calls[0]![1]);
    emitFromMain(EVENT_CHANNEL, event);
    expect(seen).toHaveLength(1);
  });

  it('each subscription is its own: unsubscribing one leaves the other', async () => {
    const api = (await load()) as unknown as RoamlabApi;
    const a: RoamlabEvent[] = [];
    const b: RoamlabEvent[] = [];
    const offA = api.onEvent((e) => a.push(e));
    api.onEvent((e) => b.push(e));
    offA();
    emitFromMain(EVENT_CHANNEL, { type: 'servers-changed' });
    expect(a).toEqual([]);
    expect(b).toEqual([{ type: 'servers-changed' }]);
  });

  it('needs no module but electron at run time (a sandboxed preload cannot require a sibling file)', () => {
    // Compiled the way tsconfig.json compiles it (CommonJS); type-only imports must vanish.
    const source = readFileSync(path.join(__dirname, '../../electron/shell/preload.ts'), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2023 } }).outputText;
    const required = [...js.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    expect(required).toEqual(['electron']);
    expect(js).not.toMatch(/\bimport\(/);
  });

  it('its own copy of the channel names equals the contract (checked through what it exposes, above) and channels.ts', () => {
    expect([...CHANNEL_NAMES]).toEqual(CHANNELS);
  });
});
