import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import type * as https from 'node:https';
import { loadHttps } from '../lazy-modules';
import type { FacilityProfile } from '../profile/schema';
import { hubBaseUrl } from '../profile/schema';
import { hubTarget, tlsToHub } from './ssh-transport';
import type { HubTransport } from './transport';
import { hubSecureContext } from './trust-store';

/**
 * One SSH connection shared between roamlab commands, as OpenSSH's ControlMaster shares one
 * between ssh commands. A `roamlab start` holds the facility's connection for as long as it
 * runs (and the app each connection in its pool, shared.ts); it listens on a Unix socket in
 * `$ROAMLAB_HOME/run/` (the folder 0700, the socket 0600: only the same user, as ssh's
 * ControlPath), and every connection to that socket becomes a raw byte stream to the hub's host
 * and port over a new channel of its connection — what `ssh -L /socket:hub:port` gives. `roamlab status`, `stop`, `login`… in another terminal then
 * talk to the hub through it: at a gateway that wants a one-time code, nothing more is asked.
 *
 * Nothing secret passes the socket or stays in the master: the command that connects adds its
 * own token from the keychain to its requests, and an https hub's TLS runs end to end between
 * that command and the hub (certificate checks on), the master only relaying bytes.
 *
 * Windows has no such socket here (its named pipes have their own access rules): every command
 * opens its own connection there, as before.
 */

/**
 * What makes two connections to a facility the same one: the profile's way there, and the
 * account on the gateway when the profile names none (the hub user name then,
 * open.ts resolveSshAccount). The launcher's pool (shared.ts) and the socket's name go by it.
 */
export function connectionKey(p: FacilityProfile, user: string | undefined): string {
  return JSON.stringify([p.id, p.hub.url, p.ssh, p.ssh?.user ? null : (user ?? null)]);
}

/** The socket for a connection with this key in `dir`; undefined on Windows, or past sun_path's length. */
export function muxSocketFor(dir: string, key: string, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform === 'win32') return undefined;
  const file = path.join(path.resolve(dir), `${createHash('sha256').update(key).digest('hex').slice(0, 16)}.sock`);
  // sun_path holds 104 bytes on macOS, 108 on Linux.
  return Buffer.byteLength(file) < 100 ? file : undefined;
}

/** The socket for this facility's connection under ROAMLAB_HOME; undefined where there is none. */
export function muxSocketPath(home: string, profile: FacilityProfile, user: string | undefined, platform: NodeJS.Platform = process.platform): string | undefined {
  return profile.ssh ? muxSocketFor(muxDir(home), connectionKey(profile, user), platform) : undefined;
}

export function muxDir(home: string): string {
  return path.join(home, 'run');
}

export interface MuxServer {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Serve the connection at `socketPath`: each accepted stream is piped to `forward(closed)`, where
 * `closed` settles when the command's end of it closes (ssh2 ends a channel only once its
 * unread data is drained and the server agrees, so the command's end is the one to go by).
 * Undefined when another live process serves it already (its connection is as good as ours).
 */
export async function serveMux(socketPath: string, forward: (closed: Promise<void>) => Promise<Duplex>, log: (line: string) => void = () => undefined): Promise<MuxServer | undefined> {
  await fsp.mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  await fsp.chmod(path.dirname(socketPath), 0o700);
  if (await answers(socketPath)) return undefined;
  // Left behind by a process that did not get to close it (killed).
  await fsp.rm(socketPath, { force: true });
  const streams = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    streams.add(sock);
    const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    void closed.then(() => streams.delete(sock));
    sock.on('error', () => undefined);
    sock.pause();
    forward(closed).then(
      (ch) => {
        ch.on('error', () => sock.destroy());
        void closed.then(() => {
          ch.destroy();
          // What the hub sent that nobody will read now: drained, so the channel can end.
          ch.resume();
        });
        ch.on('close', () => sock.destroy());
        sock.pipe(ch);
        ch.pipe(sock);
        sock.resume();
      },
      (e: unknown) => {
        log(`mux: no channel for a sharing command (${(e as Error).message})`);
        sock.destroy();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fsp.chmod(socketPath, 0o600);
  log(`mux: sharing the connection at ${socketPath}`);
  let closed = false;
  return {
    path: socketPath,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of streams) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fsp.rm(socketPath, { force: true });
    },
  };
}

/** Whether a process listens at the socket now. */
function answers(socketPath: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(socketPath);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

type ConnCallback = (err: Error | null, socket: Duplex) => void;

/**
 * The facility's connection as another roamlab process holds it (serveMux), when one does:
 * a transport whose every HTTP connection goes through the socket. Undefined when nobody serves
 * it; the caller then opens a connection of its own.
 */
export async function connectMux(socketPath: string | undefined, profile: FacilityProfile): Promise<HubTransport | undefined> {
  if (!socketPath || !(await answers(socketPath))) return undefined;
  const hubUrl = hubBaseUrl(profile);
  const target = hubTarget(hubUrl);
  const options = { keepAlive: true, maxSockets: 16 };
  let agent: http.Agent;
  if (hubUrl.protocol === 'https:') {
    const Https = loadHttps().Agent;
    agent = new (class extends Https {
      override createConnection(o: https.RequestOptions, cb?: ConnCallback): Duplex | null | undefined {
        cb?.(null, tlsToHub(net.connect(socketPath), o, target));
        return undefined;
      }
    })({ ...options, secureContext: hubSecureContext() });
  } else {
    agent = new (class extends http.Agent {
      override createConnection(_o: http.ClientRequestArgs, cb?: ConnCallback): Duplex | null | undefined {
        const sock = net.connect(socketPath);
        cb?.(null, sock);
        return undefined;
      }
    })(options);
  }
  let closed = false;
  return {
    hubUrl,
    agent,
    describe: `shared with another roamlab (${socketPath})`,
    close() {
      if (!closed) {
        closed = true;
        agent.destroy();
      }
      return Promise.resolve();
    },
  };
}
