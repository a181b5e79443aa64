import { promises as fsp } from 'node:fs';
import type { BaseAgent, ParsedKey } from 'ssh2';
import { loadSsh2 } from '../lazy-modules';

/**
 * The SSH agent, used as ssh uses it: where the key file cannot be used by itself — it is
 * encrypted (the passphrase was typed into ssh-add or the OS keychain's agent at login), or the
 * private key lives only in the agent (1Password, Secretive, KeePassXC, a hardware key), with the
 * profile's identityFile naming the key or its `.pub` — the agent signs for it.
 *
 * Only the profile's key is offered when its public half is known (the agent may hold many, and
 * sshd disconnects after MaxAuthTries, 6 by default, failed keys); with no public key to go by,
 * every agent key is offered, as ssh does without IdentitiesOnly.
 */

/** Where ssh finds its agent: SSH_AUTH_SOCK; on Windows, else the OpenSSH agent service's pipe. */
export function defaultAgentPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string | undefined {
  if (env.SSH_AUTH_SOCK) return env.SSH_AUTH_SOCK;
  if (platform === 'win32') return '\\\\.\\pipe\\openssh-ssh-agent';
  return undefined;
}

/** The agent's keys; [] when no agent answers at that path within timeoutMs. */
export function agentKeys(agentPath: string, timeoutMs = 2000): Promise<ParsedKey[]> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve([]), timeoutMs);
    try {
      loadSsh2()
        .createAgent(agentPath)
        .getIdentities((err, keys) => {
          clearTimeout(timer);
          resolve(err || !keys ? [] : (keys as ParsedKey[]));
        });
    } catch {
      clearTimeout(timer);
      resolve([]);
    }
  });
}

/** The public key of an identity file: the file itself when it is one, else FILE.pub; undefined if neither. */
export async function publicKeyOf(identityFile: string): Promise<ParsedKey | undefined> {
  for (const file of identityFile.endsWith('.pub') ? [identityFile] : [identityFile, `${identityFile}.pub`]) {
    let text: Buffer;
    try {
      text = await fsp.readFile(file);
    } catch {
      continue;
    }
    const parsed = loadSsh2().utils.parseKey(text);
    const key = Array.isArray(parsed) ? (parsed[0] as unknown) : parsed;
    if (key && !(key instanceof Error) && !(key as ParsedKey).isPrivateKey()) return key as ParsedKey;
  }
  return undefined;
}

/** The agent's keys that are `pub` (all of them when pub is undefined). */
export function matchingKeys(keys: readonly ParsedKey[], pub: ParsedKey | undefined): ParsedKey[] {
  if (!pub) return [...keys];
  const want = pub.getPublicSSH();
  return keys.filter((k) => k.getPublicSSH().equals(want));
}

type SignCb = (err?: Error, signature?: Buffer) => void;
let Restricted: (new (inner: BaseAgent, keys: ParsedKey[]) => BaseAgent) | undefined;

/** The agent at agentPath, offering only `keys` (signing goes to the agent). */
export function restrictedAgent(agentPath: string, keys: ParsedKey[]): BaseAgent {
  const ssh2 = loadSsh2();
  Restricted ??= class extends ssh2.BaseAgent {
    constructor(
      private readonly inner: BaseAgent,
      private readonly keys: ParsedKey[],
    ) {
      super();
    }
    getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
      cb(undefined, this.keys);
    }
    sign(pubKey: ParsedKey, data: Buffer, options: object | SignCb, cb?: SignCb): void {
      const sign = this.inner.sign.bind(this.inner) as (k: ParsedKey, d: Buffer, o: object, c?: SignCb) => void;
      if (typeof options === 'function') sign(pubKey, data, {}, options as SignCb);
      else sign(pubKey, data, options, cb);
    }
  } as unknown as new (inner: BaseAgent, keys: ParsedKey[]) => BaseAgent;
  return new Restricted(ssh2.createAgent(agentPath), keys);
}
