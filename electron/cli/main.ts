import path from 'node:path';
import { parseArgs } from 'node:util';
import { RoamlabError, isRoamlabError, type ErrorKind } from '../core/errors';
import { roamlabHome } from '../core/paths';
import { Logger } from '../core/log';
import { FacilityCatalog, pickClass } from '../core/profile/catalog';
import { mergeClasses, type OfferedClass } from '../core/profile/classes';
import type { FacilityProfile } from '../core/profile/schema';
import { OsKeychain } from '../core/keychain/os-keychain';
import { accountName, type Keychain } from '../core/keychain/keychain';
import { appStateStore, type AppState } from '../core/state/app-state';
import { BookmarkStore } from '../core/state/bookmarks';
import { describeSshRoute, openTransport } from '../core/transport/open';
import { connectMux, muxSocketPath, serveMux, type MuxServer } from '../core/transport/mux';
import type { HubTransport } from '../core/transport/transport';
import { certAuthorityNote, hopNoun, type HostKeyPrompt, type SshAuthPrompt, type SshQuestions } from '../core/transport/ssh-transport';
import { HubClient } from '../core/hub/hub-client';
import { signIn, signOut } from '../core/session/credentials';
import { withSignedInHub, type HubAccess } from '../core/session/hub-access';
import { Session } from '../core/session/session';
import type { SessionState } from '../core/session/session-machine';
import { EXIT, exitCodeFor } from './exit-codes';
import { progressLine } from './progress';
import { ask, hasTerminal, isAsking, readStdin } from './prompt';

const USAGE = `Usage: roamlab <command> [options]

Commands:
  facilities                         list facility profiles (and any that are broken)
  classes <facility>                 list the notebook classes you can pick
  login <facility> [--user NAME] [--password-stdin] [--no-remember]
                                     sign in; the token (and password) go to the OS keychain
  start <facility> --class ID [--server NAME] [--json] [--port N]
                                     start or reuse a server and open the local gateway;
                                     runs until Ctrl-C (the server keeps running)
  status <facility> [--json]         your servers at the facility
  stop <facility> [--server NAME]    stop a server at the hub
  logout <facility>                  forget the stored token and password
  bookmarks                          list your bookmarks (works offline)
  bookmark add <facility> --class ID --name NAME [--server NAME] [--place PATH]
                                     remember a session to resume: class, server and the
                                     file or folder to open (works offline)
  bookmark remove NAME               forget a bookmark
  resume NAME [--json] [--port N]    start (or reuse) a bookmark's server and open its place;
                                     runs like start

Options for every command:
  --facility-file PATH               use this profile file (besides the facilities folder)
  --user NAME                        the user name at the hub (default: the last one used)
  --accept-new-host-key              trust an SSH gateway host key seen for the first time
                                     (like OpenSSH's StrictHostKeyChecking=accept-new)
  -h, --help                         this help

Files: profiles in $ROAMLAB_HOME/facilities/*.json; ROAMLAB_HOME is now %HOME%.
Exit codes: 0 ok, 2 usage, 3 sign in again, 4 hub refused, 5 network, 6 host key,
            7 no keychain, 8 facility profile, 130 interrupted. See docs/cli.md.`;

interface Ctx {
  home: string;
  log: Logger;
  keychain: Keychain;
  catalog: FacilityCatalog;
  state: AppState;
  saveState(): Promise<void>;
  flags: Flags;
  out: (line: string) => void;
  err: (line: string) => void;
}

interface Flags {
  user?: string;
  'password-stdin'?: boolean;
  'no-remember'?: boolean;
  class?: string;
  server?: string;
  json?: boolean;
  port?: string;
  'facility-file'?: string;
  'accept-new-host-key'?: boolean;
  name?: string;
  place?: string;
  help?: boolean;
}

