/**
 * Headless Chromium for page tests: Debian's chromium driven by playwright-core. A test file calls
 * `browserSkip()` for describe.skipIf (with the reason printed once), launches one browser in
 * beforeAll and closes it in afterAll; screenshots go to test-output/screenshots/ (kept by CI).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = process.env.IOTCLEAN_CHROMIUM ?? '/usr/bin/chromium';
export const screenshotDir = join(process.cwd(), 'test-output', 'screenshots');

const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

let told = false;
/** True (and says why, once) when there is no Chromium to run: the caller skips its browser tests. */
export function browserSkip(): boolean {
  if (existsSync(chromiumPath)) return false;
  if (!told) console.log(`browser tests skipped: no Chromium at ${chromiumPath} (apt-get install chromium, or set IOTCLEAN_CHROMIUM)`);
  told = true;
  return true;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: flags, headless: true, timeout: 60_000 });
}

/** A full-page screenshot into test-output/screenshots/<name>.png; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name.replace(/[^a-z0-9-]+/gi, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Every script error and CSP violation a page reports (a test asserts the list is empty). Answers
 * with an error status (a refused login's 400, a 404) are the pages' intent, not errors here.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded with a status of')) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}
