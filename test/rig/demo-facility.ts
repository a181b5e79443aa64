/**
 * `npm run demo-facility`: a real facility on this machine for people without an account at
 * one. Starts a JupyterHub (5.2 with JupyterLab when the Debian 13 chroot exists, else Debian
 * 12's 3.0) behind a real sshd, writes its profile into $ROAMLAB_HOME/facilities/demo.json and
 * prints how to sign in. Runs until Ctrl-C, then stops everything it started. Needs root (the
 * rig's sshd and chroot do) and the rig's packages (`npm run test:rig-setup`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { roamlabHome, facilitiesDir } from '../../electron/core/paths';
import { chrootReady, startHub } from './hubs';
import { startSshd } from './sshd';

async function main(): Promise<void> {
  const flavor = chrootReady() ? 'jh5' : 'jh3';
  process.stderr.write(`Starting a demo JupyterHub (${flavor === 'jh5' ? '5.2 with JupyterLab' : '3.0 with the classic notebook'}) behind sshd…\n`);
  const sshd = await startSshd();
  const hub = await startHub({ flavor, prefix: '/demo/' });
  const home = roamlabHome();
  const dir = facilitiesDir(home);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'demo.json');
  const profile = {
    schema: 1,
    id: 'demo',
    name: `Roamlab demo facility (JupyterHub ${hub.version})`,
    hub: { url: hub.url },
    ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile },
    classes: [
      { id: 'tiny', label: 'Tiny', description: 'stopped after 3 minutes', memoryGB: 0.4, cores: 1, runtimeHours: 0.05, userOptions: { [hub.classKey]: 'tiny' } },
      { id: 'small', label: 'Small', memoryGB: 2, cores: 1, userOptions: { [hub.classKey]: 'small' } },
      { id: 'medium', label: 'Medium', memoryGB: 4, cores: 2, userOptions: { [hub.classKey]: 'medium' } },
      { id: 'slow', label: 'Slow queue', description: 'waits for a slot, to show progress', memoryGB: 1, cores: 1, userOptions: { [hub.classKey]: 'slow' } },
    ],
  };
  writeFileSync(file, JSON.stringify(profile, null, 2) + '\n');
  process.stdout.write(`
The demo facility is running. Its profile is ${file}.
Any user name works; the demo hub's password is: ${hub.password}

  npx roamlab login demo --user alice
  npx roamlab start demo --class small

(Roamlab keeps the password in your OS keychain: on a desktop that is your login keyring.)
Ctrl-C here stops the demo facility.
`);
  // Ctrl-C reaches this process twice (from the terminal, and forwarded by npm and tsx): stop once.
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.stderr.write('\nStopping the demo facility…\n');
      await hub.stop().catch(() => undefined);
      await sshd.stop().catch(() => undefined);
      process.exit(0);
    })());
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  await new Promise(() => undefined);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo-facility: ${(e as Error).message}\n`);
  process.exit(1);
});
