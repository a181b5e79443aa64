/// <reference lib="dom" />
import type { Page } from 'playwright-core';

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
