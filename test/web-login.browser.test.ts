import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createWebApp, serveWeb, webContext, type RunningWeb } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testScryptLog2N } from '../src/web/test-support.js';
import { browserSkip, collectPageErrors, launchBrowser, screenshot } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-web-login-'));

describe.skipIf(browserSkip())('the login page in Chromium', () => {
  let store: Store;
  let web: RunningWeb;
  let browser: Browser;
  beforeAll(async () => {
    store = await openStore(join(dir, 'web.db'));
    await addTestAccounts(store);
    web = await serveWeb(createWebApp(webContext(store, { scryptLog2N: testScryptLog2N })), { port: 0 });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('logs in, switches language, and logs out, with no CSP violation', async () => {
    const context = await browser.newContext({ locale: 'ja-JP' });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${web.url}/login`);
    expect(await page.locator('html').getAttribute('lang')).toBe('ja');
    await page.click('#lang-switch');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await page.fill('#name', testAccounts.analyst.name);
    await page.fill('#password', 'wrong-password-here');
    await page.click('#login-submit');
    expect(await page.textContent('#login-error')).toContain('Wrong account name or password');
    await page.fill('#name', testAccounts.analyst.name);
    await page.fill('#password', testAccounts.analyst.password);
    await page.click('#login-submit');
    await page.waitForURL(/\/ops/);
    expect(await page.isVisible('#logout')).toBe(true);
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'iotclean_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await screenshot(page, 'login-logged-in');
    await page.click('#logout');
    await page.waitForURL(`${web.url}/`);
    expect(await page.isVisible('#login-link')).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });
});
