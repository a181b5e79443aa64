import * as http from 'node:http';
import { loadHttps } from '../lazy-modules';
import { honourKeepAliveHint } from './keep-alive';
import type { HubTransport } from './transport';
import { hubSecureContext, type TrustOptions } from './trust-store';

/**
 * Straight to the hub over the network: one keep-alive agent (http or https by the hub URL's
 * protocol). TLS certificate checks stay on, against Node's CAs and the operating system's
 * (trust-store.ts).
 */
export function openDirectTransport(hubUrl: URL, trust: TrustOptions = {}): HubTransport {
  const base = new URL(hubUrl.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  base.hash = '';
  const options = { keepAlive: true, keepAliveMsecs: 15_000, maxSockets: 16, maxFreeSockets: 4 };
  let agent: http.Agent;
  if (base.protocol === 'https:') agent = new (loadHttps().Agent)({ ...options, secureContext: hubSecureContext(trust) });
  else if (base.protocol === 'http:') agent = new http.Agent(options);
  else throw new TypeError(`unsupported hub URL protocol ${base.protocol}`);
  honourKeepAliveHint(agent);
  let closed = false;
  return {
    hubUrl: base,
    agent,
    describe: 'direct',
    close(): Promise<void> {
      if (!closed) {
        closed = true;
        agent.destroy();
      }
      return Promise.resolve();
    },
  };
}
