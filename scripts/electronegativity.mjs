#!/usr/bin/env node
// Runs Electronegativity over the app's own sources — electron/ and renderer/, with package.json
// for the Electron version — in one pass, so its global checks (CSP, navigation limits,
// permission handlers) see main and renderer together, and writes its CSV to
// test-artifacts/electronegativity.csv (or the path given as the first argument).
//
// Why not the CLI's `-i DIR -o FILE`: it takes one input folder, and it writes the CSV header and
// the rows with two concurrent fs.writeFile calls, which can truncate or overwrite the rows. Here
// the library's own runner finds the issues and the CSV (same columns) is written in one go.
// A file it cannot parse is a file it did not check, so parse errors fail the run.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(root, process.argv[2] ?? 'test-artifacts/electronegativity.csv');
const SOURCES = ['electron', 'renderer'];
const SKIP = new Set(['node_modules', 'dist', 'out']);

const require = createRequire(import.meta.url);
const electronegativity = require('@doyensec/electronegativity');
const run = electronegativity.default ?? electronegativity;

const stage = mkdtempSync(path.join(os.tmpdir(), 'roamlab-eng-'));
try {
  for (const dir of SOURCES) {
    cpSync(path.join(root, dir), path.join(stage, dir), { recursive: true, filter: (src) => !SKIP.has(path.basename(src)) });
  }
  cpSync(path.join(root, 'package.json'), path.join(stage, 'package.json'));

  const result = await run(
    {
      input: stage,
      output: undefined,
      isSarif: false,
      customScan: [],
      excludeFromScan: [],
      severitySet: undefined,
      confidenceSet: undefined,
      isRelative: true,
      isVerbose: false,
      electronUpgrade: undefined,
      electronVersionOverride: undefined,
      parserPlugins: [],
    },
    false,
  );

  const cell = (v) => (v == null ? 'N/A' : `"${String(v).replace(/"/g, '""')}"`);
  const rows = result.issues.map((i) =>
    [i.id, cell(i.severity.name), cell(i.confidence.name), cell(i.file), cell(`${i.location.line}:${i.location.column}`), cell(i.sample), cell(i.description), `https://github.com/doyensec/electronegativity/wiki/${i.id}`].join(','),
  );
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, ['issue, severity, confidence, filename, location, sample, description, url', ...rows].join(os.EOL) + os.EOL);

  const bySeverity = {};
  for (const i of result.issues) bySeverity[i.severity.name] = (bySeverity[i.severity.name] ?? 0) + 1;
  console.log(`electronegativity: ${result.atomicChecks} atomic + ${result.globalChecks} global checks; ${result.issues.length} findings ${JSON.stringify(bySeverity)} → ${path.relative(root, out)}`);

  const unparsed = result.errors.filter((e) => !e.tolerable);
  for (const e of result.errors) console.error(`electronegativity: ${e.tolerable ? 'warning' : 'could not parse'} ${path.relative(stage, e.file)}: ${e.message}`);
  if (unparsed.length) process.exitCode = 1;
} finally {
  rmSync(stage, { recursive: true, force: true });
}
