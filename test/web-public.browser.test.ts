/**
 * The public site in Chromium: the home page in both languages, the self-check run from the
 * browser as a "device" at a 127.x address (trusted proxy + X-Forwarded-For) with a listener on
 * 2323 that the result reports open, and an opt-out sent from inside the network; screenshots of
 * each page, and no script error or CSP violation anywhere.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileScope, defaultScope, restrictScope } from '../src/scope/scope.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createWebApp, serveWeb, webContext, type RunningWeb } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testScryptLog2N } from '../src/web/test-support.js';
import { browserSkip, collectPageErrors, launchBrowser, screenshot } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-web-public-browser-'));
const net24 = `127.64.${process.pid % 250}`;
const device = `${net24}.20`;

describe.skipIf(browserSkip())('the public site in Chromium', () => {
  let store: Store;
  let web: RunningWeb;
  let browser: Browser;
  let telnet: net.Server;
  beforeAll(async () => {
    telnet = net.createServer((s) => s.on('error', () => {}).end('login: '));
    await new Promise<void>((resolve, reject) => telnet.once('error', reject).listen(2323, device, resolve));
    store = await openStore(join(dir, 'web.db'));
    await addTestAccounts(store);
    const ctx = webContext(store, {
      scryptLog2N: testScryptLog2N,
      trustProxy: ['127.0.0.1'],
      survey: { sourceAddresses: ['127.0.0.53'], contact: 'survey-desk@example.invalid' },
      selfCheck: { scope: restrictScope(compileScope(defaultScope()), [`${net24}.0/24`]), timeoutMs: 1000 },
    });
    web = await serveWeb(createWebApp(ctx), { port: 0 });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await store?.close();
    await new Promise((r) => telnet?.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('home in ja then en; the self-check from the browser reports the open telnet port; an opt-out from inside the network is verified', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ locale: 'ja-JP', extraHTTPHeaders: { 'X-Forwarded-For': device } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);

    await page.goto(`${web.url}/`);
    expect(await page.locator('html').getAttribute('lang')).toBe('ja');
    expect(await page.textContent('h1')).toContain('IoT機器');
    await screenshot(page, 'public-home-ja');
    await page.click('#lang-switch');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.textContent('#harm-others')).toContain('Mirai');
    await screenshot(page, 'public-home-en');

    await page.click('#home-check');
    await page.waitForURL(/\/check$/);
    expect(await page.textContent('#check-intro')).toContain(device);
    await page.click('#check-submit');
    await page.waitForSelector('#live-ports');
    expect(await page.textContent('h1')).toContain(`Result for ${device}`);
    expect(await page.textContent('#live-ports tr[data-port="2323"]')).toMatch(/open/);
    expect(await page.textContent('#live-ports tr[data-port="23"]')).toMatch(/closed/);
    expect(await page.textContent('#live-summary')).toContain('1 port(s) are open');
    await screenshot(page, 'public-check-result');

    await page.goto(`${web.url}/about-survey`);
    expect(await page.textContent('#user-agent')).toMatch(/about-survey/);
    await screenshot(page, 'public-about-survey');
    await page.click('#optout-link');
    await page.fill('#optout-cidr', `${net24}.0/24`);
    await page.fill('#optout-email', 'owner@example.invalid');
    await page.fill('#optout-reason', 'test network');
    await page.click('#optout-submit');
    await page.waitForSelector('#optout-verified');
    await screenshot(page, 'public-optout-done');
    expect(await store.optouts.listOptouts()).toMatchObject([{ cidr: `${net24}.0/24`, state: 'verified', verification: 'from-network', clientIp: device }]);
    expect((await store.web.auditLog({ action: 'selfcheck' }))[0]).toMatchObject({ ip: device, detail: { open: [2323] } });
    expect(errors).toEqual([]);
    await context.close();

    // An operator approves it from the list (the confirm dialog accepted): it becomes an exclusion.
    const ops = await browser.newContext({ locale: 'en-GB' });
    const opsPage = await ops.newPage();
    const opsErrors = collectPageErrors(opsPage);
    opsPage.on('dialog', (d) => void d.accept());
    await opsPage.goto(`${web.url}/login?next=/ops/optouts`);
    await opsPage.fill('#name', testAccounts.analyst.name);
    await opsPage.fill('#password', testAccounts.analyst.password);
    await opsPage.click('#login-submit');
    await opsPage.waitForURL(/\/ops\/optouts/);
    const [request] = await store.optouts.listOptouts();
    await screenshot(opsPage, 'ops-optouts-verified');
    await opsPage.click(`#approve-${request!.id}`);
    await opsPage.waitForSelector('#optout-done');
    expect(await opsPage.textContent('#exclusions')).toContain(`${net24}.0/24`);
    await screenshot(opsPage, 'ops-optouts-approved');
    expect(await store.optouts.excludedRanges()).toEqual([request!.range]);
    expect(opsErrors).toEqual([]);
    await ops.close();
  });
});
