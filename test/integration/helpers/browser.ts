/// <reference lib="dom" />
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO } from './cli';

export const ARTIFACTS = path.join(REPO, 'test-artifacts');

/** Debian's Chromium, headless, with nothing that phones home (the machine has no network). */
export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** JupyterLab 4: a new notebook from the launcher, `6*7`, and the output 42. */
export async function sixTimesSevenInLab(page: Page, shot: string): Promise<string> {
  await page.waitForSelector('.jp-LauncherCard', { timeout: 60_000 });
  // The launcher's first section is "Notebook"; its first card makes a notebook with the default kernel.
  await page.locator('.jp-Launcher-section').filter({ hasText: 'Notebook' }).locator('.jp-LauncherCard').first().click();
  const cell = page.locator('.jp-NotebookPanel .jp-Cell .cm-content').first();
  await cell.waitFor({ timeout: 60_000 });
  // JupyterLab drops a run issued before its kernel connection is up; wait for the kernel.
  await page.locator('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]').first().waitFor({ timeout: 60_000 });
  await cell.click();
  await page.keyboard.type('6*7');
  const out = page.locator('.jp-NotebookPanel .jp-OutputArea-output').first();
  for (let attempt = 0; attempt < 3; attempt++) {
    await cell.click();
    await page.keyboard.press('Control+Enter');
    if (await out.waitFor({ timeout: 20_000 }).then(() => true, () => false)) break;
  }
  await screenshot(page, shot);
  return (await out.innerText()).trim();
}

/** The classic notebook 6.4: New → Python 3 opens a notebook in a new tab; `6*7` → 42. */
export async function sixTimesSevenInClassic(context: BrowserContext, page: Page, shot: string): Promise<string> {
  await page.waitForSelector('#new-dropdown-button', { timeout: 60_000 });
  await page.click('#new-dropdown-button');
  const [nb] = await Promise.all([context.waitForEvent('page'), page.click('#kernel-python3 a, li[id^="kernel-python3"] a')]);
  await nb.waitForSelector('.CodeMirror', { timeout: 60_000 });
  await nb.waitForFunction(() => {
    const w = window as unknown as { Jupyter?: { notebook?: { kernel?: { is_connected?: () => boolean } } } };
    return w.Jupyter?.notebook?.kernel?.is_connected?.() === true;
  }, undefined, { timeout: 60_000 });
  await nb.click('.CodeMirror');
  await nb.keyboard.type('6*7');
  await nb.keyboard.press('Shift+Enter');
  const out = nb.locator('.output_result .output_subarea, .output_subarea').first();
  await out.waitFor({ timeout: 60_000 });
  await screenshot(nb, shot);
  return (await out.innerText()).trim();
}
