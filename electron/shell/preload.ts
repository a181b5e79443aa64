/**
 * The launcher window's preload: exposes `window.roamlab`, one named function per contract
 * channel plus `onEvent`, and nothing else — never ipcRenderer, never an Electron event.
 *
 * It runs sandboxed, where `require` knows only 'electron' and a few built-ins and never a
 * sibling file, so this file must be self-contained: the channel names are copied here from
 * electron/common/channels.ts (a type-only import is erased at build), and
 * test/unit/preload.test.ts holds the copy equal to the contract.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { RoamlabApi, RoamlabEvent } from '../common/ipc-contract';

const CHANNEL_NAMES = [
  'listFacilities',
  'importFacility',
  'removeFacility',
  'signIn',
  'signInWithWebPage',
  'signOut',
  'disconnectFacility',
  'startSession',
  'switchClass',
  'cancelSession',
  'openSession',
  'closeSession',
  'stopServer',
  'listSessions',
  'listServers',
  'answerHostKey',
  'answerSshPrompt',
  'reconnectSession',
  'networkChanged',
  'listBookmarks',
  'addBookmark',
  'bookmarkSession',
  'removeBookmark',
  'resumeBookmark',
] as const;
const IPC_PREFIX = 'roamlab:';
const EVENT_CHANNEL = 'roamlab:event';

const api: Record<string, unknown> = {};
for (const name of CHANNEL_NAMES) {
  // One argument only: whatever else a page passes never reaches main.
  api[name] = (request: unknown) => ipcRenderer.invoke(`${IPC_PREFIX}${name}`, request);
}
api.onEvent = (listener: (event: RoamlabEvent) => void): (() => void) => {
  // The page gets the payload only: the Electron event would hand it `sender`, an ipcRenderer.
  const forward = (_event: IpcRendererEvent, payload: RoamlabEvent) => listener(payload);
  ipcRenderer.on(EVENT_CHANNEL, forward);
  return () => {
    ipcRenderer.removeListener(EVENT_CHANNEL, forward);
  };
};

contextBridge.exposeInMainWorld('roamlab', api as RoamlabApi);
