import { RoamlabError } from '../errors';
import { errorInfo, type LauncherService } from '../app/launcher-service';
import {
  STRIP_CHANNELS,
  stripRequestSchemas,
  type Result,
  type RoamlabEvent,
  type StripChannel,
  type StripEvent,
  type StripReplyOf,
  type StripRequestOf,
} from '../../common/ipc-contract';
import type { SenderFacts } from './handlers';

/** The one thing a strip's request carries besides itself: whose strip it is, as main knows it. */
export interface StripContext {
  sessionId: string;
}

export type StripHandlerTable = { [C in StripChannel]: (request: StripRequestOf<C>, ctx: StripContext) => Promise<StripReplyOf<C>> };

export interface StripHooks {
  /**
   * Bring the launcher window forward (made again if it was closed); with `pickClassFor`, on that
   * facility's class picker — the shell calls service.requestClassPicker once the launcher listens.
   */
  showLauncher(pickClassFor?: string): void;
}

/**
 * The strip's handler table, over the launcher service. The session comes from the context
 * (main's record of which strip the sender is), never from the request, so a strip can read and
 * act on its own session only. The Electron shell registers exactly this table; the strip's
 * Chromium test binds exactly this table into the page.
 */
export function createStripHandlerTable(s: LauncherService, hooks: StripHooks): StripHandlerTable {
  return {
    session: async (_r, { sessionId }) => s.sessionView(sessionId) ?? null,
    showLauncher: async (r, { sessionId }) => {
      const view = s.sessionView(sessionId);
      hooks.showLauncher(r.pickClass && view ? view.facilityId : undefined);
      return { shown: true as const };
    },
  };
}

function isStripChannel(name: string): name is StripChannel {
  return (STRIP_CHANNELS as string[]).includes(name);
}

/** Validate and run one request from a strip; every failure comes back as a Result (see dispatch). */
export async function dispatchStrip(table: StripHandlerTable, channel: string, request: unknown, ctx: StripContext): Promise<Result<unknown>> {
  if (!isStripChannel(channel)) {
    return { ok: false, error: errorInfo(new RoamlabError('usage', `Unknown request "${channel.slice(0, 64)}".`, 'This is a bug in the Lab window\'s status strip.')) };
  }
  const parsed = stripRequestSchemas[channel].safeParse(request ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      error: errorInfo(new RoamlabError('usage', `Malformed request for ${channel}: ${issue ? `${issue.path.join('.') || '(request)'}: ${issue.message}` : 'invalid'}.`, 'This is a bug in the Lab window\'s status strip.', { field: issue?.path.join('.') })),
    };
  }
  try {
    const handler = table[channel] as (r: unknown, c: StripContext) => Promise<unknown>;
    return { ok: true, value: await handler(parsed.data, ctx) };
  } catch (e) {
    return { ok: false, error: errorInfo(e) };
  }
}

/** The strip's page, on the app's own origin. */
export const STRIP_PATH = '/strip.html';

/** Whether `url` is the strip's page on the app's own origin (any query or fragment). */
export function isStripUrl(url: string | undefined, appOrigin: string): boolean {
  if (!url) return false;
  try {
    // Not URL.origin: for a custom scheme such as app:// it is the opaque "null".
    const u = new URL(url);
    return `${u.protocol}//${u.host}` === appOrigin && u.pathname === STRIP_PATH && !u.username && !u.password;
  } catch {
    return false;
  }
}

/**
 * Which session a strip request is for, or undefined when the sender is no strip: it must be a
 * webContents the shell made as a strip (`sessionOf` knows them), its top frame, showing the
 * strip page on the app's own origin. A Lab page, the launcher, or a strip that navigated
 * elsewhere is refused.
 */
export function stripSenderSession(s: SenderFacts, sessionOf: (webContentsId: number) => string | undefined, appOrigin: string): string | undefined {
  const sessionId = sessionOf(s.webContentsId);
  if (sessionId === undefined || !s.isMainFrame || !isStripUrl(s.frameUrl, appOrigin)) return undefined;
  return sessionId;
}

/** What a strip hears of a service event: its own session's updates, nothing else. */
export function stripEventFor(e: RoamlabEvent, sessionId: string): StripEvent | undefined {
  return e.type === 'session' && e.session.sessionId === sessionId ? { type: 'session', session: e.session } : undefined;
}
