/**
 * The support desk in Chromium: a subscriber opens /support with the reference from the alert,
 * reads the manual, and sends a question holding an <img onerror> that stays inert text; an
 * operator answers with a canned answer (picked in the page, filled in by support-ops.js); the
 * subscriber's private link shows the answer; publishing puts it in the FAQ; a manual edit makes
 * version 2 and the diff shows the change. Screenshots of each page go to test-output/screenshots/.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReference, openCase } from '../src/notify/isp/cases.js';
import { testFinding, testMatch } from '../src/notify/isp/test-support.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { createWebApp, serveWeb, webContext, type RunningWeb } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testScryptLog2N } from '../src/web/test-support.js';
import { browserSkip, collectPageErrors, launchBrowser, screenshot } from './browser.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-web-support-'));
const hostile = '<img src=x onerror=alert(1)> My router restarts every few minutes. What should I do?';

describe.skipIf(browserSkip())('the support desk in Chromium', () => {
  let store: Store;
  let web: RunningWeb;
  let browser: Browser;
  const reference = formatReference(2026, 7);
  beforeAll(async () => {
    store = await openStore(join(dir, 'web.db'));
    await addTestAccounts(store);
    const finding = testFinding('127.0.0.9', 23, '2026-11-30T00:00:00Z', { device: { type: 'router', vendor: 'NEC', model: 'Aterm WG2600HP', firmware: null } });
    await store.cases.save(openCase({ reference, match: testMatch('sub-1', finding), measure: 'subscriber-alert', control: false, ticket: null, step: { at: '2026-11-30T01:00:00Z', by: 'test', note: null } }));
    web = await serveWeb(createWebApp(webContext(store, { scryptLog2N: testScryptLog2N })), { port: 0 });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A page that records script errors, CSP violations and any dialog (an alert() would be one). */
  const open = async (locale: string): Promise<{ page: Page; errors: string[]; dialogs: string[]; close(): Promise<void> }> => {
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    return { page, errors, dialogs, close: () => context.close() };
  };

  const login = async (page: Page, name: string, password: string, next: string) => {
    await page.goto(`${web.url}/login?next=${encodeURIComponent(next)}`);
    await page.fill('#name', name);
    await page.fill('#password', password);
    await page.click('#login-submit');
    await page.waitForURL(`${web.url}${next}`);
  };

  it('takes a question, answers it with a canned answer, shows it on the private link and in the FAQ', async () => {
    // The subscriber, with the reference from the alert mail.
    const sub = await open('en-GB');
    await sub.page.goto(`${web.url}/support?ref=${reference}`);
    expect(await sub.page.textContent('#case-device')).toContain('NEC Aterm WG2600HP');
    expect(await sub.page.inputValue('#model')).toBe('nec-aterm');
    await screenshot(sub.page, 'support-start');
    await sub.page.click('#support-next');
    await sub.page.waitForURL(/\/support\/new\?ref=IOTC-2026-000007&model=nec-aterm/);
    expect(await sub.page.textContent('#support-manual')).toContain('Change the administrator password');
    await sub.page.fill('#question', hostile);
    await sub.page.fill('#email', 'subscriber@example.test');
    await screenshot(sub.page, 'support-ask');
    await sub.page.click('#support-send');
    await sub.page.waitForURL(/\/support\/q\/[A-Za-z0-9_-]{43}$/);
    const privateLink = sub.page.url();
    expect(await sub.page.textContent('#q-text')).toBe(hostile);
    expect(await sub.page.locator('#q-text img, main img').count()).toBe(0);
    expect(await sub.page.isVisible('#no-answer')).toBe(true);
    await screenshot(sub.page, 'support-private-waiting');

    // The operator: a canned answer for the model, then the queue.
    const op = await open('en-GB');
    await login(op.page, testAccounts.analyst.name, testAccounts.analyst.password, '/ops/support/canned');
    await op.page.selectOption('#new-model', 'nec-aterm');
    await op.page.selectOption('#new-lang', 'en');
    await op.page.fill('#new-title', 'Restart loop');
    await op.page.fill('#new-body', 'A restart loop often means malware: reset the router to its factory settings, then change the administrator password before reconnecting (steps 1 and 6 of the manual).');
    await op.page.click('#canned-add');
    await op.page.waitForURL(/\/ops\/support\/canned/);
    await screenshot(op.page, 'support-canned');
    await op.page.goto(`${web.url}/ops/support`);
    expect(await op.page.textContent('#queue')).toContain('<img src=x onerror=alert(1)>');
    expect(await op.page.locator('#queue img').count()).toBe(0);
    await screenshot(op.page, 'support-queue');
    await op.page.click('#queue tbody tr:first-child td:first-child a');
    await op.page.waitForURL(/\/ops\/support\/\d+$/);
    const cannedValue = await op.page.locator('#canned option', { hasText: 'Restart loop' }).getAttribute('value');
    await op.page.selectOption('#canned', cannedValue!);
    // support-ops.js put the canned text into the answer box; the operator adds a line.
    expect(await op.page.inputValue('#answer-body')).toMatch(/^A restart loop often means malware/);
    await op.page.fill('#answer-body', `${await op.page.inputValue('#answer-body')}\nIf it keeps restarting after that, write a follow-up below.`);
    await screenshot(op.page, 'support-answer');
    await op.page.click('#answer-send');
    await op.page.waitForURL(/done=answer/);
    expect(await op.page.textContent('#q-status')).toBe('Answered');

    // The subscriber reads it on the private link.
    await sub.page.goto(privateLink);
    expect(await sub.page.textContent('#answers')).toContain('reset the router to its factory settings');
    expect(await sub.page.textContent('#q-status')).toBe('Answered');
    await screenshot(sub.page, 'support-private-answered');
    // The same page in Japanese (the language switch keeps the private link).
    await sub.page.click('#lang-switch');
    expect(await sub.page.locator('html').getAttribute('lang')).toBe('ja');
    expect(await sub.page.textContent('#q-status')).toBe('回答済み');
    await screenshot(sub.page, 'support-private-answered-ja');
    await sub.page.click('#lang-switch');

    // Published to the FAQ with the public text the operator wrote.
    await op.page.fill('#faq-question', 'My router restarts every few minutes. What should I do?');
    await op.page.click('#faq-publish');
    await op.page.waitForURL(/done=publish/);
    await sub.page.goto(`${web.url}/support/faq`);
    const faq = await sub.page.textContent('#faq-nec-aterm');
    expect(faq).toContain('My router restarts every few minutes.');
    expect(faq).toContain('reset the router to its factory settings');
    expect(faq).not.toContain('subscriber@example.test');
    await screenshot(sub.page, 'support-faq');

    expect(sub.dialogs).toEqual([]);
    expect(op.dialogs).toEqual([]);
    expect(sub.errors).toEqual([]);
    expect(op.errors).toEqual([]);
    await sub.close();
    await op.close();
  });

  it('saves a manual edit as version 2 and shows the change in the diff', async () => {
    const op = await open('ja-JP');
    await login(op.page, testAccounts.admin.name, testAccounts.admin.password, '/ops/manuals');
    await screenshot(op.page, 'manuals-ops');
    await op.page.goto(`${web.url}/ops/manuals/nec-aterm/edit`);
    const body = await op.page.inputValue('#body_ja');
    await op.page.fill('#body_ja', `${body}\n8. 設定を変えたら、機器を再起動して動作を確かめてください。`);
    await op.page.fill('#note', '手順8を追加');
    await screenshot(op.page, 'manual-edit');
    await op.page.click('#manual-save');
    await op.page.waitForURL(/\/ops\/manuals\/nec-aterm\/history\?saved=2/);
    expect(await op.page.locator('#manual-history tbody tr').count()).toBe(2);
    await screenshot(op.page, 'manual-history');
    await op.page.click('#compare');
    await op.page.waitForURL(/\/ops\/manuals\/nec-aterm\/diff\?/);
    const asked = new URL(op.page.url()).searchParams;
    expect([asked.get('from'), asked.get('to')]).toEqual(['1', '2']);
    expect(await op.page.locator('#manual-diff tr.diff-add', { hasText: '8. 設定を変えたら' }).count()).toBe(1);
    expect(await op.page.locator('#manual-diff tr.diff-del').count()).toBe(0);
    await screenshot(op.page, 'manual-diff');
    // The public page shows version 2.
    await op.page.goto(`${web.url}/manuals/nec-aterm`);
    expect(await op.page.textContent('article')).toContain('8. 設定を変えたら');
    await screenshot(op.page, 'manual-public');
    expect(op.errors).toEqual([]);
    await op.close();
  });
});