export async function main(argv: string[], keychain: Keychain = new OsKeychain()): Promise<number> {
  const out = (l: string) => process.stdout.write(l + '\n');
  const err = (l: string) => process.stderr.write(l + '\n');
  const home = roamlabHome();
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err(`roamlab: ${(e as Error).message}\n\n${USAGE.replace('%HOME%', home)}`);
    return EXIT.usage;
  }
  const { flags, positionals } = parsed;
  const [command, facilityId] = positionals;
  if (flags.help || !command) {
    (command ? out : err)(USAGE.replace('%HOME%', home));
    return command ? EXIT.ok : EXIT.usage;
  }
  const log = new Logger(path.join(home, 'logs', 'roamlab.log'));
  try {
    const catalog = await FacilityCatalog.load(home, flags['facility-file']);
    const store = appStateStore(home);
    const loaded = await store.load();
    if (loaded.recovered) err(`roamlab: ${loaded.recovered}`);
    const ctx: Ctx = { home, log, keychain, catalog, state: loaded.value, saveState: () => store.save(ctx.state), flags, out, err };
    const needFacility = (): FacilityProfile => {
      if (!facilityId) throw new RoamlabError('usage', `"${command}" needs a facility id.`, `Run \`roamlab facilities\` to see them, then \`roamlab ${command} <facility>\`.`);
      return catalog.get(facilityId).profile;
    };
    switch (command) {
      case 'facilities':
        return await listFacilities(ctx);
      case 'classes':
        return await listClasses(ctx, needFacility());
      case 'login':
        return await login(ctx, needFacility());
      case 'start':
        return await start(ctx, needFacility());
      case 'status':
        return await status(ctx, needFacility());
      case 'stop':
        return await stop(ctx, needFacility());
      case 'logout':
        return await logout(ctx, needFacility());
      case 'bookmarks':
        return await listBookmarks(ctx);
      case 'bookmark':
        return await bookmark(ctx, positionals.slice(1));
      case 'resume':
        return await resume(ctx, positionals.slice(1));
      default:
        err(`roamlab: unknown command "${command}".\n\n${USAGE.replace('%HOME%', home)}`);
        return EXIT.usage;
    }
  } catch (e) {
    return report(e, err, log, flags.json ? out : undefined);
  }
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      user: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'no-remember': { type: 'boolean' },
      class: { type: 'string' },
      server: { type: 'string' },
      json: { type: 'boolean' },
      port: { type: 'string' },
      'facility-file': { type: 'string' },
      'accept-new-host-key': { type: 'boolean' },
      name: { type: 'string' },
      place: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  return { flags: values as Flags, positionals };
}

function report(e: unknown, err: (l: string) => void, log: Logger, json?: (l: string) => void): number {
  if (isRoamlabError(e)) {
    log.warn(`${e.kind}: ${e.message}`);
    if (json) json(JSON.stringify({ event: 'error', kind: e.kind, message: log.clean(e.message), hint: e.hint, details: e.details }));
    err(`roamlab: ${log.clean(e.message)}\n${e.hint}`);
    return exitCodeFor(e.kind);
  }
  const message = log.clean(e instanceof Error ? e.message : String(e));
  log.warn(`unexpected: ${message}`);
  err(`roamlab: unexpected failure: ${message}\nThe log is in ${path.join(roamlabHome(), 'logs')}.`);
  return EXIT.failure;
}

function username(ctx: Ctx, profile: FacilityProfile): string | undefined {
  return ctx.flags.user ?? ctx.state.facilities[profile.id]?.username;
}

function requireUser(ctx: Ctx, profile: FacilityProfile): string {
  const u = username(ctx, profile);
  if (u) return u;
  throw new RoamlabError('credentials-missing', `You have not signed in to ${profile.name} yet.`, `Sign in first: roamlab login ${profile.id} --user NAME`);
}

