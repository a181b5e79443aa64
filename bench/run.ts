/**
 * `npm run bench`: run every benchmark section in turn and write BENCHMARKS.md at the repo root.
 * A section is a function returning markdown; add one to SECTIONS to extend the report.
 * `tsx bench/run.ts tunnel` runs only the named sections.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { rendererBenchSection } from './renderer-bench';
import { tunnelBenchSection } from './tunnel-bench';
import { monitorBenchSection } from './monitor-bench';
import { roamingBenchSection } from './roaming-bench';

export interface BenchSection {
  name: string;
  run: (log: (line: string) => void) => Promise<string>;
}

const REPO = path.resolve(__dirname, '..');

export const SECTIONS: BenchSection[] = [
  {
    name: 'tunnel',
    run: (log) => tunnelBenchSection({ log }),
  },
  {
    name: 'renderer',
    run: (log) => rendererBenchSection({ log }),
  },
  {
    name: 'monitor',
    run: (log) => monitorBenchSection({ log }),
  },
  {
    // Needs root (network namespaces, nftables); about 8 minutes. Alone: npx tsx bench/roaming-bench.ts
    name: 'roaming',
    run: (log) => roamingBenchSection({ log }),
  },
];

function version(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0]!;
  } catch (e) {
    const err = e as { stderr?: string };
    return err.stderr?.trim().split('\n')[0] ?? 'unknown';
  }
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

function header(): string {
  const cpus = os.cpus();
  const ssh = execFileSync('sh', ['-c', 'ssh -V 2>&1'], { encoding: 'utf8' }).trim();
  return [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bench/run.ts). Numbers are from one run on the machine below; compare',
    'ratios, not absolute values, across machines.',
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${os.cpus().length > 0 ? `${cpus[0]!.model.trim()}, ` : ''}nproc ${os.availableParallelism()}, memory ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()} (${os.arch()})`,
    `- os: ${version('sh', ['-c', '. /etc/os-release && echo "$PRETTY_NAME"'])}`,
    `- node ${process.version}, ssh2 ${pkgVersion('ssh2')}, typescript ${pkgVersion('typescript')}, ${ssh}`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const sections = only.length ? SECTIONS.filter((s) => only.includes(s.name)) : SECTIONS;
  const parts = [header()];
  const t0 = Date.now();
  for (const s of sections) {
    const log = (line: string) => process.stderr.write(`[bench ${s.name}] ${line}\n`);
    log('start');
    parts.push(await s.run(log));
    log(`done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  const out = path.join(REPO, 'BENCHMARKS.md');
  writeFileSync(out, parts.join('\n'));
  process.stdout.write(parts.join('\n'));
  process.stderr.write(`wrote ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
}
