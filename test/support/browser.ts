/**
 * Headless Chromium for the console's end-to-end tests and bench, through playwright-core
 * and the system's `/usr/bin/chromium` (CHROMIUM_PATH overrides it; `.ci/run` installs it).
 * Each test run launches one browser and closes it in its `after` hook.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildConsole } from '../../runtime/console/build';
import { REPO_ROOT } from './e2e-process';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS_DIR = path.join(REPO_ROOT, '.scratch', 'screenshots');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let built: Promise<unknown> | undefined;

/** Builds the console once per test run (the server reads dist/console on each request). */
export function ensureConsoleBuilt(): Promise<unknown> {
  built ??= buildConsole();
  return built;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
}

/** A console page, with what the page itself complained about (uncaught errors, console errors). */
export interface ConsolePage {
  page: Page;
  errors: string[];
}

/** Opens `/console` (plus `hash`) of the server at `baseUrl` in a new 1440×900 page. */
export async function openConsole(browser: Browser, baseUrl: string, hash = '#/'): Promise<ConsolePage> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  await page.goto(`${baseUrl}/console${hash}`);
  return { page, errors };
}

/** Saves a full-page screenshot to .scratch/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS_DIR, { recursive: true });
  const file = path.join(SCREENSHOTS_DIR, `${name}.png`);
  // Headless Chromium paints only the viewport's height of some backgrounds in a full-page
  // shot, so the viewport is grown to the page for the picture and put back after.
  const viewport = page.viewportSize() ?? { width: 1440, height: 900 };
  const height = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollHeight: number } } }).document.documentElement.scrollHeight);
  await page.setViewportSize({ width: viewport.width, height: Math.max(viewport.height, Math.min(height, 4000)) });
  try {
    await page.screenshot({ path: file });
  } finally {
    await page.setViewportSize(viewport);
  }
  return file;
}
