/**
 * The operator dashboard in Chromium: an operator logs in, sees the statistics charts (every SVG
 * image loaded, no CSP violation), switches language, filters findings, opens a device whose
 * title is a script tag (nothing runs), and watches a running survey's progress update live.
 * The public statistics load without login. Screenshots go to test-output/screenshots/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../src/core/records.js';
import { sampleFinding } from '../src/findings/test-support.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createWebApp, serveWeb, webContext, type RunningWeb } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testScryptLog2N } from '../src/web/test-support.js';
import { browserSkip, collectPageErrors, launchBrowser, screenshot } from './browser.js';

// The page functions below run in the browser; these are the few DOM names they use.
type Img = { readonly src: string; readonly naturalWidth: number; readonly alt: string; readonly complete: boolean };
declare const document: { querySelectorAll(s: string): Iterable<unknown>; querySelector(s: string): { textContent: string | null; hasAttribute(n: string): boolean } | null };

const dir = mkdtempSync(join(tmpdir(), 'iotclean-web-dashboard-'));
const months = ['2026-07', '2026-08', '2026-09', '2026-10', '2026-11', '2026-12'];

function findings(): Finding[] {
  const out: Finding[] = [];
  months.forEach((month, m) => {
    for (let i = 1; i <= 30 - m * 4; i++) {
      out.push(sampleFinding('weak-credential', { ip: `127.1.0.${i}`, observedAt: `${month}-03T00:00:00.000Z`, period: month, isp: 'isp-1', prefixOwner: 'isp-1', device: { type: 'router', vendor: 'NEC', model: 'Aterm WG2600HP', firmware: null } }));
    }
    for (let i = 1; i <= (m === 5 ? 40 : 3); i++) {
      out.push(sampleFinding('exposed-service', { ip: `127.2.0.${i}`, observedAt: `${month}-04T00:00:00.000Z`, period: month, isp: 'isp-2', prefixOwner: 'isp-2', protocol: 'telnet', device: { type: 'camera', vendor: '<b>Vcam</b>', model: '<script>alert(1)</script>', firmware: null } }));
    }
  });
  out.push(sampleFinding('unauthenticated-admin', { ip: '127.4.0.1', observedAt: '2026-12-09T00:00:00.000Z', period: '2026-12', isp: 'isp-1', prefixOwner: 'isp-1' }));
  return out;
}

/** Every chart image on the page, with its natural width once loaded. */
async function chartImages(page: Page): Promise<{ src: string; width: number; alt: string }[]> {
  await page.waitForFunction(() => [...document.querySelectorAll('img.chart-img')].every((i) => (i as Img).complete));
  return page.$$eval('img.chart-img', (imgs) => imgs.map((i) => ({ src: (i as unknown as Img).src, width: (i as unknown as Img).naturalWidth, alt: (i as unknown as Img).alt })));
}