async function remember(ctx: Ctx, profile: FacilityProfile, patch: Partial<AppState['facilities'][string]>): Promise<void> {
  const prev = ctx.state.facilities[profile.id] ?? { rememberPassword: true };
  ctx.state.facilities[profile.id] = { ...prev, ...patch };
  await ctx.saveState();
}

function hostKeyConfirmer(ctx: Ctx) {
  return async (p: HostKeyPrompt, withdrawn: AbortSignal): Promise<boolean> => {
    const what = `The ${hopNoun(p)} ${p.host}:${p.port} is not known yet. Its ${p.keyType} key fingerprint is ${p.fingerprint}.${p.certAuthority ? `\n${certAuthorityNote(p.certAuthority)}` : ''}`;
    if (ctx.flags['accept-new-host-key']) {
      ctx.err(`roamlab: ${what} Trusting it (--accept-new-host-key) and adding it to known_hosts.`);
      return true;
    }
    const answer = await ask(`${what}\nCompare it with the fingerprint your facility publishes. Trust it and continue? [y/N] `, false, withdrawn);
    return answer !== null && /^y(es)?$/i.test(answer.trim());
  };
}

/**
 * A server's prompts (a one-time code, a password), asked on the terminal, hidden where the
 * server says so. With no terminal (a script, --json under a supervisor) there is no one to ask.
 */
function promptAnswerer(ctx: Ctx) {
  return async (p: SshAuthPrompt, withdrawn: AbortSignal): Promise<string[] | null> => {
    const where = `${hopNoun(p)} ${p.host}:${p.port}`;
    if (!hasTerminal()) {
      throw new RoamlabError(
        'ssh-auth-failed',
        `The ${where} asks user "${p.user}" for ${p.prompts.length === 1 ? `"${p.prompts[0]!.prompt.trim()}"` : 'answers to its prompts'}, and there is no terminal to ask on.`,
        'Run the command in a terminal, where Roamlab can ask you, or sign in from the Roamlab window.',
        { host: p.host, port: p.port },
      );
    }
    ctx.err(p.attempt > 1 ? `roamlab: the ${where} did not accept that; try again.` : `roamlab: the ${where} asks for more than the key.`);
    for (const line of [p.name, p.instructions]) if (line.trim()) ctx.err(line.trim());
    const answers: string[] = [];
    for (const q of p.prompts) {
      const a = await ask(q.prompt.endsWith(' ') ? q.prompt : `${q.prompt} `, !q.echo, withdrawn);
      if (a === null) return null;
      answers.push(a);
    }
    return answers;
  };
}

function sshQuestions(ctx: Ctx): SshQuestions {
  return { confirmUnknownHostKey: hostKeyConfirmer(ctx), answerPrompts: promptAnswerer(ctx) };
}

function access(ctx: Ctx, profile: FacilityProfile, username: string): HubAccess {
  return { profile, keychain: ctx.keychain, username, log: ctx.log, ...sshQuestions(ctx), transport: () => transportFor(ctx, profile, username) };
}

/**
 * The facility's connection a running `roamlab start` or the Roamlab window shares (mux.ts), when
 * there is one: no new sign-in to the gateway, so no second one-time code. Else a connection of
 * this command's own.
 * `user`: the person's user name at the facility, their SSH account where nothing else names
 * one (open.ts resolveSshAccount).
 */
async function transportFor(ctx: Ctx, profile: FacilityProfile, user: string): Promise<HubTransport> {
  const shared = await connectMux(muxSocketPath(ctx.home, profile, user), profile);
  if (shared) {
    ctx.log.info(`${profile.id}: ${shared.describe}`);
    return shared;
  }
  return ownTransport(ctx, profile, user);
}

/** A connection of this command's own, its questions asked at the terminal. */
function ownTransport(ctx: Ctx, profile: FacilityProfile, user: string, signal?: AbortSignal): Promise<HubTransport> {
  return openTransport(profile, { keychain: ctx.keychain, user, note: (m) => ctx.log.info(m), ...sshQuestions(ctx), signal });
}

