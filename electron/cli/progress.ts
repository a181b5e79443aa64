/** One line of spawn progress for a terminal: `[#####-----]  50%  12 s  Waiting for a slot`. */
export function progressLine(progress: number | undefined, message: string, elapsedMs: number, columns = 80): string {
  const width = 20;
  const pct = progress === undefined ? undefined : Math.max(0, Math.min(100, Math.round(progress)));
  const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const head = `${bar} ${pct === undefined ? '  ?' : String(pct).padStart(3)}% ${String(Math.round(elapsedMs / 1000)).padStart(4)} s  `;
  const room = Math.max(10, columns - head.length - 1);
  const text = message.length > room ? message.slice(0, room - 1) + '…' : message;
  return head + text;
}
