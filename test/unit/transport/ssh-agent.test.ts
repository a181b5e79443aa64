import { generateKeyPairSync } from 'node:crypto';
import { utils, type ParsedKey } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { defaultAgentPath, matchingKeys } from '../../../electron/core/transport/ssh-agent';

/** SSH wire string: uint32 length, then the bytes. */
const sshString = (b: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(b.length);
  return Buffer.concat([length, b]);
};

/**
 * A fresh ed25519 public key as ssh2 parses it. Made from Node's key pair, not ssh2's
 * generateKeyPairSync, which writes a public key whose first byte is 0 one byte short (about one
 * key in 400), so parseKey refuses it and the test failed now and then.
 */
const pub = (): ParsedKey => {
  const raw = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const line = `ssh-ed25519 ${Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(raw)]).toString('base64')}`;
  const key = utils.parseKey(line);
  if (key instanceof Error) throw key;
  return key as ParsedKey;
};

describe('the SSH agent', () => {
  it('is found where ssh finds it: SSH_AUTH_SOCK, else (Windows) the OpenSSH agent service', () => {
    expect(defaultAgentPath({ SSH_AUTH_SOCK: '/run/user/1000/ssh.sock' }, 'linux')).toBe('/run/user/1000/ssh.sock');
    expect(defaultAgentPath({}, 'linux')).toBeUndefined();
    expect(defaultAgentPath({}, 'darwin')).toBeUndefined();
    expect(defaultAgentPath({}, 'win32')).toBe('\\\\.\\pipe\\openssh-ssh-agent');
    expect(defaultAgentPath({ SSH_AUTH_SOCK: '\\\\.\\pipe\\gpg' }, 'win32')).toBe('\\\\.\\pipe\\gpg');
  });

  it('offers only the profile key among the agent keys, or all of them when that key is not known', () => {
    const [a, b, c] = [pub(), pub(), pub()];
    const again = utils.parseKey(a.getPublicSSH().toString('base64').replace(/^/, 'ssh-ed25519 ')) as ParsedKey;
    expect(matchingKeys([b, a, c], again)).toEqual([a]);
    expect(matchingKeys([b, c], a)).toEqual([]);
    expect(matchingKeys([b, c], undefined)).toEqual([b, c]);
  });
});
