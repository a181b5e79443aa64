import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
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
      `--user-data-dir=${mkdtempSync(path.join(os.tmpdir(), 'roamlab-chromium-'))}`,
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
  await page.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
  const cell = page.locator('.jp-NotebookPanel:visible .jp-Cell .cm-content').first();
  await cell.waitFor({ timeout: 60_000 });
  await cell.click();
  await page.keyboard.type('6*7');
  await page.keyboard.press('Shift+Enter');
  const out = page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output').first();
  await out.waitFor({ timeout: 60_000 });
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
