/**
 * The channel names of the IPC contract as plain data, with no dependency at all.
 *
 * ipc-contract.ts holds the schemas and types and re-exports these constants; this file exists
 * so that code which must stay dependency-free can name the channels. The sandboxed preload
 * cannot load even this file (a sandboxed preload may require only 'electron' and a few
 * built-ins, never a sibling module), so it keeps its own copy of the list, and
 * test/unit/preload.test.ts and test/unit/channels.test.ts hold every copy equal to the contract.
 */
export const CHANNEL_NAMES = [
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

export type ChannelName = (typeof CHANNEL_NAMES)[number];

/** The IPC channel name for a contract channel; the preload forwards only this prefix. */
export const IPC_PREFIX = 'roamlab:';
export const ipcChannel = (c: ChannelName): string => `${IPC_PREFIX}${c}`;

/** The one channel on which main sends events to the launcher window. */
export const EVENT_CHANNEL = 'roamlab:event';

/**
 * The Lab window's status strip has its own small contract (stripRequestSchemas in
 * ipc-contract.ts), on its own prefix: no strip channel is a launcher channel, and the other way
 * round. Its preload (electron/shell/strip-preload.ts) keeps its own copy of these.
 */
export const STRIP_CHANNEL_NAMES = ['session', 'showLauncher'] as const;
export type StripChannelName = (typeof STRIP_CHANNEL_NAMES)[number];
export const STRIP_IPC_PREFIX = 'roamlab-strip:';
export const stripIpcChannel = (c: StripChannelName): string => `${STRIP_IPC_PREFIX}${c}`;
/** The one channel on which main sends a strip its session's updates. */
export const STRIP_EVENT_CHANNEL = 'roamlab-strip:event';
