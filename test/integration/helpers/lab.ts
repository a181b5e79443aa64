/// <reference lib="dom" />
import type { Page } from 'playwright-core';

/** The input prompts of the open notebook's cells: "[3]:" ran, "[*]:" sent and waiting, "[ ]:" not run. */
export async function notebookPrompts(page: Page): Promise<string[]> {
  return (await page.locator('.jp-NotebookPanel .jp-Notebook-cell .jp-InputPrompt').allInnerTexts()).map((p) => p.trim());
}

/**
 * In the notebook already open in JupyterLab 4: a new cell below the last one, `code` run in it,
 * and that cell's output — on the same page, the same kernel connection (nothing reloads).
 *
 * The output is looked for in the new cell itself, not by counting outputs on the page: the
 * notebook attaches and detaches cells as they scroll, so a count can stand still while the new
 * output appears. A run JupyterLab did not send (the prompt stays "[ ]:", as when its session is
 * being refreshed) is issued again, as a person would press Run again; a run it sent ("[*]:")
 * is only waited for — a lost request must fail the test, not be retried away.
 */
export async function runCellInOpenNotebook(page: Page, code: string, timeoutMs = 30_000): Promise<string> {
  const panel = page.locator('.jp-NotebookPanel').first();
  await panel.locator('.jp-Notebook-cell').last().click();
  await page.keyboard.press('Escape');
  await page.keyboard.press('b'); // command mode: insert a cell below and make it the active one
  const cell = panel.locator('.jp-Notebook-cell.jp-mod-active');
  await cell.locator('.cm-content').click();
  await page.keyboard.type(code);
  const output = cell.locator('.jp-OutputArea-output').first();
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(0, deadline - Date.now());
  const shown = (ms: number) => output.waitFor({ timeout: Math.max(1, ms) }).then(() => true, () => false);
  for (let run = 1; ; run++) {
    await page.keyboard.press('Control+Enter'); // run, and stay on this cell
    if (await shown(Math.min(10_000, left()))) break;
    const prompt = (await cell.locator('.jp-InputPrompt').innerText()).trim();
    if (prompt === '[ ]:' && run < 3 && left() > 0) {
      await cell.locator('.cm-content').click();
      continue;
    }
    if (left() > 0 && (await shown(left()))) break;
    throw new Error(`no output from ${JSON.stringify(code)} within ${timeoutMs} ms; the cell's prompt shows ${JSON.stringify(prompt)} after ${run} run(s)`);
  }
  return (await output.innerText()).trim();
}
