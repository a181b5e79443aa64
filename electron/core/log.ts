import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * A small logger that cannot leak what it was told is secret: every secret the session handles
 * (password, token, key passphrase) is registered with `redact()` and replaced in every line
 * before it is written. Callers still log origins, never full URLs.
 */
export class Logger {
  private readonly secrets = new Set<string>();

  constructor(private readonly file?: string, private readonly echo?: (line: string) => void) {
    if (file) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }

  redact(secret: string | null | undefined): void {
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }

  clean(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('[redacted]');
    return out;
  }

  info(message: string): void {
    this.write('info', message);
  }

  warn(message: string): void {
    this.write('warn', message);
  }

  private write(level: string, message: string): void {
    const line = `${new Date().toISOString()} ${level} ${this.clean(message)}`;
    if (this.file) appendFileSync(this.file, line + '\n', { mode: 0o600 });
    this.echo?.(line);
  }
}
