/**
 * What watching a session's limits costs: requests and bytes per hour per session, with the Lab
 * window visible (5 s polls) and hidden (30 s polls), measured against the rig's JupyterHub 5.2
 * and its metrics endpoint through a byte-counting TCP relay in front of the hub.
 */
import net from 'node:net';
import { startHub } from '../test/rig/hubs';
import { LimitsMonitor } from '../electron/core/monitor/limits-monitor';
import { HubClient } from '../electron/core/hub/hub-client';
import { openDirectTransport } from '../electron/core/transport/direct';

interface Counts {
  requests: number;
  bytesUp: number;
  bytesDown: number;
}

function relay(targetPort: number): Promise<{ port: number; counts: Counts; close: () => void }> {
  const counts: Counts = { requests: 0, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      counts.bytesUp += d.length;
      counts.requests += (d.toString('latin1').match(/(?:^|\r\n)(?:GET|POST|DELETE|PUT|PATCH|HEAD) \S+ HTTP\/1\.1\r\n/g) ?? []).length;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      counts.bytesDown += d.length;
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        counts,
        close: () => {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

async function measure(o: { hubPort: number; prefix: string; user: string; token: string; serverPath: string; started: string | null; visible: boolean; seconds: number }): Promise<Counts & { samples: number }> {
  const r = await relay(o.hubPort);
  const transport = openDirectTransport(new URL(`http://127.0.0.1:${r.port}${o.prefix}`));
  const hub = new HubClient({ transport });
  const monitor = new LimitsMonitor({
    transport,
    token: () => o.token,
    serverUrlPath: o.serverPath,
    started: o.started,
    notebookClass: { label: 'Tiny', memoryGB: 0.4, runtimeHours: 1 },
    visible: o.visible,
    fetchServerModel: () => hub.server(o.token, o.user, ''),
  });
  let samples = 0;
  monitor.on('metrics', () => samples++);
  monitor.start();
  await new Promise((res) => setTimeout(res, o.seconds * 1000));
  monitor.dispose();
  await transport.close();
  r.close();
  return { ...r.counts, samples };
}

export async function monitorBenchSection(opts: { log: (l: string) => void }): Promise<string> {
  const { log } = opts;
  const hub = await startHub({ flavor: 'jh5', prefix: '/jhub/', tinyRuntime: 3600 });
  try {
    const user = 'bench';
    const api = (path: string, method = 'GET', body?: object) =>
      fetch(new URL(`hub/api/${path}`, hub.url), { method, headers: { authorization: `token ${hub.adminToken}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
    await api(`users/${user}`, 'POST');
    await api(`users/${user}/server`, 'POST', { profile: 'tiny' });
    let model: { ready?: boolean; url?: string; started?: string } = {};
    for (let i = 0; i < 120 && !model.ready; i++) {
      await new Promise((r) => setTimeout(r, 500));
      model = (((await (await api(`users/${user}`)).json()) as { servers?: Record<string, typeof model> }).servers?.[''] ?? {});
    }
    if (!model.ready || !model.url) throw new Error('the bench server did not start');
    const hubPort = Number(new URL(hub.url).port);
    const base = { hubPort, prefix: '/jhub/', user, token: hub.adminToken, serverPath: model.url, started: model.started ?? null };
    log('visible window, 60 s');
    const visible = await measure({ ...base, visible: true, seconds: 60 });
    log('hidden window, 120 s');
    const hidden = await measure({ ...base, visible: false, seconds: 120 });
    const perHour = (c: Counts, s: number) => ({ req: (c.requests * 3600) / s, kb: ((c.bytesUp + c.bytesDown) * 3600) / s / 1024 });
    const v = perHour(visible, 60);
    const h = perHour(hidden, 120);
    const perRequest = (c: Counts) => (c.requests ? (c.bytesUp + c.bytesDown) / c.requests : 0);
    return [
      '## Limits monitor: what watching a session costs',
      '',
      'One session against the rig\'s JupyterHub 5.2 with the metrics endpoint (the stand-in for',
      'jupyter-resource-usage), through a byte-counting TCP relay in front of the hub: every metrics',
      'request, server-model check and their answers, headers included. Goal: at most one small',
      'request per poll interval per session.',
      '',
      '| Lab window | measured | requests | samples | bytes per request | requests / hour | kB / hour |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
      `| visible (5 s polls) | 60 s | ${visible.requests} | ${visible.samples} | ${perRequest(visible).toFixed(0)} | ${v.req.toFixed(0)} | ${v.kb.toFixed(0)} |`,
      `| hidden (30 s polls) | 120 s | ${hidden.requests} | ${hidden.samples} | ${perRequest(hidden).toFixed(0)} | ${h.req.toFixed(0)} | ${h.kb.toFixed(0)} |`,
      '',
      `Budget (one metrics request per interval, plus the first at start and one server-model check a minute): visible ${visible.requests} of ${60 / 5 + 1 + 1} — ${visible.requests <= 60 / 5 + 2 ? 'pass' : '**FAIL**'}; hidden ${hidden.requests} of ${120 / 30 + 1 + 2} — ${hidden.requests <= 120 / 30 + 3 ? 'pass' : '**FAIL**'}.`,
      '',
    ].join('\n');
  } finally {
    await hub.stop();
  }
}
