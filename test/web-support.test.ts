/**
 * The support desk and the manuals over HTTP (app.request through testClient), on both store back
 * ends: seeding every catalogue manual once, language fallback, the question flow with a hostile
 * question kept inert, the private link, rate limit, canned answers, FAQ publishing with personal
 * data refused, manual versions and their diff, roles and CSRF.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/identify/catalogue.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { storeBackends } from '../src/store/test-support.js';
import { diffLines } from '../src/web/manuals/diff.js';
import { loadManualSeeds, seedManuals } from '../src/web/manuals/seeds.js';
import { createWebApp, webContext } from '../src/web/server.js';
import { personalData, scrub } from '../src/web/support/scrub.js';
import { supportLimits } from '../src/web/support/routes.js';
import { addTestAccounts, testAccounts, testClient, testScryptLog2N } from '../src/web/test-support.js';
import type { WebApp } from '../src/web/types.js';
import { formatReference, openCase } from '../src/notify/isp/cases.js';
import { testFinding, testMatch } from '../src/notify/isp/test-support.js';
import { catalogueManuals, composeAlert, loadAlertTemplates, manualBaseUrl } from '../src/notify/isp/alerts.js';
import { compileCatalogue } from '../src/identify/catalogue.js';
import { createSupportModule } from '../src/web/support/index.js';
import { seedCanned } from '../src/web/support/canned-seeds.js';
import { loginModule } from '../src/web/auth/login.js';

const { backends, cleanup } = storeBackends('web-support', { fresh: true });
afterAll(cleanup);

const hostile = '<img src=x onerror=alert(1)> my router keeps rebooting';

describe('manual seeds', () => {
  it('has a manual, in ja and en, for every manual key of the catalogue, listing exactly the models that use it', () => {
    const catalogue = loadCatalogue();
    const seeds = new Map(loadManualSeeds().map((s) => [s.key, s]));
    const keys = new Set(catalogue.entries.map((e) => e.manual).filter((k): k is string => k !== null));
    expect(keys.size).toBeGreaterThan(10);
    for (const key of keys) {
      const s = seeds.get(key);
      expect(s, key).toBeDefined();
      expect(s!.texts.ja.body).toMatch(/^1\. /m);
      expect(s!.texts.en.body).toMatch(/^1\. /m);
      // English, except a Japanese menu name given in parentheses for the reader's screen.
      expect(s!.texts.en.body.replace(/\([^)]*\)/g, '')).not.toMatch(/[ぁ-んァ-ン]/);
      const models = catalogue.entries.filter((e) => e.manual === key).map((e) => `${e.vendor} ${e.model}`);
      expect([...s!.models].sort()).toEqual(models.sort());
    }
    // No seed for a key nobody uses.
    for (const key of seeds.keys()) expect(keys.has(key), key).toBe(true);
  });

  it('diffs lines: removed before added, common lines kept', () => {
    const d = diffLines('a\nb\nc\nd', 'a\nB\nc\nd\ne');
    expect(d.map((x) => `${x.op}:${x.text}`)).toEqual(['same:a', 'del:b', 'add:B', 'same:c', 'same:d', 'add:e']);
    expect(d.find((x) => x.text === 'e')).toMatchObject({ oldNo: null, newNo: 5 });
  });

  it('scrubs mail addresses, references, addresses and long numbers, but not clock times or years', () => {
    const s = scrub('mail me at taro@example.jp about IOTC-2026-000123 from 192.0.2.7, tel 03-1234-5678, at 12:30:45 in 2016');
    expect(s).toBe('mail me at […] about […] from […], tel […], at 12:30:45 in 2016');
    expect(personalData(s)).toBeNull();
    expect(personalData('call 090 1234 5678')).toBe('phone or customer number');
    expect(personalData('fe80::1 is my router')).toBe('IPv6 address');
  });
});

describe.each(backends)('support desk and manuals (%s)', (_name, locate) => {
  let store: Store;
  let app: WebApp;
  let clock = Date.parse('2026-12-01T00:00:00Z');
  let reference: string;
  beforeAll(async () => {
    store = await openStore(await locate());
    await addTestAccounts(store);
    // A case at this (ISP-side) store, for a known model: the desk shows its device.
    reference = formatReference(2026, 42);
    const finding = testFinding('127.0.0.9', 23, '2026-11-30T00:00:00Z', { device: { type: 'router', vendor: 'NEC', model: 'Aterm WG2600HP', firmware: null } });
    await store.cases.save(openCase({ reference, match: testMatch('sub-1', finding), measure: 'subscriber-alert', control: false, ticket: null, step: { at: '2026-11-30T01:00:00Z', by: 'test', note: null } }));
    app = createWebApp(webContext(store, { now: () => clock, scryptLog2N: testScryptLog2N }));
  });
  afterAll(async () => store?.close());

  it('seeds every shipped manual once, and serves it in the asked language with the models and support pages', async () => {
    const client = testClient(app, { 'accept-language': 'en' });
    const list = await (await client.request('/manuals')).text();
    expect(list).toContain('Aterm WG2600HP');
    expect(list).toContain('href="/manuals/nec-aterm"');
    const seeds = loadManualSeeds();
    expect((await store.support.manuals()).map((v) => v.key).sort()).toEqual(seeds.map((s) => s.key).sort());
    // Seeding again adds nothing and keeps version 1.
    expect(await seedManuals(store, seeds, clock)).toEqual([]);
    expect((await store.support.manualHistory('nec-aterm')).map((v) => v.version)).toEqual([1]);

    const en = await (await client.request('/manuals/nec-aterm')).text();
    expect(en).toContain('Securing NEC Aterm routers');
    expect(en).toContain('https://www.aterm.jp/support/verup/wg2600hp/');
    const ja = await (await client.request('/manuals/nec-aterm?lang=ja')).text();
    expect(ja).toContain('管理者パスワードを変更する');
    expect((await client.request('/manuals/no-such-manual')).status).toBe(404);
    expect((await client.request('/manuals/..%2Fetc')).status).toBe(404);
  });

  it('falls back to the other language, and says so', async () => {
    const v = (await store.support.manual('canon-vb'))!;
    await store.support.saveManual('canon-vb', { ja: v.texts.ja! }, 'test', 'ja only', v.version, clock);
    const page = await (await testClient(app, { 'accept-language': 'en' }).request('/manuals/canon-vb')).text();
    expect(page).toContain('id="lang-fallback"');
    expect(page).toContain(v.texts.ja!.title);
  });

  let privateLink = '';
  it('takes a question from /support with the reference: manual first, the hostile text stays inert, a private link', async () => {
    const client = testClient(app, { 'accept-language': 'en' });
    const start = await (await client.request(`/support?ref=${reference}`)).text();
    expect(start).toContain('The device of this reference: NEC Aterm WG2600HP');
    expect(start).toMatch(/<option value="nec-aterm" selected>/);
    const bad = await client.request('/support/new?ref=IOTC-26-1&model=nec-aterm');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('The reference is not valid');
    expect((await client.request('/support/new?model=not-a-manual')).status).toBe(400);

    const form = await (await client.request(`/support/new?ref=${reference}&model=nec-aterm`)).text();
    expect(form).toContain('id="support-manual"');
    expect(form).toContain('Change the administrator password');

    const tooLong = await client.request('/support/new', { method: 'POST', form: { ref: reference, model: 'nec-aterm', question: 'x'.repeat(supportLimits.question + 1) } });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.text()).toContain('too long');
    const badMail = await client.request('/support/new', { method: 'POST', form: { ref: reference, model: 'nec-aterm', question: 'hello', email: 'not-a-mail' } });
    expect(badMail.status).toBe(400);

    const sent = await client.request('/support/new', { method: 'POST', form: { ref: reference, model: 'nec-aterm', question: hostile, email: 'taro@example.test' } });
    expect(sent.status).toBe(303);
    privateLink = sent.headers.get('location')!;
    expect(privateLink).toMatch(/^\/support\/q\/[A-Za-z0-9_-]{43}$/);
    const mine = await client.request(privateLink);
    expect(mine.headers.get('cache-control')).toBe('no-store');
    const text = await mine.text();
    expect(text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(text).not.toContain('<img src=x');
    expect(text).toContain('id="no-answer"');
    // The store keeps the token's hash only, and a made-up token opens nothing.
    const token = privateLink.split('/').pop()!;
    const rows = await store.db.selectFrom('web_support_questions').select(['token_hash']).execute();
    expect(rows.some((r) => r.token_hash === token)).toBe(false);
    expect((await client.request(`/support/q/${'A'.repeat(43)}`)).status).toBe(404);
  });

  it('limits new questions per client address', async () => {
    const client = testClient(app, { 'accept-language': 'en' });
    // One question was sent above from this (socket-less) address; the rest of the hour's allowance:
    for (let i = 1; i < supportLimits.perIp; i++) expect((await client.request('/support/new', { method: 'POST', form: { question: `q ${i}` } })).status).toBe(303);
    const refused = await client.request('/support/new', { method: 'POST', form: { question: 'one too many' } });
    expect(refused.status).toBe(429);
    clock += supportLimits.windowMs + 1;
    expect((await client.request('/support/new', { method: 'POST', form: { question: 'after the hour' } })).status).toBe(303);
  });

  it('keeps the queue and the canned answers to operators, and answers from a canned answer', async () => {
    const anon = testClient(app);
    expect((await anon.request('/ops/support')).status).toBe(303);
    const isp = testClient(app);
    await isp.login(testAccounts.ispA.name, testAccounts.ispA.password);
    expect((await isp.request('/ops/support')).status).toBe(403);
    expect((await isp.request('/ops/manuals')).status).toBe(403);

    const op = testClient(app, { 'accept-language': 'en' });
    await op.login(testAccounts.analyst.name, testAccounts.analyst.password);
    const canned = await op.request('/ops/support/canned', { method: 'POST', form: { model: 'nec-aterm', lang: 'en', title: 'Reboot loop', body: 'Reset the router to factory settings, then change the password (step 1).' } });
    expect(canned.status).toBe(303);
    const forModel = await store.support.canned('nec-aterm');
    const c = forModel.find((a) => a.modelKey === 'nec-aterm');
    expect(c).toMatchObject({ title: 'Reboot loop', modelKey: 'nec-aterm', updatedBy: 'analyst' });
    // The desk's first canned answers (any model) are offered too, and none of another model.
    expect(forModel.filter((a) => a.modelKey === null && a.updatedBy === 'seed')).toHaveLength(6);
    expect(forModel.every((a) => a.modelKey === null || a.modelKey === 'nec-aterm')).toBe(true);
    // Without the CSRF token: refused.
    expect((await op.request('/ops/support/canned', { method: 'POST', form: { _csrf: 'x'.repeat(43), lang: 'en', title: 't', body: 'b' } })).status).toBe(403);

    const queue = await (await op.request('/ops/support?model=nec-aterm')).text();
    expect(queue).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(queue).not.toContain('<img src=x');
    const q = (await store.support.questions({ modelKey: 'nec-aterm' }))[0]!;
    const detail = await (await op.request(`/ops/support/${q.id}`)).text();
    expect(detail).toContain('taro@example.test');
    expect(detail).toContain('NEC Aterm WG2600HP');
    expect(detail).toContain(`data-body="Reset the router`);
    expect((await op.request(`/ops/support/${q.id}/answer`, { method: 'POST', form: { body: '', canned: '' } })).status).toBe(400);
    const answered = await op.request(`/ops/support/${q.id}/answer`, { method: 'POST', form: { body: '', canned: String(c!.id), mark: 'answered' } });
    expect(answered.status).toBe(303);
    const after = (await store.support.question(q.id))!;
    expect(after.status).toBe('answered');
    expect(after.answers).toEqual([expect.objectContaining({ body: c!.body, cannedId: c!.id, by: 'analyst' })]);
    expect((await store.web.auditLog({ action: 'support.answer' }))[0]).toMatchObject({ accountName: 'analyst', target: `question:${q.id}` });
    expect((await store.web.auditLog({ action: 'support.view' })).length).toBeGreaterThan(0);

    // Deleting a canned answer removes it from the list for good (the seeds do not come back).
    const seeded = forModel.find((a) => a.modelKey === null)!;
    expect((await op.request(`/ops/support/canned/${seeded.id}/delete`, { method: 'POST', form: {} })).status).toBe(303);
    expect(await seedCanned(store, clock)).toBe(false);
    expect((await store.support.canned()).some((a) => a.id === seeded.id)).toBe(false);
    expect((await store.web.auditLog({ action: 'support.canned.delete' }))[0]).toMatchObject({ target: `canned:${seeded.id}` });

    // The asker reads the answer on the private link.
    const mine = await (await testClient(app, { 'accept-language': 'en' }).request(privateLink)).text();
    expect(mine).toContain('Reset the router to factory settings');
    expect(mine).toContain('Answered');

    // A follow-up on the private link opens the question again and shows in the queue.
    const asker = testClient(app, { 'accept-language': 'en' });
    expect((await asker.request(privateLink, { method: 'POST', form: { text: 'Done, but <b>still</b> rebooting' } })).status).toBe(303);
    expect((await store.support.question(q.id))!.status).toBe('open');
    expect(await (await asker.request(privateLink)).text()).toContain('Done, but &lt;b&gt;still&lt;/b&gt; rebooting');
    const again = await (await op.request(`/ops/support/${q.id}`)).text();
    expect(again).toContain('Follow-up from the asker');
    expect((await asker.request(`/support/q/${'B'.repeat(43)}`, { method: 'POST', form: { text: 'x' } })).status).toBe(404);
  });

  it('publishes an answered Q&A to the public FAQ only without personal data', async () => {
    const op = testClient(app, { 'accept-language': 'en' });
    await op.login(testAccounts.admin.name, testAccounts.admin.password);
    const q = (await store.support.questions({ modelKey: 'nec-aterm' }))[0]!;
    const detail = await (await op.request(`/ops/support/${q.id}`)).text();
    // The draft is scrubbed already (no mail address in the publish form's text).
    const draft = /<textarea name="question" id="faq-question"[^>]*>([^<]*)<\/textarea>/.exec(detail)![1]!;
    expect(draft).toContain('&lt;img src=x');
    const withMail = await op.request(`/ops/support/${q.id}/publish`, { method: 'POST', form: { model: 'nec-aterm', lang: 'en', question: 'My router reboots; write to taro@example.test', answer: 'Reset it.' } });
    expect(withMail.status).toBe(400);
    expect(await withMail.text()).toContain('personal data (mail address)');
    const ok = await op.request(`/ops/support/${q.id}/publish`, { method: 'POST', form: { model: 'nec-aterm', lang: 'en', question: 'My router keeps rebooting <b>help</b>', answer: 'Reset the router to factory settings, then change the password (step 1).' } });
    expect(ok.status).toBe(303);
    const faq = await (await testClient(app, { 'accept-language': 'en' }).request('/support/faq?model=nec-aterm')).text();
    expect(faq).toContain('My router keeps rebooting &lt;b&gt;help&lt;/b&gt;');
    expect(faq).not.toContain('taro@example.test');
    expect(faq).not.toContain(reference);
    // And on the manual's page.
    expect(await (await testClient(app, { 'accept-language': 'en' }).request('/manuals/nec-aterm')).text()).toContain('My router keeps rebooting');
    // A question without answers cannot be published.
    const open = (await store.support.questions({ status: 'open' }))[0]!;
    expect((await op.request(`/ops/support/${open.id}/publish`, { method: 'POST', form: { lang: 'en', question: 'q', answer: 'a' } })).status).toBe(409);
    // Hiding takes it off the public page.
    const [entry] = await store.support.faq({ modelKey: 'nec-aterm' });
    await op.request(`/ops/support/faq/${entry!.id}/hidden`, { method: 'POST', form: { hidden: '1' } });
    expect(await (await testClient(app, { 'accept-language': 'en' }).request('/support/faq?model=nec-aterm')).text()).not.toContain('My router keeps rebooting');
    expect((await store.web.auditLog({ action: 'support.publish' }))[0]).toMatchObject({ accountName: 'admin' });

    // Closed: the queue lists it after every open question, and the asker can no longer follow up.
    expect((await op.request(`/ops/support/${q.id}/status`, { method: 'POST', form: { status: 'closed' } })).status).toBe(303);
    expect((await op.request(`/ops/support/${q.id}/status`, { method: 'POST', form: { status: 'gone' } })).status).toBe(400);
    const queue = await store.support.questions();
    const lastOpen = queue.map((x) => x.status).lastIndexOf('open');
    expect(lastOpen).toBeGreaterThanOrEqual(0);
    expect(queue.findIndex((x) => x.status !== 'open')).toBeGreaterThan(lastOpen);
    expect(queue.find((x) => x.id === q.id)!.status).toBe('closed');
    expect((await testClient(app).request(privateLink, { method: 'POST', form: { text: 'still there?' } })).status).toBe(409);
    expect((await store.web.auditLog({ action: 'support.status' }))[0]).toMatchObject({ detail: { from: 'open', to: 'closed' } });
  });

  it('saves a manual edit as version 2, keeps version 1, refuses a stale edit, and diffs them', async () => {
    const op = testClient(app, { 'accept-language': 'en' });
    await op.login(testAccounts.analyst.name, testAccounts.analyst.password);
    const v1 = (await store.support.manual('tplink-router'))!;
    const edit = await (await op.request('/ops/manuals/tplink-router/edit')).text();
    expect(edit).toContain('name="based_on" value="1"');
    const body = `${v1.texts.en!.body}8. Script test <script>alert(1)</script>\n`;
    const form = { based_on: '1', title_ja: v1.texts.ja!.title, body_ja: v1.texts.ja!.body, title_en: v1.texts.en!.title, body_en: body, note: 'add step 8' };
    expect((await op.request('/ops/manuals/tplink-router', { method: 'POST', form: { ...form, body_en: v1.texts.en!.body } })).status).toBe(400); // no change
    expect((await op.request('/ops/manuals/tplink-router', { method: 'POST', form: { ...form, title_en: '' } })).status).toBe(400); // half a language
    const saved = await op.request('/ops/manuals/tplink-router', { method: 'POST', form });
    expect(saved.status).toBe(303);
    expect((await store.support.manualHistory('tplink-router')).map((v) => [v.version, v.editedBy, v.note])).toEqual([
      [2, 'analyst', 'add step 8'],
      [1, 'seed', expect.stringMatching(/^seed sha256:/)],
    ]);
    expect((await store.support.manual('tplink-router', 1))!.texts.en!.body).toBe(v1.texts.en!.body);
    const stale = await op.request('/ops/manuals/tplink-router', { method: 'POST', form: { ...form, body_en: `${body}9. more\n` } });
    expect(stale.status).toBe(409);

    const diff = await (await op.request('/ops/manuals/tplink-router/diff?from=1&to=2&lang=en')).text();
    expect(diff).toMatch(/<tr class="diff-add">.*<ins>8\. Script test &lt;script&gt;alert\(1\)&lt;\/script&gt;<\/ins>/);
    expect(diff.match(/class="diff-(add|del)"/g)).toHaveLength(1);
    const same = await (await op.request('/ops/manuals/tplink-router/diff?from=1&to=2&lang=ja')).text();
    expect(same).toContain('id="manual-diff-none"');
    expect((await op.request('/ops/manuals/tplink-router/diff?from=x&to=2')).status).toBe(400);
    // The public page shows version 2, escaped.
    const pub = await (await testClient(app, { 'accept-language': 'en' }).request('/manuals/tplink-router')).text();
    expect(pub).toContain('8. Script test &lt;script&gt;');
    expect(pub).not.toContain('<script>alert(1)');
    expect((await store.web.auditLog({ action: 'manual.edit' }))[0]).toMatchObject({ accountName: 'analyst', target: 'manual:tplink-router', detail: expect.objectContaining({ version: 2 }) });
  });
  it('opens the support page an alert mail links to, with its reference and model', async () => {
    const c = (await store.cases.get(reference))!;
    const mail = composeAlert(loadAlertTemplates(), c, { address: 'a@example.test', language: 'en', name: null }, {
      ispName: 'ISP A',
      desk: { ja: 'desk', en: 'desk' },
      manualBase: manualBaseUrl('https://notice.example.test/'),
      manualFor: catalogueManuals(loadCatalogue()),
    });
    const url = new URL(/https:\/\/notice\.example\.test\/support\/new\S*/.exec(mail.text)![0]);
    expect(url.searchParams.get('ref')).toBe(reference);
    expect(url.searchParams.get('model')).toBe('nec-aterm');
    expect(mail.text).toContain('https://notice.example.test/manuals/nec-aterm');
    const res = await testClient(app, { 'accept-language': 'en' }).request(`${url.pathname}${url.search}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain(`id="ref-shown">${reference}<`);
    expect(text).toContain('id="support-manual"');
  });

  it('lets an operator write the first version of a manual the catalogue names but nobody wrote', async () => {
    const catalogue = compileCatalogue([
      { file: 'test.yaml', data: { entries: [{ vendor: 'Acme', model: 'Cam 1', type: 'camera', releaseYear: null, endOfLife: null, supportUrl: 'https://acme.example.test/support', manual: 'acme-cam', reference: ['https://acme.example.test/'] }] } },
    ]);
    const app2 = createWebApp(webContext(store, { now: () => clock, scryptLog2N: testScryptLog2N }), [loginModule, createSupportModule({ catalogue, seeds: [] })]);
    const op = testClient(app2, { 'accept-language': 'en' });
    await op.login(testAccounts.admin.name, testAccounts.admin.password);
    expect(await (await op.request('/ops/manuals')).text()).toContain('href="/ops/manuals/acme-cam/edit"');
    expect(await (await op.request('/ops/manuals/acme-cam/edit')).text()).toContain('name="based_on" value="0"');
    // A key the catalogue does not use cannot be made up.
    expect((await op.request('/ops/manuals/made-up/edit')).status).toBe(404);
    const saved = await op.request('/ops/manuals/acme-cam', { method: 'POST', form: { based_on: '0', title_ja: '', body_ja: '', title_en: 'Securing Acme cameras', body_en: '1. Change the password\n   See the maker\'s manual.\n', note: 'first' } });
    expect(saved.status).toBe(303);
    expect((await store.support.manual('acme-cam'))).toMatchObject({ version: 1, editedBy: 'admin', texts: { en: { title: 'Securing Acme cameras' } } });
    // Japanese readers get the English text, said so.
    expect(await (await testClient(app2, { 'accept-language': 'ja' }).request('/manuals/acme-cam')).text()).toContain('id="lang-fallback"');
    // A second "first version" is refused: it would overwrite.
    expect((await op.request('/ops/manuals/acme-cam', { method: 'POST', form: { based_on: '0', title_ja: '', body_ja: '', title_en: 'Other', body_en: 'x', note: '' } })).status).toBe(409);
  });
});