async function connect(ctx: Ctx, profile: FacilityProfile, user: string) {
  const transport = await transportFor(ctx, profile, user);
  return { transport, hub: new HubClient({ transport }) };
}

async function listFacilities(ctx: Ctx): Promise<number> {
  if (!ctx.catalog.profiles.length && !ctx.catalog.problems.length) {
    ctx.out(`No facilities yet. Put a profile in ${path.join(ctx.home, 'facilities')}/ (see docs/facility-profile.md), or run \`npm run demo-facility\`.`);
  }
  for (const { profile, file } of ctx.catalog.profiles) {
    const user = ctx.state.facilities[profile.id]?.username;
    const via = await describeSshRoute(profile);
    ctx.out(`${profile.id.padEnd(20)} ${profile.name}${via ? ` (via ${via})` : ''}${user ? `  [${user}]` : ''}  ${file}`);
  }
  for (const p of ctx.catalog.problems) ctx.err(`roamlab: ${p.error.message}\n${p.error.hint}`);
  return ctx.catalog.problems.length ? EXIT.profile : EXIT.ok;
}

function describeClass(c: OfferedClass): string {
  const parts = [
    c.memoryGB !== undefined ? `${c.memoryGB} GB` : undefined,
    c.cores !== undefined ? `${c.cores} core${c.cores === 1 ? '' : 's'}` : undefined,
    c.runtimeHours !== undefined ? `${c.runtimeHours} h` : undefined,
  ].filter(Boolean);
  return `${c.id.padEnd(12)} ${c.label}${parts.length ? ` — ${parts.join(', ')}` : ''}${c.source === 'hub' ? '  (offered by the hub)' : ''}`;
}

/** The profile's classes, plus what the hub's spawn form offered at the last sign-in. */
function offeredClasses(ctx: Ctx, profile: FacilityProfile): OfferedClass[] {
  return mergeClasses(profile.classes, ctx.state.facilities[profile.id]?.hubForm ?? null);
}

/**
 * Read the hub's spawn form while the sign-in's web session is fresh (hub pages take no API
 * token). Best effort: a hub without a form, or one whose server is running, keeps what we had.
 */
async function readHubForm(ctx: Ctx, profile: FacilityProfile, hub: HubClient, token: string, user: string): Promise<void> {
  try {
    const form = await hub.spawnForm(token, { acceptSpawnRisk: true, user });
    await remember(ctx, profile, { hubForm: form ? { ...form, readAt: new Date().toISOString() } : undefined });
  } catch (e) {
    ctx.log.info(`${profile.id}: spawn form not read (${(e as Error).message})`);
  }
}

async function listClasses(ctx: Ctx, profile: FacilityProfile): Promise<number> {
  const classes = offeredClasses(ctx, profile);
  const last = ctx.state.facilities[profile.id]?.lastClass;
  for (const c of classes) ctx.out(`${c.id === last ? '*' : ' '} ${describeClass(c)}`);
  if (!classes.length) ctx.out(`This facility lists no notebook classes${username(ctx, profile) ? '' : ' (sign in to see the ones its hub offers)'}.`);
  return EXIT.ok;
}

