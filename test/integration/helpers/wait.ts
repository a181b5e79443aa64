/** Poll `cond` every `everyMs` until it holds; after `timeoutMs`, fail naming `what`. */
export async function until(cond: () => boolean, timeoutMs: number, what: string, everyMs = 100): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
