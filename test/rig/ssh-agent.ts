/**
 * OpenSSH's own ssh-agent on a socket in the test's folder, and ssh-add into it with the
 * passphrase typed in through SSH_ASKPASS, as a desktop's askpass would. Stopped by kill.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';

export interface RigSshAgent {
  /** Its socket: what SSH_AUTH_SOCK names. */
  sock: string;
  /** ssh-add KEY, answering its passphrase prompt with `passphrase`. */
  add(key: string, passphrase?: string): Promise<void>;
  /** How many keys it holds (ssh-add -l). */
  count(): number;
  stop(): void;
}

export async function startSshAgent(dir: string): Promise<RigSshAgent> {
  const sock = path.join(dir, 'agent.sock');
  const child = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 10));
  if (!existsSync(sock)) {
    child.kill();
    throw new Error(`ssh-agent did not make its socket ${sock}`);
  }
  const env = { ...process.env, SSH_AUTH_SOCK: sock };
  return {
    sock,
    async add(key, passphrase = '') {
      const askpass = path.join(dir, 'askpass.sh');
      await fsp.writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${passphrase}'\n`, { mode: 0o700 });
      execFileSync('ssh-add', ['-q', key], { env: { ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, stdio: ['ignore', 'ignore', 'pipe'] });
    },
    count: () => execFileSync('ssh-add', ['-l'], { env, encoding: 'utf8' }).trim().split('\n').length,
    stop: () => void child.kill(),
  };
}
