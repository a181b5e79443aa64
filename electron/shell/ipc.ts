/**
 * The only file in the main process that touches ipcMain (eslint bans it elsewhere).
 *
 * Every contract channel gets one `ipcMain.handle`: the sender is checked first (only the
 * launcher window's own top frame on app://roamlab), then the request goes through the core's
 * `dispatch`, which validates it against the contract before any handler runs. Events from the
 * service go to the launcher on the one event channel.
 *
 * The Lab windows' status strips have their own small contract, registered the same way by
 * registerStripIpc: only a strip's top frame on app://roamlab/strip.html is answered, for the
 * session main made that strip for, and each strip hears its own session's updates only.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import {
  CHANNELS,
  EVENT_CHANNEL,
  STRIP_CHANNELS,
  STRIP_EVENT_CHANNEL,
  ipcChannel,
  stripIpcChannel,
  type ErrorInfo,
  type Result,
  type RoamlabEvent,
} from '../common/ipc-contract';
import { dispatch, isTrustedSender, type HandlerTable, type SenderFacts } from '../core/ipc/handlers';
import { dispatchStrip, isStripUrl, stripEventFor, stripSenderSession, type StripHandlerTable } from '../core/ipc/strip-handlers';
import { launcherNavigationAllowed } from '../core/policy/navigation';
import type { LauncherService } from '../core/app/launcher-service';
import type { Disposable } from './disposable';

const FORBIDDEN: ErrorInfo = {
  kind: 'forbidden',
  message: 'This window may not ask Roamlab for that.',
  hint: 'Use the Roamlab launcher window.',
  details: {},
};

export interface IpcOptions {
  table: HandlerTable;
  service: LauncherService;
  /** The launcher window's webContents now (it can be closed and made again), or undefined. */
  launcher: () => WebContents | undefined;
  appOrigin: string;
  /** The launcher asked something: its page runs, and has subscribed to events (it does so first). */
  onLauncherRequest?: () => void;
}

function senderFacts(event: IpcMainInvokeEvent): SenderFacts {
  const frame = event.senderFrame;
  return { webContentsId: event.sender.id, frameUrl: frame?.url, isMainFrame: frame !== null && frame === event.sender.mainFrame };
}

const malformed = (channel: string): Result<unknown> => ({
  ok: false,
  error: { kind: 'usage', message: `Malformed request for ${channel}: one argument expected.`, hint: 'This is a bug in the window that asked; reload it.', details: {} },
});

export function registerIpc(o: IpcOptions): Disposable {
  const launcherId = (): number | undefined => {
    const wc = o.launcher();
    return wc && !wc.isDestroyed() ? wc.id : undefined;
  };

  for (const channel of CHANNELS) {
    ipcMain.handle(ipcChannel(channel), async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<Result<unknown>> => {
      const trusted = isTrustedSender(senderFacts(event), launcherId(), o.appOrigin);
      if (!trusted) {
        // Origins only: a frame URL can carry anything.
        o.service.log.warn(`IPC ${channel} refused from webContents ${event.sender.id}`);
        return { ok: false, error: FORBIDDEN };
      }
      // The preload passes exactly one argument; a second one means something else is calling.
      if (args.length > 1) return malformed(channel);
      o.onLauncherRequest?.();
      return dispatch(o.table, channel, args[0]);
    });
  }

  const forward = (event: RoamlabEvent) => {
    const wc = o.launcher();
    // Only to the launcher showing its own page: events name facilities, servers and prompts.
    if (wc && !wc.isDestroyed() && launcherNavigationAllowed(wc.getURL(), o.appOrigin)) wc.send(EVENT_CHANNEL, event);
  };
  o.service.on('event', forward);

  return {
    dispose() {
      for (const channel of CHANNELS) ipcMain.removeHandler(ipcChannel(channel));
      o.service.off('event', forward);
    },
  };
}

export interface StripIpcOptions {
  table: StripHandlerTable;
  service: LauncherService;
  /** Which session each strip webContents shows (the Lab windows know). */
  strips: { sessionOf(webContentsId: number): string | undefined; all(): { sessionId: string; contents: WebContents }[] };
  appOrigin: string;
}

export function registerStripIpc(o: StripIpcOptions): Disposable {
  for (const channel of STRIP_CHANNELS) {
    ipcMain.handle(stripIpcChannel(channel), async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<Result<unknown>> => {
      const sessionId = stripSenderSession(senderFacts(event), (id) => o.strips.sessionOf(id), o.appOrigin);
      if (sessionId === undefined) {
        o.service.log.warn(`IPC strip ${channel} refused from webContents ${event.sender.id}`);
        return { ok: false, error: FORBIDDEN };
      }
      if (args.length > 1) return malformed(channel);
      return dispatchStrip(o.table, channel, args[0], { sessionId });
    });
  }

  const forward = (event: RoamlabEvent) => {
    for (const { sessionId, contents } of o.strips.all()) {
      const e = stripEventFor(event, sessionId);
      // Only to a strip showing its own page.
      if (e && !contents.isDestroyed() && isStripUrl(contents.getURL(), o.appOrigin)) contents.send(STRIP_EVENT_CHANNEL, e);
    }
  };
  o.service.on('event', forward);

  return {
    dispose() {
      for (const channel of STRIP_CHANNELS) ipcMain.removeHandler(stripIpcChannel(channel));
      o.service.off('event', forward);
    },
  };
}