describe.skipIf(browserSkip())('the operator dashboard in Chromium', () => {
  let store: Store;
  let web: RunningWeb;
  let browser: Browser;
  let surveyId: number;
  beforeAll(async () => {
    store = await openStore(join(dir, 'web.db'));
    await addTestAccounts(store);
    await store.findings.record(findings());
    await store.observations.add([
      {
        kind: 'observation',
        surveyId: null,
        endpointId: null,
        ip: '127.4.0.1',
        port: 80,
        module: 'http',
        status: 'success',
        recognised: true,
        fields: { status: 200, title: '<script>alert(1)</script><img src=x onerror=alert(2)>' },
        raw: '',
        bytesReceived: 0,
        observedAt: '2026-12-09T00:00:00.000Z',
        durationMs: 1,
        source: 'grab',
      },
    ]);
    await store.plans.save({ digest: 'e'.repeat(64), version: '2026.12-1', name: 'monthly', body: {} });
    surveyId = await store.surveys.create({ planDigest: 'e'.repeat(64), scope: { source: 'test', ranges: [] }, targets: [{ start: 2130706432, end: 2130771967 }], ports: [23, 80], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: new Date(Date.now() - 5000).toISOString() }, { owner: 'browser-test', ttlMs: 120_000 });
    web = await serveWeb(createWebApp(webContext(store, { scryptLog2N: testScryptLog2N })), { port: 0 });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the charts as loaded images in both languages, with no CSP violation or script run', async () => {
    const context = await browser.newContext({ locale: 'ja-JP', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${web.url}/login?next=/ops/stats`);
    await page.fill('#name', testAccounts.analyst.name);
    await page.fill('#password', testAccounts.analyst.password);
    await page.click('#login-submit');
    await page.waitForURL(/\/ops/);
    await page.goto(`${web.url}/ops/stats`);
    expect(await page.locator('html').getAttribute('lang')).toBe('ja');
    const ja = await chartImages(page);
    expect(ja.length).toBe(6);
    for (const img of ja) {
      expect(img.width, img.src).toBeGreaterThan(0);
      expect(img.alt.length).toBeGreaterThan(10);
      expect(img.src).toContain('lang=ja');
    }
    expect(await page.locator('#table-monthly-kind tbody tr').count()).toBe(months.length);
    await screenshot(page, 'dashboard-ops-stats-ja');
    await page.click('#lang-switch');
    await page.waitForURL(/lang=en/);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    const en = await chartImages(page);
    expect(en.every((i) => i.width > 0 && i.src.includes('lang=en'))).toBe(true);
    expect(await page.textContent('#chart-monthly-kind h2')).toBe('Findings per month, by kind');
    await screenshot(page, 'dashboard-ops-stats-en');

    // Findings: filter by kind through the form, then open the hostile device.
    await page.goto(`${web.url}/ops/findings`);
    await page.selectOption('select[name="kind"]', 'exposed-service');
    await page.click('#filters button[type="submit"]');
    await page.waitForURL(/kind=exposed-service/);
    expect(await page.textContent('#match-count')).toBe(`${3 * 5 + 40} matching`);
    // The hostile model is shown as text in the list.
    expect(await page.locator('#findings tbody tr').first().textContent()).toContain('<script>alert(1)</script>');
    await screenshot(page, 'dashboard-ops-findings');
    await page.goto(`${web.url}/ops/devices/127.4.0.1`);
    expect(await page.locator('#observations pre').textContent()).toContain('<script>alert(1)</script>');
    expect(await page.locator('#observations img').count()).toBe(0);
    await screenshot(page, 'dashboard-ops-device');

    await page.goto(`${web.url}/ops/changes`);
    expect(await page.locator('#changes tbody tr').count()).toBeGreaterThan(0);
    await screenshot(page, 'dashboard-ops-changes');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('updates a running survey live and stops polling when it is done', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${web.url}/login`);
    await page.fill('#name', testAccounts.admin.name);
    await page.fill('#password', testAccounts.admin.password);
    await page.click('#login-submit');
    await page.waitForURL(/\/ops/);
    const row = page.locator(`#survey-${surveyId}`);
    expect(await row.getAttribute('data-progress-url')).toBe(`/ops/surveys/${surveyId}/progress.json`);
    expect(await row.locator('[data-field="probes"]').textContent()).toBe('0');
    await store.surveys.recordProgress(surveyId, [{ kind: 'endpoint', ip: '127.0.0.9', port: 23, seenAt: new Date().toISOString(), source: 'connect' }], [4321], { probesSent: 4321 });
    await page.waitForFunction((id) => document.querySelector(`#survey-${id} [data-field="probes"]`)?.textContent === '4,321', surveyId, { timeout: 15_000 });
    expect(await row.locator('[data-field="endpoints"]').textContent()).toBe('1');
    await screenshot(page, 'dashboard-ops-running');
    await store.surveys.finish(surveyId, 'done', { probesSent: 65536, elapsedMs: 8000, checkpoint: [65536] });
    await page.waitForFunction((id) => !document.querySelector(`#survey-${id}`)?.hasAttribute('data-progress-url'), surveyId, { timeout: 15_000 });
    expect(await row.locator('[data-field="status"]').textContent()).toBe('done');
    expect(await row.locator('[data-field="rate"]').textContent()).toBe('8,192');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('serves the public statistics without login', async () => {
    const context = await browser.newContext({ locale: 'en-GB' });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${web.url}/stats`);
    const imgs = await chartImages(page);
    expect(imgs.length).toBe(4);
    expect(imgs.every((i) => i.width > 0)).toBe(true);
    expect(await page.content()).not.toMatch(/127\.\d+\.\d+\.\d+/);
    await screenshot(page, 'dashboard-public-stats');
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);
});
