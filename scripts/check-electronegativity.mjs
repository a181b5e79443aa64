#!/usr/bin/env node
// Fails (exit 1) when Electronegativity's CSV holds any MEDIUM or HIGH finding, listing them.
// Electronegativity itself exits 0 whatever it finds, and its SARIF gives every finding the same
// level, so the CSV's severity column is what counts. A missing or unreadable CSV fails too
// (exit 2): no report is not a clean report.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const FAILING = new Set(['MEDIUM', 'HIGH', 'CRITICAL']);
const file = path.resolve(process.argv[2] ?? 'test-artifacts/electronegativity.csv');

/** RFC 4180 fields: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

let text;
try {
  text = readFileSync(file, 'utf8');
} catch (e) {
  console.error(`check-electronegativity: cannot read ${file} (${e.message}); run \`npm run electronegativity\` first.`);
  process.exit(2);
}
const [header, ...rows] = parseCsv(text);
const col = (name) => (header ?? []).findIndex((h) => h.trim().toLowerCase() === name);
const [iIssue, iSeverity, iFile, iLocation, iDescription] = ['issue', 'severity', 'filename', 'location', 'description'].map(col);
if (iIssue < 0 || iSeverity < 0) {
  console.error(`check-electronegativity: ${file} is not an Electronegativity CSV (header: ${JSON.stringify(header)}).`);
  process.exit(2);
}

const counts = {};
const failing = [];
for (const r of rows) {
  const severity = (r[iSeverity] ?? '').trim().toUpperCase();
  counts[severity] = (counts[severity] ?? 0) + 1;
  if (FAILING.has(severity)) failing.push(r);
}
const summary = Object.entries(counts).map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
if (failing.length) {
  console.error(`check-electronegativity: ${failing.length} MEDIUM/HIGH finding(s) (all findings: ${summary}):`);
  for (const r of failing) console.error(`  ${r[iSeverity]} ${r[iIssue]} ${r[iFile]}:${r[iLocation]} — ${r[iDescription]}`);
  console.error('Fix them, or for a false positive add `/* eng-disable CHECK_ID */` on the flagged line with a comment saying why.');
  process.exit(1);
}
console.log(`check-electronegativity: no MEDIUM or HIGH findings (all findings: ${summary}).`);
