/**
 * The ISP portal in Chromium: ISP A logs in, sees its own findings (a hostile device model stays
 * text), fails to open ISP B's finding by URL, downloads CSV, reports a case status and issues an
 * API token; an admin sees the accounts page and the audit log of it all. Screenshots of each.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sampleFinding } from '../src/findings/test-support.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createWebApp, serveWeb, webContext, type RunningWeb } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testScryptLog2N } from '../src/web/test-support.js';
import { browserSkip, collectPageErrors, launchBrowser, screenshot } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-web-portal-browser-'));
const hostile = '<img src=x id=xss onerror="window.__xss=1"><script>window.__xss=2</script>';

describe.skipIf(browserSkip())('the ISP portal in Chromium', () => {
  let store: Store;
  let web: RunningWeb;
  let browser: Browser;
  let aIds: number[];
  let bIds: number[];
  beforeAll(async () => {
    store = await openStore(join(dir, 'web.db'));
    await addTestAccounts(store);
    aIds = await store.findings.record([
      sampleFinding('weak-credential', { ip: '127.63.0.1', isp: 'isp-a', prefixOwner: 'isp-a' }),
      sampleFinding('weak-credential', { ip: '127.63.0.2', port: 2323, isp: 'isp-a', prefixOwner: 'isp-a', device: { type: 'camera', vendor: 'Evil', model: hostile, firmware: null } }),
    ]);
    bIds = await store.findings.record([sampleFinding('weak-credential', { ip: '127.64.0.1', isp: 'isp-b', prefixOwner: 'isp-b' })]);
    for (const [ticket, isp, ids] of [
      ['IOTC-20261201-isp-a-0001', 'isp-a', aIds],
      ['IOTC-20261201-isp-b-0001', 'isp-b', bIds],
    ] as const) {
      await store.notifications.create({ ticket, isp, createdAt: '2026-12-01T08:00:00.000Z', findingCount: ids.length, afterFindingId: 0, maxFindingId: Math.max(...ids), counts: { 'weak-credential': ids.length }, files: [] });
    }
    web = await serveWeb(createWebApp(webContext(store, { scryptLog2N: testScryptLog2N })), { port: 0 });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ISP A: own findings, B refused by URL, CSV download, case status, API token', { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ locale: 'en-GB', acceptDownloads: true });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.accept();
    });
    await page.goto(`${web.url}/login?lang=en`);
    await page.fill('#name', testAccounts.ispA.name);
    await page.fill('#password', testAccounts.ispA.password);
    await page.click('#login-submit');
    await page.waitForURL(/\/isp$/);
    expect(await page.textContent('#total-findings')).toBe('2');
    await screenshot(page, 'portal-summary');

    await page.click('a[href="/isp/findings"] >> nth=0');
    await page.waitForURL(/\/isp\/findings$/);
    const rows = await page.locator('#findings tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows.join(' ')).toContain('127.63.0.1');
    expect(rows.join(' ')).not.toContain('127.64.0.1');
    // The hostile model is shown as text: no element made of it, no script run.
    expect(await page.locator('#findings').textContent()).toContain('<img src=x id=xss');
    expect(await page.locator('#xss').count()).toBe(0);
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    await screenshot(page, 'portal-findings');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    expect(download.suggestedFilename()).toMatch(/^export-isp-a-\d{8}\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv).toContain('127.63.0.1');
    expect(csv).not.toContain('127.64.0.1');

    const refused = await page.goto(`${web.url}/isp/findings/${bIds[0]}`);
    expect(refused!.status()).toBe(404);
    expect(await page.textContent('main')).toContain('There is no such finding.');
    expect(await page.textContent('main')).not.toContain('127.64.0.1');
    await screenshot(page, 'portal-other-isp-refused');

    await page.goto(`${web.url}/isp/cases`);
    const id = aIds[0]!;
    await page.selectOption(`#status-${id}`, 'fixed');
    await page.fill(`#note-${id}`, 'router reset by the subscriber');
    await page.click(`#report-submit-${id}`);
    await page.waitForURL(/\/isp\/cases\?reported=1$/);
    expect(await page.textContent('#report-done')).toContain('Status recorded.');
    expect(await page.textContent(`tr[data-finding="${id}"] .case-status`)).toContain('Fixed');
    await screenshot(page, 'portal-cases');
    await page.goto(`${web.url}/isp/findings/${id}`);
    expect(await page.textContent('#history')).toContain('router reset by the subscriber');
    expect(await page.textContent('#current-status')).toBe('Fixed');
    await screenshot(page, 'portal-finding');

    await page.goto(`${web.url}/isp/tokens`);
    await page.fill('#token-label', 'ticket sync');
    await page.click('#issue-submit');
    const token = (await page.textContent('#new-token'))!;
    expect(token).toMatch(/^iotc_/);
    await screenshot(page, 'portal-token-issued');
    const api = await fetch(`${web.url}/api/v1/batches/IOTC-20261201-isp-b-0001`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(404);
    const own = await fetch(`${web.url}/api/v1/batches`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await own.json()) as { batches: { ticket: string }[] }).batches.map((b) => b.ticket)).toEqual(['IOTC-20261201-isp-a-0001']);
    await page.click('#tokens button[id^="revoke-"]');
    await page.waitForURL(/revoked=1/);
    expect(dialogs).toBe(1);
    expect((await fetch(`${web.url}/api/v1/batches`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    await page.goto(`${web.url}/isp/findings?lang=ja`);
    expect(await page.locator('html').getAttribute('lang')).toBe('ja');
    expect(await page.textContent('#download-csv')).toBe('CSVでダウンロード');
    await screenshot(page, 'portal-findings-ja');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('admin: accounts page and the audit log of what ISP A saw and changed', { timeout: 120_000 }, async () => {
    const context = await browser.newContext({ locale: 'ja-JP' });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${web.url}/login`);
    await page.fill('#name', testAccounts.admin.name);
    await page.fill('#password', testAccounts.admin.password);
    await page.click('#login-submit');
    await page.waitForURL(/\/ops/);
    await page.goto(`${web.url}/ops/accounts`);
    expect(await page.locator('#accounts tbody tr').count()).toBe(4);
    await page.fill('#new-name', 'isp-c-desk');
    await page.selectOption('#new-role', 'isp');
    await page.fill('#new-isp', 'isp-c');
    await page.fill('#new-password', 'a-long-enough-passphrase');
    await page.click('#create-submit');
    await page.waitForURL(/done=created/);
    expect(await page.locator('#accounts tbody tr').count()).toBe(5);
    await screenshot(page, 'ops-accounts');
    await page.goto(`${web.url}/ops/audit?account=isp-a`);
    const log = (await page.textContent('#audit'))!;
    for (const action of ['case.report', 'view.refused', 'download', 'token.create', 'token.revoke']) expect(log).toContain(action);
    await screenshot(page, 'ops-audit');
    expect(errors).toEqual([]);
    await context.close();
  });
});
