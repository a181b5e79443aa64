import { describe, expect, it } from 'vitest';
import { describeHop, parseProxyJump, parseProxyJumpSpecs, sshRoute } from '../../electron/core/profile/proxy-jump';

describe('ssh.proxyJump, read as OpenSSH reads ProxyJump', () => {
  it('takes one host, with or without user and port', () => {
    expect(parseProxyJump('bastion.example.org')).toEqual([{ host: 'bastion.example.org', port: 22 }]);
    expect(parseProxyJump('me@bastion.example.org:2222')).toEqual([{ host: 'bastion.example.org', port: 2222, user: 'me' }]);
    expect(parseProxyJump('ssh://me@bastion:2200')).toEqual([{ host: 'bastion', port: 2200, user: 'me' }]);
  });

  it('takes several hops in order, and IPv6 addresses in brackets', () => {
    expect(parseProxyJump('a.example.org, u@[2001:db8::1]:2022,[::1]')).toEqual([
      { host: 'a.example.org', port: 22 },
      { host: '2001:db8::1', port: 2022, user: 'u' },
      { host: '::1', port: 22 },
    ]);
  });

  it('"none" is no jump hosts, as in ssh_config; the hops as written keep a missing port missing', () => {
    expect(parseProxyJump('none')).toEqual([]);
    expect(sshRoute({ host: 'gate', port: 22, proxyJump: 'None' })).toEqual([{ host: 'gate', port: 22 }]);
    expect(parseProxyJumpSpecs('bastion,me@[::1]:2022')).toEqual([{ host: 'bastion' }, { host: '::1', port: 2022, user: 'me' }]);
  });

  it('a user name may hold "@" (the host follows the last one)', () => {
    expect(parseProxyJump('me@example.org@bastion')).toEqual([{ host: 'bastion', port: 22, user: 'me@example.org' }]);
  });

  it('says what is wrong with a bad hop', () => {
    expect(() => parseProxyJump('bastion:ssh')).toThrow(/no valid port/);
    expect(() => parseProxyJump('bastion:70000')).toThrow(/no valid port/);
    expect(() => parseProxyJump('a,,b')).toThrow(/empty entry/);
    expect(() => parseProxyJump('2001:db8::1')).toThrow(/put it in brackets/);
    expect(() => parseProxyJump('[2001:db8::1')).toThrow(/does not close/);
    expect(() => parseProxyJump('@bastion')).toThrow(/no valid user/);
    expect(() => parseProxyJump('https://bastion/')).toThrow(/not \[user@\]host\[:port\]/);
  });

  it('writes a hop back as a person would', () => {
    expect(describeHop({ host: 'b', port: 22, user: 'u' })).toBe('u@b');
    expect(describeHop({ host: '::1', port: 2022 })).toBe('[::1]:2022');
  });

  it('lists the route: jump hosts, then the gateway', () => {
    expect(sshRoute({ host: 'gate', port: 22 })).toEqual([{ host: 'gate', port: 22 }]);
    expect(sshRoute({ host: 'gate', port: 2222, proxyJump: 'u@b1,b2:2200' })).toEqual([
      { host: 'b1', port: 22 },
      { host: 'b2', port: 2200 },
      { host: 'gate', port: 2222 },
    ]);
  });
});
