/**
 * A kernel socket the relay resumes reaches the kernel — also after the server restored channels
 * of a stale connection (kernel-probe.ts). Real parts: both rig hubs, their single-user servers
 * and ipykernel; the real gateway in front, reaching the hub through a TCP relay whose connections
 * the test breaks one end at a time; the page is a WebSocket client speaking the page's protocol
 * (JupyterLab's v1 framing on 5.2, the classic notebook's JSON on 3.0).
 *
 * The sequence is the one that left a cell at "[*]" for good in the roaming tests: the link dies
 * silently (the server keeps its end), the relay resumes (the server replaces the "stale
 * connection" and closes the old one within 5 s), and before it has, the new connection dies too
 * and then the old one (a proxy restart closes both). The server then holds the old channels,
 * which the kernel no longer hears, as the ones to restore.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalGateway } from '../../electron/core/gateway/gateway';
import type { HubTransport } from '../../electron/core/transport/transport';
import { startHub, type HubFlavor, type RigHub } from '../rig/hubs';
import { startKernel } from '../rig/kernel';
import { startTcpCutter, type TcpCutter } from '../rig/tcp-cutter';
import { PageKernelSocket, V1 } from './helpers/kernel-ws';
import { hubApi, waitServerReady } from './helpers/hub';
import { until } from './helpers/wait';

const USER = 'resumer';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const flavor of ['jh5', 'jh3'] as HubFlavor[]) {
  describe(`resumed kernel sockets (${flavor})`, () => {
    let hub: RigHub;
    let cutter: TcpCutter;
    let gateway: LocalGateway;
    let kernelUrl = '';
    let cookie = '';
    const log: string[] = [];
    const protocols = flavor === 'jh5' ? [V1] : [];

    beforeAll(async () => {
      hub = await startHub({ flavor, prefix: flavor === 'jh5' ? '/jhub/' : '/' });
      expect([201, 409]).toContain((await hubApi(hub, 'POST', `users/${USER}`)).status);
      expect([201, 202]).toContain((await hubApi(hub, 'POST', `users/${USER}/server`, { [hub.classKey]: 'small' })).status);
      await waitServerReady(hub, USER, '', 120_000);
      const kernelId = await startKernel(hub.url, USER, hub.adminToken);
      cutter = await startTcpCutter('127.0.0.1', hub.port);
      const transport: HubTransport = {
        hubUrl: new URL(`http://127.0.0.1:${cutter.port}${hub.prefix}`),
        agent: new http.Agent({ keepAlive: true }),
        describe: 'direct (through a cutter)',
        close: async () => {},
      };
      gateway = new LocalGateway({
        transport,
        token: () => hub.adminToken,
        landingPath: `${hub.prefix}user/${USER}/`,
        wsRetryMs: [50, 100, 200],
        kernelAnswerMs: 2500,
        log: (l) => log.push(l),
      });
      await gateway.listen();
      const entry = new URL(gateway.entryUrl());
      const res = await fetch(`http://127.0.0.1:${gateway.port}${entry.pathname}${entry.search}`, { redirect: 'manual' });
      cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
      expect(cookie).toMatch(/=/);
      kernelUrl = `ws://127.0.0.1:${gateway.port}${hub.prefix}user/${USER}/api/kernels/${kernelId}/channels`;
    }, 300_000);

    afterAll(async () => {
      await gateway?.close();
      await cutter?.close();
      await hub?.stop();
    });

    /** The upstream connection the page's socket uses now (the last one the cutter accepted for it). */
    const latest = () => cutter.connections[cutter.connections.length - 1]!;

    it('a silent drop, a resume, then both connections closed at the server: the next resume still runs cells, on the same page socket', async () => {
      const page = await PageKernelSocket.open(kernelUrl, protocols, { cookie });
      expect(page.ws.protocol).toBe(protocols[0] ?? '');
      expect(await page.execute('1+1')).toBe('2');
      const first = latest();
      const accepted = cutter.connections.length;

      // The link dies silently under the first connection: the gateway's end breaks, the server's
      // end stays open and hears nothing. The relay resumes at once; the server replaces the
      // "stale connection" and starts closing the old one.
      first.dropNear();
      await until(() => cutter.connections.length > accepted && gateway.webSockets.resumed >= 1, 10_000, 'the first resume', 25);
      const second = latest();
      expect(await page.execute('2+2')).toBe('4');

      // Before the server has closed the old one (5 s): the link goes, the new connection dies at
      // the server, then the old one (a proxy restart closing both, in this order).
      gateway.setLinkDown();
      second.dropNear();
      second.dropFar();
      await sleep(300);
      first.dropFar();
      await sleep(1000);
      gateway.setLinkUp();

      expect(await page.execute('4+4', 30_000)).toBe('8');
      expect(page.closed).toBeUndefined();
      expect(gateway.webSockets.resumed).toBeGreaterThanOrEqual(2);
      // Nothing of the relay's check reached the page: no reply or status to a message it did not send.
      const checks = page.received.filter((m) => m.parent_header.session?.startsWith('roamlab-check-'));
      expect(checks.map((m) => `${m.channel}/${m.header.msg_type}`)).toEqual([]);
      // The first resume passed the check. On 5.2 (jupyter_server 2, ipykernel 6.29) the second one
      // got the stale connection's dead channels and was connected again under a new session_id;
      // the classic notebook 6.4 restores working ones.
      const renewed = log.filter((l) => /does not reach the kernel/.test(l));
      expect(renewed).toHaveLength(flavor === 'jh5' ? 1 : 0);
      expect(log.filter((l) => /did not answer/.test(l))).toEqual([]);
      page.ws.close();
    }, 120_000);

    it('a resume while a long cell runs: the kernel answers the check at once, and the cell\'s output and reply still reach the page', async () => {
      const page = await PageKernelSocket.open(kernelUrl, protocols, { cookie });
      expect(await page.execute('3*3')).toBe('9');
      const before = log.length;
      const long = page.execute('import time; time.sleep(6); 6*7', 30_000);
      await sleep(1500);
      const t0 = Date.now();
      latest().dropNear();
      latest().dropFar();
      // The relay resumes and the page's next request goes out once the kernel answered the
      // check on control — while the shell is still busy with the sleep.
      expect(await long).toBe('42');
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(await page.execute('5*5')).toBe('25');
      expect(log.slice(before).filter((l) => /did not answer|does not reach/.test(l))).toEqual([]);
      page.ws.close();
    }, 120_000);
  });
}