async function login(ctx: Ctx, profile: FacilityProfile): Promise<number> {
  let user = username(ctx, profile);
  if (!user) user = (await ask(`User name at ${profile.name}: `))?.trim();
  if (!user) throw new RoamlabError('usage', 'No user name given.', `Pass --user NAME: roamlab login ${profile.id} --user NAME`);
  // Find out now, not after the hub has minted a token, whether there is a keychain to keep it in.
  await ctx.keychain.get(accountName(profile.id, 'token', user));
  let password: string | null;
  if (ctx.flags['password-stdin']) password = await readStdin();
  else password = await ask(`Password for ${user} at ${profile.name}: `, true);
  if (!password) {
    throw new RoamlabError('usage', 'No password given.', 'Type it at the prompt, or pipe it in with --password-stdin (never as an argument).');
  }
  ctx.log.redact(password);
  const { transport, hub } = await connect(ctx, profile, user);
  try {
    const rememberPassword = !ctx.flags['no-remember'];
    const token = await signIn({ profile, hub, keychain: ctx.keychain, username: user, password, remember: rememberPassword, log: ctx.log });
    await remember(ctx, profile, { username: user, rememberPassword });
    await readHubForm(ctx, profile, hub, token, user);
    ctx.out(`Signed in to ${profile.name} as ${user}. The token${rememberPassword ? ' and password are' : ' is'} in the OS keychain.`);
    return EXIT.ok;
  } finally {
    await transport.close();
  }
}

async function logout(ctx: Ctx, profile: FacilityProfile): Promise<number> {
  const user = requireUser(ctx, profile);
  await signOut(profile, ctx.keychain, user);
  ctx.out(`Signed out of ${profile.name}: the token and password for ${user} are no longer in the keychain.`);
  return EXIT.ok;
}

async function status(ctx: Ctx, profile: FacilityProfile): Promise<number> {
  const user = requireUser(ctx, profile);
  const servers = await withSignedInHub(access(ctx, profile, user), (hub, token) => hub.servers(token, user));
  if (ctx.flags.json) {
    ctx.out(JSON.stringify({ facility: profile.id, user, servers }));
    return EXIT.ok;
  }
  if (!servers.length) ctx.out(`${user} has no servers running at ${profile.name}.`);
  for (const s of servers) {
    const state = s.ready ? 'ready' : s.pending ? `pending (${s.pending})` : 'stopped';
    ctx.out(`${(s.name || '(default)').padEnd(16)} ${state.padEnd(18)} started ${s.started ?? '—'}  ${JSON.stringify(s.user_options ?? {})}`);
  }
  return EXIT.ok;
}

async function stop(ctx: Ctx, profile: FacilityProfile): Promise<number> {
  const user = requireUser(ctx, profile);
  await withSignedInHub(access(ctx, profile, user), (hub, token) => hub.stop(token, user, ctx.flags.server ?? ''));
  ctx.out(`Stopped ${ctx.flags.server ? `server "${ctx.flags.server}"` : 'the default server'} of ${user} at ${profile.name}.`);
  return EXIT.ok;
}

async function listBookmarks(ctx: Ctx): Promise<number> {
  const store = new BookmarkStore(ctx.home);
  const { bookmarks, recovered, problems } = await store.list();
  if (recovered) ctx.err(`roamlab: ${recovered}`);
  for (const p of problems) ctx.err(`roamlab: ${p}`);
  if (ctx.flags.json) {
    ctx.out(JSON.stringify({ bookmarks }));
    return EXIT.ok;
  }
  if (!bookmarks.length) ctx.out('No bookmarks yet. Make one with: roamlab bookmark add <facility> --class ID --name NAME [--place PATH]');
  const known = new Set(ctx.catalog.profiles.map((p) => p.profile.id));
  for (const b of bookmarks) {
    const where = [b.facilityId, b.classId, b.serverName ? `server ${b.serverName}` : undefined, b.place].filter(Boolean).join(' · ');
    ctx.out(`${b.name.padEnd(24)} ${where}${known.has(b.facilityId) ? '' : '  (no such facility profile now)'}`);
  }
  return EXIT.ok;
}

