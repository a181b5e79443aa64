import type * as http from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Give up an idle keep-alive connection before the server closes it.
 *
 * A server closes a keep-alive connection it has not used for a while (Node's, and so
 * configurable-http-proxy in front of every JupyterHub, after 5 s; Apache after 5 s) and says
 * so in `Keep-Alive: timeout=N`. A request sent on such a connection just as the server closes
 * it is lost ("socket hang up"), and the close takes a one-way trip to arrive: on a link with
 * 1 s each way there is a whole second in which a reused connection is already dead. Node's
 * agent only ever shortens a timeout of its own with that hint, and ours have none, so it
 * ignored it; here a free connection is dropped one second plus one round trip before the
 * server's limit (or not kept at all when that leaves nothing).
 */
export function idleLimitMs(keepAliveHeader: string | undefined, rttMs: number): number | undefined {
  const seconds = /(?:^|,)\s*timeout=(\d+)/i.exec(keepAliveHeader ?? '')?.[1];
  if (seconds === undefined) return undefined;
  return Number(seconds) * 1000 - 1000 - Math.max(0, rttMs);
}

/** A pooled connection: a TCP or TLS socket, or an SSH channel made to act as one (ssh-transport.ts). */
type PooledSocket = Duplex & { setTimeout(ms: number): unknown; _httpMessage?: { res?: http.IncomingMessage } };

type AgentInternals = {
  keepSocketAlive(socket: PooledSocket): boolean;
  reuseSocket(socket: PooledSocket, req: http.ClientRequest): void;
};

/** Make `agent` honour the server's Keep-Alive hint, less `rttMs()` (see idleLimitMs). */
export function honourKeepAliveHint(agent: http.Agent, rttMs: () => number = () => 0): void {
  const a = agent as unknown as AgentInternals;
  const keep = a.keepSocketAlive.bind(agent);
  const reuse = a.reuseSocket.bind(agent);
  a.keepSocketAlive = (socket) => {
    if (!keep(socket)) return false;
    const hint = socket._httpMessage?.res?.headers['keep-alive'];
    const limit = idleLimitMs(Array.isArray(hint) ? hint[0] : hint, rttMs());
    if (limit === undefined) return true;
    if (limit <= 0) return false;
    // On a free socket, the agent destroys it when this fires.
    socket.setTimeout(limit);
    return true;
  };
  a.reuseSocket = (socket, req) => {
    // In use again: no idle limit while a request or a long answer is on it.
    socket.setTimeout(0);
    reuse(socket, req);
  };
}
