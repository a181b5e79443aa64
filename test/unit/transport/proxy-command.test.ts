import os from 'node:os';
import { describe, expect, it } from 'vitest';

import { expandProxyCommand, proxyCommandFault, runProxyCommand } from '../../../electron/core/transport/proxy-command';

// The ProxyCommand's stream, with real child processes through the real shell.

const target = { host: 'gate.example.org', port: 2222, user: 'jdoe' };

describe('expandProxyCommand', () => {
  it("fills in ssh's tokens, and names one it cannot fill", () => {
    expect(expandProxyCommand('ssh -W %h:%p -l %r bastion # %% %n %d', target)).toEqual({ command: `ssh -W gate.example.org:2222 -l jdoe bastion # % gate.example.org ${os.homedir()}` });
    expect(expandProxyCommand('nc %h %p %C', target)).toEqual({ unknown: '%C' });
  });
});

describe('runProxyCommand', () => {
  it('carries bytes both ways through the command, and ends it when the stream is destroyed', async () => {
    const stream = await runProxyCommand('cat', target);
    const echoed = new Promise<string>((resolve) => stream.once('data', (d: Buffer) => resolve(d.toString())));
    stream.write('SSH-2.0-test\r\n');
    expect(await echoed).toBe('SSH-2.0-test\r\n');
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stream.exited?.signal).toBe('SIGTERM');
  });

  it("says what a command that failed said, with its exit code", async () => {
    const stream = await runProxyCommand(`sh -c 'echo "ssh: connect to host $0 port $1: Connection refused" >&2; exit 255' %h %p`, target);
    await new Promise((resolve) => stream.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const err = await proxyCommandFault(stream, 'sshpass -p not-for-logs ssh -W %h:%p bastion', 'gate.example.org', new Error('closed'));
    expect(err?.message).toBe('The ProxyCommand your ssh configuration gives gate.example.org (sshpass …) exited with code 255: ssh: connect to host gate.example.org port 2222: Connection refused.');
    expect(err?.kind).toBe('ssh-unreachable');
  });

  it('says so when a command that still runs brought nothing, and blames one that brought bytes for nothing', async () => {
    const silent = await runProxyCommand('sleep 30', target);
    const err = await proxyCommandFault(silent, 'sleep 30', 'gate.example.org', new Error('timed out'));
    expect(err?.message).toMatch(/^Nothing came from gate\.example\.org through the ProxyCommand your ssh configuration gives it \(sleep …\) in \d+ s\.$/);
    silent.destroy();
    const talking = await runProxyCommand('cat', target);
    const echoed = new Promise((resolve) => talking.once('data', resolve));
    talking.write('SSH-2.0-x\r\n');
    await echoed;
    expect(await proxyCommandFault(talking, 'cat', 'gate.example.org', new Error('auth failed'))).toBeUndefined();
    talking.destroy();
  });

  it('refuses a command with a token it cannot fill, before running anything', async () => {
    await expect(runProxyCommand('touch /tmp/should-not-exist-%C', target)).rejects.toMatchObject({ kind: 'ssh-unreachable', message: expect.stringContaining('uses %C') });
  });
});
