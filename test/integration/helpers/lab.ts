/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import type { RigHub } from '../../rig/hubs';

/**
 * In the notebook already open in JupyterLab 4: a new cell at the end, `code` run in it, and its
 * output — on the same page, the same kernel connection (nothing reloads).
 */
export async function runCellInOpenNotebook(page: Page, code: string, timeoutMs = 30_000): Promise<string> {
  const panel = page.locator('.jp-NotebookPanel').first();
  const outputs = panel.locator('.jp-OutputArea-output');
  const before = await outputs.count();
  const last = panel.locator('.jp-Cell').last();
  await last.click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('b'); // command mode: insert a cell below and select it
  const cell = panel.locator('.jp-Cell').last().locator('.cm-content');
  await cell.click();
  await page.keyboard.type(code);
  await page.keyboard.press('Control+Enter');
  await page.waitForFunction(
    ([sel, n]) => document.querySelectorAll(sel as string).length > (n as number),
    ['.jp-NotebookPanel .jp-OutputArea-output', before],
    { timeout: timeoutMs },
  );
  return (await outputs.last().innerText()).trim();
}

/** Spawn requests the hub has logged for a user (POST …/users/NAME/server[/NAME]). */
export function countSpawnRequests(hub: RigHub, user: string): number {
  const log = readFileSync(hub.logFile, 'utf8');
  const re = new RegExp(`\\bPOST \\S*hub/api/users/${user}/servers?(/\\S*)? `, 'g');
  return log.match(re)?.length ?? 0;
}
