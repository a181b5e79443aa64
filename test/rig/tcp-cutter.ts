/**
 * A TCP relay on 127.0.0.1 whose connections a test can break one by one, each end on its own:
 * the way a laptop's link dies under one connection while the far side (sshd, the hub's proxy)
 * still holds its end open and learns of it only later, or never.
 */
import * as net from 'node:net';

export interface CutterConnection {
  /** Stop passing bytes either way; both ends stay open (a link that went silent). */
  silence(): void;
  /** Close the near end (the client's, e.g. the gateway's), leaving the far end open and silent. */
  dropNear(): void;
  /** Close the far end (towards the target), e.g. the hub's proxy closing its side. */
  dropFar(): void;
  readonly nearOpen: boolean;
  readonly farOpen: boolean;
}

export interface TcpCutter {
  port: number;
  /** Every connection accepted so far, in order. */
  readonly connections: readonly CutterConnection[];
  close(): Promise<void>;
}

export async function startTcpCutter(targetHost: string, targetPort: number): Promise<TcpCutter> {
  const connections: CutterConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((near) => {
    const far = net.connect(targetPort, targetHost);
    let silent = false;
    for (const s of [near, far]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    near.on('data', (d: Buffer) => void (!silent && far.write(d)));
    far.on('data', (d: Buffer) => void (!silent && near.write(d)));
    // While passing bytes, an end that closes closes the other, as a plain TCP path would.
    near.on('close', () => !silent && far.destroy());
    far.on('close', () => !silent && near.destroy());
    connections.push({
      silence: () => void (silent = true),
      dropNear: () => {
        silent = true;
        near.resetAndDestroy();
      },
      dropFar: () => {
        silent = true;
        far.destroy();
      },
      get nearOpen() {
        return !near.destroyed;
      },
      get farOpen() {
        return !far.destroyed;
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
