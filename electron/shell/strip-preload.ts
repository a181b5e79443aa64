/**
 * The Lab window's status strip's preload: exposes `window.roamlabStrip`, one named function per
 * strip channel (its session now; show the launcher) plus `onEvent`, and nothing else — never
 * ipcRenderer, never an Electron event. The strip gets no launcher channel at all: main answers
 * those only to the launcher window, and these only to a strip, for its own session.
 *
 * It runs sandboxed, where `require` knows only 'electron' and a few built-ins, so this file is
 * self-contained: the names are copied from electron/common/channels.ts (a type-only import is
 * erased at build), and test/unit/strip-preload.test.ts holds the copy equal to the contract.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { RoamlabStripApi, StripEvent } from '../common/ipc-contract';

const CHANNEL_NAMES = ['session', 'showLauncher'] as const;
const IPC_PREFIX = 'roamlab-strip:';
const EVENT_CHANNEL = 'roamlab-strip:event';

const api: Record<string, unknown> = {};
for (const name of CHANNEL_NAMES) {
  // One argument only: whatever else a page passes never reaches main.
  api[name] = (request: unknown) => ipcRenderer.invoke(`${IPC_PREFIX}${name}`, request);
}
api.onEvent = (listener: (event: StripEvent) => void): (() => void) => {
  // The page gets the payload only: the Electron event would hand it `sender`, an ipcRenderer.
  const forward = (_event: IpcRendererEvent, payload: StripEvent) => listener(payload);
  ipcRenderer.on(EVENT_CHANNEL, forward);
  return () => {
    ipcRenderer.removeListener(EVENT_CHANNEL, forward);
  };
};

contextBridge.exposeInMainWorld('roamlabStrip', api as RoamlabStripApi);
