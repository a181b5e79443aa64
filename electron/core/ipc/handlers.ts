import { RoamlabError } from '../errors';
import { errorInfo, type LauncherService } from '../app/launcher-service';
import { CHANNELS, requestSchemas, type Channel, type ReplyOf, type RequestOf, type Result } from '../../common/ipc-contract';

export type HandlerTable = { [C in Channel]: (request: RequestOf<C>) => Promise<ReplyOf<C>> };

/**
 * The handler table: one function per contract channel, over the launcher service. The Electron
 * shell registers exactly this table with ipcMain; the renderer tests bind exactly this table
 * into the page. Requests reach it only through `dispatch`, which validates them first.
 */
export function createHandlerTable(s: LauncherService): HandlerTable {
  return {
    listFacilities: () => s.listFacilities(),
    importFacility: (r) => s.importFacility(r.fileName, r.content),
    removeFacility: async (r) => (await s.removeFacility(r.facilityId), { removed: true as const }),
    signIn: (r) => s.signIn(r.facilityId, r.username, r.password, r.remember),
    signInWithWebPage: (r) => s.signInWithWebPage(r.facilityId),
    signOut: (r) => s.signOut(r.facilityId),
    disconnectFacility: (r) => s.disconnectFacility(r.facilityId),
    startSession: async (r) => s.startSession(r.facilityId, r.classId, r.serverName ?? ''),
    switchClass: async (r) => s.switchClass(r.facilityId, r.classId, r.serverName ?? ''),
    cancelSession: async (r) => s.cancelSession(r.sessionId),
    reconnectSession: async (r) => s.reconnectSession(r.sessionId),
    networkChanged: async (r) => ({ sessions: s.signalAll(r.online ? 'network-up' : 'network-down') }),
    openSession: async (r) => s.openSession(r.sessionId),
    closeSession: async (r) => (await s.closeSession(r.sessionId), { closed: true as const }),
    stopServer: async (r) => (await s.stopServer(r.facilityId, r.serverName), { stopped: true as const }),
    listSessions: async () => s.listSessions(),
    listServers: () => s.listServers(),
    answerHostKey: async (r) => ({ answered: s.answerHostKey(r.promptId, r.accept) }),
    answerSshPrompt: async (r) => ({ answered: s.answerSshPrompt(r.promptId, r.answers) }),
    listBookmarks: () => s.listBookmarks(),
    addBookmark: (r) => s.addBookmark(r),
    bookmarkSession: (r) => s.bookmarkSession(r.sessionId, r.name),
    removeBookmark: async (r) => (await s.removeBookmark(r.bookmarkId), { removed: true as const }),
    resumeBookmark: (r) => s.resumeBookmark(r.bookmarkId),
  };
}

function isChannel(name: string): name is Channel {
  return (CHANNELS as string[]).includes(name);
}

/**
 * Validate and run one request from the renderer. Unknown channels and malformed requests are
 * refused before any handler runs; every failure comes back as a Result, never as a thrown
 * Error (Electron's IPC would strip its fields).
 */
export async function dispatch(table: HandlerTable, channel: string, request: unknown): Promise<Result<unknown>> {
  if (!isChannel(channel)) {
    return { ok: false, error: errorInfo(new RoamlabError('usage', `Unknown request "${channel.slice(0, 64)}".`, 'This is a bug in the launcher window; reload it.')) };
  }
  const parsed = requestSchemas[channel].safeParse(request ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      error: errorInfo(new RoamlabError('usage', `Malformed request for ${channel}: ${issue ? `${issue.path.join('.') || '(request)'}: ${issue.message}` : 'invalid'}.`, 'This is a bug in the launcher window; reload it.', { field: issue?.path.join('.') })),
    };
  }
  try {
    const handler = table[channel] as (r: unknown) => Promise<unknown>;
    return { ok: true, value: await handler(parsed.data) };
  } catch (e) {
    return { ok: false, error: errorInfo(e) };
  }
}

/** Who sent an IPC message, as plain data the Electron adapter reads off the event. */
export interface SenderFacts {
  /** webContents id of the sender. */
  webContentsId: number;
  /** URL of the frame that sent it; undefined when the frame is gone. */
  frameUrl: string | undefined;
  /** Whether that frame is the top frame of its page. */
  isMainFrame: boolean;
}

/**
 * Only the launcher window's own top frame, showing the app's own origin, may call the core.
 * A Lab window, an iframe, or a page that navigated elsewhere is refused.
 */
export function isTrustedSender(s: SenderFacts, launcherWebContentsId: number | undefined, appOrigin: string): boolean {
  if (launcherWebContentsId === undefined || s.webContentsId !== launcherWebContentsId || !s.isMainFrame || !s.frameUrl) return false;
  try {
    // Not URL.origin: for a custom scheme such as app:// it is the opaque "null".
    const u = new URL(s.frameUrl);
    return `${u.protocol}//${u.host}` === appOrigin;
  } catch {
    return false;
  }
}