async function bookmark(ctx: Ctx, args: string[]): Promise<number> {
  const [verb, target] = args;
  const store = new BookmarkStore(ctx.home);
  if (verb === 'add') {
    if (!target) throw new RoamlabError('usage', '"bookmark add" needs a facility id.', 'roamlab bookmark add <facility> --class ID --name NAME [--place PATH]');
    const profile = ctx.catalog.get(target).profile;
    const classId = ctx.flags.class ?? ctx.state.facilities[profile.id]?.lastClass;
    if (!classId) throw new RoamlabError('usage', 'No notebook class given.', `Pick one with --class ID; \`roamlab classes ${profile.id}\` lists them.`);
    const chosen = pickClass(offeredClasses(ctx, profile), classId, profile.name);
    if (ctx.flags.name === undefined) throw new RoamlabError('usage', 'A bookmark needs a name.', 'Give one with --name, e.g. --name "Beamtime P11".');
    const b = await store.add({ name: ctx.flags.name, facilityId: profile.id, classId: chosen.id, serverName: ctx.flags.server, place: ctx.flags.place });
    ctx.out(`Bookmarked "${b.name}": ${profile.name}, ${chosen.label}${b.serverName ? `, server ${b.serverName}` : ''}${b.place ? `, opening ${b.place}` : ''}. Resume it with: roamlab resume "${b.name}"`);
    return EXIT.ok;
  }
  if (verb === 'remove' || verb === 'rm') {
    if (!target) throw new RoamlabError('usage', '"bookmark remove" needs the bookmark\'s name.', 'roamlab bookmarks lists them.');
    const b = await store.remove(target);
    ctx.out(`Removed the bookmark "${b.name}".`);
    return EXIT.ok;
  }
  throw new RoamlabError('usage', `"bookmark ${verb ?? ''}" is not a command.`, 'Use: roamlab bookmark add <facility> --class ID --name NAME, or roamlab bookmark remove NAME.');
}

async function resume(ctx: Ctx, args: string[]): Promise<number> {
  const [name] = args;
  if (!name) throw new RoamlabError('usage', '"resume" needs a bookmark\'s name.', 'roamlab bookmarks lists them.');
  const store = new BookmarkStore(ctx.home);
  const b = await store.find(name);
  const profile = ctx.catalog.get(b.facilityId).profile;
  await store.touch(b.id);
  return start(ctx, profile, { classId: b.classId, serverName: b.serverName, place: b.place });
}

