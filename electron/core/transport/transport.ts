import type { Agent } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * How bytes reach the hub: straight over the network, or through an SSH gateway.
 *
 * The hub client and the local gateway both talk HTTP to `hubUrl` through `agent`, so the same
 * code serves a direct hub and a tunnelled one. For an https hub through SSH, the agent wraps
 * the forwarded channel in TLS with the hub's own name (certificate checks stay on).
 */
export interface HubTransport {
  /** The hub's base URL (with its path prefix, ending in '/'), as the profile gives it. */
  readonly hubUrl: URL;
  /** An http.Agent (or https.Agent) whose connections reach the hub's origin. */
  readonly agent: Agent;
  /** A short description for logs and status lines, e.g. "direct" or "ssh gate.example.org:22". */
  readonly describe: string;
  /**
   * The link's round-trip time as last measured, ms (SSH: its keepalive replies, link-watch.ts);
   * undefined where the transport does not measure it. Timeouts that wait on the hub grow with it.
   */
  readonly rttMs?: number;
  /**
   * Where the link starts (SSH: the first jump host, else the gateway): a TCP connect there
   * answering is "the network is back" while a reconnect waits. Undefined: the hub itself;
   * null: no such check (a ProxyCommand's link starts where only the command knows).
   */
  readonly linkStart?: { host: string; port: number } | null;
  /**
   * Leased from a connection that was open and in use before this lease (shared.ts): a request
   * failing on it may be the connection's fault, not the request's — it may have died unnoticed
   * while the computer slept — so an idempotent request is worth one more try on a new one.
   */
  readonly reused?: boolean;
  /**
   * A raw byte stream to the hub's host and port over this transport's own connection (SSH: a
   * new direct-tcpip channel), for other roamlab processes to share it (transport/mux.ts).
   * Undefined where there is no connection worth sharing (direct).
   */
  forward?(): Promise<Duplex>;
  /** Close every connection this transport holds. Idempotent. */
  close(): Promise<void>;
  /**
   * Be told when the connection under the transport is lost by itself (an SSH connection whose
   * keepalives go unanswered, reset, closed by the gateway) — not when close() is called. A
   * direct transport has no connection of its own to lose and never calls it. Returns an
   * unsubscribe function.
   */
  onLost?(listener: (reason: string) => void): () => void;
}
