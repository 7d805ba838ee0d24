/**
 * Survey governance in Chromium: an analyst uploads a changed plan (an extra port), the diff shows
 * the added port, the analyst's own approve is refused (403), an admin approves it from the page;
 * a loopback survey with the plan is refused before approval and runs after. Screenshots go to
 * test-output/screenshots/governance-*.png.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan, planDigest } from '../src/discover/plan.js';
import { runSurvey } from '../src/pipeline/survey.js';
import { compileScope, defaultScope, restrictScope } from '../src/scope/scope.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createWebApp, serveWeb, webContext, type RunningWeb } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testScryptLog2N } from '../src/web/test-support.js';
import { browserSkip, collectPageErrors, launchBrowser, screenshot } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-web-governance-browser-'));
const HOST = '127.213.254.1';
const PORT = 40131;
const EXTRA = 40132;
const planText = (version: string, ports: readonly number[]) =>
  `version: "${version}"\nname: lab-plan\ndescription: governance browser test\nrate: 500\nconcurrency: 16\ntimeoutMs: 1000\nretries: 0\nmodules: [discover]\nports:\n${ports.map((p) => `  - {port: ${p}, service: telnet, reason: "lab telnet ${p}"}\n`).join('')}`;
const v1 = planText('b-1', [PORT]);
const v2 = planText('b-2', [PORT, EXTRA]);
const d2 = planDigest(parsePlan(v2, 'b.yaml'));

describe.skipIf(browserSkip())('survey governance in Chromium', () => {
  let store: Store;
  let web: RunningWeb;
  let browser: Browser;
  let listener: net.Server;
  let connections = 0;
  beforeAll(async () => {
    store = await openStore(join(dir, 'web.db'));
    const accounts = await addTestAccounts(store);
    // The version in force: proposed by the analyst, approved by the admin (governance is on).
    const p1 = parsePlan(v1, 'a.yaml');
    const d1 = planDigest(p1);
    const analyst = { id: accounts.analyst.id, name: accounts.analyst.name, role: accounts.analyst.role };
    const admin = { id: accounts.admin.id, name: accounts.admin.name, role: accounts.admin.role };
    expect((await store.planApprovals.propose({ digest: d1, version: p1.version, name: p1.name, body: p1, source: v1, note: 'the plan in force' }, analyst, Date.now())).ok).toBe(true);
    expect((await store.planApprovals.decide(d1, 'approved', admin, 'baseline', Date.now())).ok).toBe(true);
    web = await serveWeb(createWebApp(webContext(store, { scryptLog2N: testScryptLog2N })), { port: 0 });
    listener = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((ok, fail) => listener.once('error', fail).listen(EXTRA, HOST, () => ok()));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await new Promise<void>((ok) => (listener ? listener.close(() => ok()) : ok()));
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const loginAs = async (page: Page, name: string, password: string) => {
    await page.goto(`${web.url}/login?lang=en`);
    await page.fill('#name', name);
    await page.fill('#password', password);
    await page.click('#login-submit');
    await page.waitForURL(/\/ops/);
  };

  const survey = () => {
    const scope = compileScope(defaultScope());
    return runSurvey({ store, scope, targets: restrictScope(scope, [`${HOST}/32`]), plan: parsePlan(v2, 'b.yaml'), rate: 0, workers: 1 });
  };

  it('an analyst proposes an extra port, an admin approves it, and only then the survey runs', { timeout: 120_000 }, async () => {
    const ctxA = await browser.newContext({ locale: 'en-GB' });
    const pa = await ctxA.newPage();
    const errors = collectPageErrors(pa);
    await loginAs(pa, testAccounts.analyst.name, testAccounts.analyst.password);
    await pa.goto(`${web.url}/ops/plans`);
    expect(await pa.textContent('#governance-state')).toContain('Governance is on');
    // Upload: the page's script shows the file in the text box; the form sends it.
    await pa.setInputFiles('#plan-file', { name: 'b-2.yaml', mimeType: 'text/yaml', buffer: Buffer.from(v2) });
    await pa.waitForFunction("document.getElementById('plan-yaml').value.includes('b-2')");
    await pa.fill('#propose-note', `add telnet on ${EXTRA}`);
    await screenshot(pa, 'governance-propose');
    await pa.click('#propose-submit');
    await pa.waitForURL(`${web.url}/ops/plans/${d2}`);
    expect(await pa.textContent('#plan-state')).toContain('proposed');
    expect(await pa.textContent('#decide-help')).toContain('You proposed this version');
    expect(await pa.isVisible('#approve-submit')).toBe(false);
    expect(await pa.textContent('#plan-ports')).toContain(String(EXTRA));
    await screenshot(pa, 'governance-proposed');

    await pa.click('#diff-prev');
    await pa.waitForURL(/\/ops\/plans\/diff\?/);
    expect(await pa.textContent('#ports-added')).toContain(`+ ${EXTRA}`);
    expect(await pa.isVisible('#ports-removed')).toBe(false);
    expect(await pa.textContent('#diff-lines')).toContain(`+      "port": ${EXTRA},`);
    await screenshot(pa, 'governance-diff');

    // The proposer's own approve, sent as the page would (session + CSRF token): refused.
    // (A string: the test's tsconfig has no DOM types; the digest is hex.)
    const status = await pa.evaluate<number>(`(async () => {
      const token = document.querySelector('input[name="_csrf"]').value;
      const res = await fetch('/ops/plans/${d2}/approve', { method: 'POST', headers: { 'X-CSRF-Token': token, 'content-type': 'application/x-www-form-urlencoded' }, body: 'note=self' });
      return res.status;
    })()`);
    expect(status).toBe(403);
    expect((await store.planApprovals.get(d2))?.state).toBe('proposed');

    // Not approved yet: the survey is refused before anything is probed.
    connections = 0;
    await expect(survey()).rejects.toMatchObject({ code: 'E_PLAN_APPROVAL', message: expect.stringContaining(d2) });
    expect(connections).toBe(0);

    const ctxB = await browser.newContext({ locale: 'ja-JP' });
    const pb = await ctxB.newPage();
    const errorsB = collectPageErrors(pb);
    await loginAs(pb, testAccounts.admin.name, testAccounts.admin.password);
    await pb.goto(`${web.url}/ops/plans/${d2}`);
    await pb.fill('#decide-note', 'reviewed: lab port only');
    await pb.click('#approve-submit');
    await pb.waitForURL(`${web.url}/ops/plans/${d2}`);
    expect(await pb.textContent('#plan-state')).toContain('approved');
    await screenshot(pb, 'governance-approved');
    await pb.goto(`${web.url}/ops/plans?lang=ja`);
    expect(await pb.locator('html').getAttribute('lang')).toBe('ja');
    expect(await pb.textContent(`tr[data-digest="${d2}"]`)).toContain('承認済み');
    await screenshot(pb, 'governance-list-ja');

    const ran = await survey();
    expect(ran.status).toBe('done');
    expect(connections).toBeGreaterThan(0);
    expect((await store.endpoints.all(ran.surveyId)).map((e) => `${e.ip}:${e.port}`)).toEqual([`${HOST}:${EXTRA}`]);
    expect([...errors, ...errorsB]).toEqual([]);
    await ctxA.close();
    await ctxB.close();
  });
});