async function start(ctx: Ctx, profile: FacilityProfile, from?: { classId: string; serverName: string; place?: string }): Promise<number> {
  const user = requireUser(ctx, profile);
  const classId = from?.classId ?? ctx.flags.class ?? ctx.state.facilities[profile.id]?.lastClass;
  if (!classId) throw new RoamlabError('usage', 'No notebook class given.', `Pick one with --class ID; \`roamlab classes ${profile.id}\` lists them.`);
  const port = ctx.flags.port === undefined ? undefined : Number(ctx.flags.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new RoamlabError('usage', `--port must be a port number, not "${ctx.flags.port}".`, 'Leave it out to use any free port.');
  }
  const chosen = pickClass(offeredClasses(ctx, profile), classId, profile.name);
  const json = ctx.flags.json === true;
  const emit = (o: object) => ctx.out(JSON.stringify(o));
  const began = Date.now();
  /** The session's connection now (a reconnect replaces it), shared with other roamlab commands while it runs (mux.ts). */
  let current: HubTransport | undefined;
  let mux: MuxServer | undefined;
  const session = new Session({
    profile,
    keychain: ctx.keychain,
    username: user,
    notebookClass: chosen,
    serverName: from ? from.serverName : ctx.flags.server,
    place: from?.place,
    port,
    log: ctx.log,
    openTransport: async (signal) => (current = await ownTransport(ctx, profile, user, signal)),
    monitor: { thresholds: ctx.state.facilities[profile.id]?.thresholds },
  });
  session.on('metrics', (m) => {
    if (json) emit({ event: 'metrics', ...m, time: new Date(m.at).toISOString() });
  });
  session.on('limit', (e) => {
    if (json) emit({ event: 'limit', ...e, time: new Date(e.at).toISOString() });
    else ctx.err(`${e.level === 'critical' ? '!!' : '!'} ${e.title}\n  ${e.body}`);
  });
  session.on('notice', (n) => {
    if (json) emit({ event: 'notice', ...n });
    else ctx.err(`note: ${n.message}`);
  });
  session.on('wake', (w) => {
    if (json) emit({ event: 'wake', sleptMs: w.sleptMs, time: new Date().toISOString() });
  });
  const interactive = !json && process.stderr.isTTY;
  session.on('state', (s: SessionState) => {
    if (json) {
      emit({ event: 'state', ...s, facility: profile.id, class: chosen.id, time: new Date().toISOString() });
      return;
    }
    if (s.name === 'spawning') {
      const line = progressLine(s.progress, s.message ?? s.reason, Date.now() - began, process.stderr.columns ?? 80);
      if (interactive) process.stderr.write(`\r\x1b[2K${line}`);
      else ctx.err(line);
      return;
    }
    if (interactive) process.stderr.write('\r\x1b[2K');
    if (s.name !== 'ready' && s.name !== 'ended') ctx.err(`${s.name}: ${s.reason}`);
    if (s.name === 'ready' && s.downForMs !== undefined) ctx.err(s.reason);
    // The server went away under us (runtime reached, memory, stopped at the hub), or the way
    // back needs the person (a changed host key, a declined one-time code): say why.
    if (s.name === 'ended' && s.error) ctx.err(`${s.reason}\n${s.error.hint}`);
  });

  const abort = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    let url: string;
    try {
      url = await session.start(abort.signal);
    } catch (e) {
      if (interrupted) {
        ctx.err('roamlab: interrupted; the spawn was cancelled.');
        return EXIT.interrupted;
      }
      throw e;
    }
    await remember(ctx, profile, { username: user, lastClass: chosen.id });
    const socket = muxSocketPath(ctx.home, profile, user);
    if (socket && current?.forward) {
      mux = await serveMux(socket, () => current!.forward!(), (l) => ctx.log.info(l)).catch((e: unknown) => {
        ctx.log.info(`mux: not sharing the connection (${(e as Error).message})`);
        return undefined;
      });
    }
    if (!json) {
      ctx.out(url);
      ctx.err(`Ready: ${profile.name}, ${chosen.label}. Open the address above in a browser (it works once; press Enter for a new one).\nIf the network drops, the tunnel comes back by itself (Enter tries at once). Ctrl-C closes the tunnel; the server keeps running (roamlab stop ${profile.id} stops it).`);
    }
    process.stdin.on('data', () => {
      // Keys typed at a question (a reconnect's one-time code) are its answer.
      if (isAsking()) return;
      // Enter while reconnecting: try now rather than at the next scheduled attempt.
      if (session.state.name === 'reconnecting' || session.state.name === 'degraded') return session.reconnectNow();
      if (session.state.name === 'ready') {
        const fresh = session.entryUrl();
        if (json) emit({ event: 'entry-url', url: fresh });
        else ctx.out(fresh);
      }
    });
    if (process.stdin.isTTY) process.stdin.resume();
    await new Promise<void>((resolve) => {
      if (interrupted) return resolve();
      abort.signal.addEventListener('abort', () => resolve(), { once: true });
      session.on('state', (s) => {
        if (s.name === 'ended') resolve();
      });
    });
    const ended = !interrupted && session.state.name === 'ended' ? session.state : undefined;
    await session.close();
    // The server went away on its own (runtime, memory, stopped at the hub): not a clean exit;
    // nor is a way back that needs the person (exit code by what they do next).
    if (ended) return ended.error && !ended.error.kind.startsWith('server-ended') ? (exitCodeFor(ended.error.kind as ErrorKind) ?? EXIT.failure) : EXIT.hub;
    if (!json) ctx.err(`Tunnel closed. ${profile.name} keeps your server running.`);
    return EXIT.ok;
  } finally {
    await mux?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stdin.pause();
    process.stdin.removeAllListeners('data');
  }
}
