import type { Agent } from 'node:http';
import type { HubTransport } from '../transport/transport';

/**
 * The session's one transport as everything else sees it — hub client, limits monitor, local
 * gateway — while the connection under it is replaced after a drop. Every read of `agent` goes
 * to the current connection, so a reconnect is one swap() and nobody else holds a dead agent.
 */
export class LiveTransport implements HubTransport {
  private inner: HubTransport;
  private unsubscribe: (() => void) | undefined;
  private lostListeners = new Set<(reason: string) => void>();
  private lost = false;

  constructor(first: HubTransport) {
    this.inner = first;
    this.watch();
  }

  get hubUrl(): URL {
    return this.inner.hubUrl;
  }

  get agent(): Agent {
    return this.inner.agent;
  }

  get rttMs(): number | undefined {
    return this.inner.rttMs;
  }

  get linkStart(): { host: string; port: number } | null | undefined {
    return this.inner.linkStart;
  }

  get describe(): string {
    return this.inner.describe;
  }

  /** Whether the current connection has ended by itself (then it must be replaced). */
  get isLost(): boolean {
    return this.lost;
  }

  /** Put a fresh connection in place; the old one is closed. */
  async swap(next: HubTransport): Promise<void> {
    const old = this.inner;
    this.unsubscribe?.();
    this.inner = next;
    this.lost = false;
    this.watch();
    await old.close().catch(() => undefined);
  }

  onLost(listener: (reason: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.lostListeners.clear();
    await this.inner.close();
  }

  private watch(): void {
    const current = this.inner;
    this.unsubscribe = current.onLost?.((reason) => {
      if (current !== this.inner) return;
      this.lost = true;
      for (const l of [...this.lostListeners]) l(reason);
    });
  }
}
