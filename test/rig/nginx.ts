/**
 * A real nginx (Debian's) on loopback as a reverse proxy in front of a hub, as facilities run
 * one: its own prefix folder and config, a free port, stopped by PID. Its idle keep-alive
 * connections close after `keepaliveTimeoutS` without a Keep-Alive header saying so (nginx sends
 * one only when keepalive_timeout has a second value), which is what configurable-http-proxy,
 * the test hubs' own front, does not show.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './ports';

export interface RigNginx {
  port: number;
  dir: string;
  stop(): Promise<void>;
}

export interface StartNginxOptions {
  /** Where it proxies to: 127.0.0.1:upstreamPort. */
  upstreamPort: number;
  /** keepalive_timeout for clients, seconds (nginx's default is 75). */
  keepaliveTimeoutS?: number;
  /** Serve https with this certificate and key (PEM files), as a facility's front does. */
  tls?: { certFile: string; keyFile: string };
}

export async function startNginx(o: StartNginxOptions): Promise<RigNginx> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'roamlab-nginx-'));
  const port = await freePort();
  const t = (name: string) => path.join(dir, name);
  await fsp.writeFile(
    t('nginx.conf'),
    `daemon off;
master_process off;
pid ${t('nginx.pid')};
error_log ${t('error.log')} info;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${t('body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  keepalive_timeout ${o.keepaliveTimeoutS ?? 75}s;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port}${o.tls ? ' ssl' : ''};
${o.tls ? `    ssl_certificate ${o.tls.certFile};\n    ssl_certificate_key ${o.tls.keyFile};\n` : ''}    location / {
      proxy_pass http://127.0.0.1:${o.upstreamPort};
      proxy_http_version 1.1;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn('/usr/sbin/nginx', ['-p', dir, '-c', t('nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr.trim()}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on 127.0.0.1:${port}: ${stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
