/**
 * The only file in the main process that touches ipcMain (eslint bans it elsewhere).
 *
 * Every contract channel gets one `ipcMain.handle`: the sender is checked first (only the
 * launcher window's own top frame on app://roamlab), then the request goes through the core's
 * `dispatch`, which validates it against the contract before any handler runs. Events from the
 * service go to the launcher on the one event channel.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { CHANNELS, EVENT_CHANNEL, ipcChannel, type ErrorInfo, type Result, type RoamlabEvent } from '../common/ipc-contract';
import { dispatch, isTrustedSender, type HandlerTable } from '../core/ipc/handlers';
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
}

export function registerIpc(o: IpcOptions): Disposable {
  const launcherId = (): number | undefined => {
    const wc = o.launcher();
    return wc && !wc.isDestroyed() ? wc.id : undefined;
  };

  for (const channel of CHANNELS) {
    ipcMain.handle(ipcChannel(channel), async (event: IpcMainInvokeEvent, ...args: unknown[]): Promise<Result<unknown>> => {
      const frame = event.senderFrame;
      const trusted = isTrustedSender(
        { webContentsId: event.sender.id, frameUrl: frame?.url, isMainFrame: frame !== null && frame === event.sender.mainFrame },
        launcherId(),
        o.appOrigin,
      );
      if (!trusted) {
        // Origins only: a frame URL can carry anything.
        o.service.log.warn(`IPC ${channel} refused from webContents ${event.sender.id}`);
        return { ok: false, error: FORBIDDEN };
      }
      // The preload passes exactly one argument; a second one means something else is calling.
      if (args.length > 1) {
        return { ok: false, error: { kind: 'usage', message: `Malformed request for ${channel}: one argument expected.`, hint: 'This is a bug in the launcher window; reload it.', details: {} } };
      }
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
