import { utils, type ParsedKey } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { defaultAgentPath, matchingKeys } from '../../../electron/core/transport/ssh-agent';

const pub = (): ParsedKey => utils.parseKey(utils.generateKeyPairSync('ed25519').public) as ParsedKey;

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
