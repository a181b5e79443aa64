#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript under dist/ (built by `npm run build`, or on install by `prepare`).
require('../dist/electron/cli/main.js').main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`roamlab: ${err && err.message ? err.message : err}`); process.exitCode = 70; },
);
