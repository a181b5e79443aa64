/**
 * A slow link for tests: a TCP relay on 127.0.0.1 that holds every chunk `oneWayMs` in each
 * direction before passing it on, in order — a congested or far network (this kernel has no
 * netem). `silence()` then stops passing anything while keeping both connections open, as a link
 * that dropped without a reset does.
 */
import * as net from 'node:net';

export interface SlowLink {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** From now on nothing gets through, either way; the sockets stay open. */
  silence(): void;
  close(): Promise<void>;
}

export async function startSlowLink(targetHost: string, targetPort: number, oneWayMs: number): Promise<SlowLink> {
  let silent = false;
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const delayed = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => {
      if (silent) return;
      setTimeout(() => {
        if (!silent && !to.destroyed) to.write(chunk);
      }, oneWayMs);
    });
    from.on('end', () => setTimeout(() => !silent && to.end(), oneWayMs));
    from.on('error', () => to.destroy());
    from.on('close', () => setTimeout(() => to.destroy(), silent ? 0 : oneWayMs));
  };
  const server = net.createServer((near) => {
    accepted++;
    const far = net.connect(targetPort, targetHost);
    for (const s of [near, far]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    delayed(near, far);
    delayed(far, near);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return accepted;
    },
    silence() {
      silent = true;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
