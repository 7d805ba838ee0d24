/**
 * The public site on both store back ends: home (ja/en), the self-check of the client's own
 * address (a real listener on a 127.x "device", reached through the scope guard), its rate limit
 * and cross-site refusal, the survey page, and opt-outs verified from the network or through the
 * abuse contact's mail (the lab's real SMTP server), approved into stored exclusions.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLabMailbox, type LabMailbox } from '../src/lab/mailbox.js';
import { parseContacts } from '../src/notify/contacts.js';
import { finding } from '../src/notify/test-support.js';
import { parseIspTable } from '../src/scope/isp.js';
import { compileScope, defaultScope, restrictScope } from '../src/scope/scope.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { storeBackends } from '../src/store/test-support.js';
import { createWebApp, webContext } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testClient, testScryptLog2N, withOwnOrigin } from '../src/web/test-support.js';
import type { WebApp } from '../src/web/types.js';
import { contentSecurityPolicy } from '../src/web/security.js';

const { backends, cleanup } = storeBackends('web-public', { fresh: true });

// A /24 of its own per process, so parallel runs do not share listeners.
const net24 = `127.66.${process.pid % 250}`;
const device = `${net24}.10`; // has a "telnet" on 2323
const quiet = `${net24}.11`; // nothing listens

let listener: net.Server;
let mailbox: LabMailbox;
beforeAll(async () => {
  listener = net.createServer((s) => s.on('error', () => {}).end());
  await new Promise<void>((resolve, reject) => listener.once('error', reject).listen(2323, device, resolve));
  mailbox = await startLabMailbox({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await new Promise((r) => listener?.close(r));
  await mailbox?.close();
  await cleanup();
});

/** An anonymous request that arrives from a trusted proxy (127.0.0.1) for the client `from`. */
const anon = (app: WebApp, path: string, from: string, init: RequestInit & { form?: Record<string, string> } = {}) => {
  const headers = withOwnOrigin(new Headers(init.headers), init.method);
  headers.set('x-forwarded-for', from);
  let body = init.body;
  if (init.form) {
    body = new URLSearchParams(init.form).toString();
    headers.set('content-type', 'application/x-www-form-urlencoded');
  }
  const { form: _f, ...rest } = init;
  return app.request(`http://127.0.0.1${path}`, { ...rest, headers, ...(body !== undefined ? { body } : {}) }, { incoming: { socket: { remoteAddress: '127.0.0.1' } } });
};

describe.each(backends)('public site (%s)', (_name, locate) => {
  let store: Store;
  let app: WebApp;
  const clock = Date.parse('2026-12-01T00:00:00Z');
  let now = clock;
  beforeAll(async () => {
    store = await openStore(await locate());
    await addTestAccounts(store, { ispA: 'isp-a' });
    const { id: _id, ...f } = finding('isp-a', 1, { ip: device, port: 2323, details: { entry: 'mirai-042', username: 'admin', authType: 'telnet' }, device: { type: 'camera', vendor: '<script>alert(1)</script>', model: 'CAM-9', firmware: null } });
    await store.findings.record([f]);
    const ispTable = parseIspTable(`prefix,isp_id,name,participating,parent\n${net24}.0/24,isp-a,ISP A 光,yes,\n127.67.0.0/16,isp-b,ISP B,yes,\n`, 'isps.csv');
    const contacts = parseContacts('isp_id,email,language\nisp-a,abuse@isp-a.invalid,en\n', 'contacts.csv');
    app = createWebApp(
      webContext(store, {
        now: () => now,
        scryptLog2N: testScryptLog2N,
        trustProxy: ['127.0.0.1'],
        publicUrl: 'http://127.0.0.1:9',
        smtp: mailbox.url,
        ispTable,
        contacts,
        survey: { sourceAddresses: ['127.0.0.53', '127.0.0.54'], contact: 'survey-desk@example.invalid', operator: 'Lab CERT' },
        // The live check may reach this test's /24 only.
        selfCheck: { scope: restrictScope(compileScope(defaultScope()), [`${net24}.0/24`]), timeoutMs: 1000 },
      }),
    );
  });
  afterAll(async () => store?.close());

  it('home explains the harm and the remedies in ja and en, links the other pages, under the strict CSP', async () => {
    const ja = await app.request('http://127.0.0.1/?lang=ja');
    expect(ja.status).toBe(200);
    expect(ja.headers.get('content-security-policy')).toBe(contentSecurityPolicy);
    const jt = await ja.text();
    expect(jt).toContain('Mirai');
    expect(jt).toContain('パスワード');
    const en = await (await app.request('http://127.0.0.1/?lang=en')).text();
    expect(en).toContain('botnet');
    expect(en).toContain('Change the default password');
    for (const path of ['/manuals', '/check', '/stats', '/support', '/about-survey']) expect(en).toContain(`href="${path}"`);
    expect(en).not.toMatch(/<script>(?!<\/script>)|style="|onclick=/);
  });

  it('checks only the address the request comes from: the open port, the closed ones, and the record (escaped)', async () => {
    // The form names another address: it is not read.
    const res = await anon(app, '/check?lang=en', device, { method: 'POST', form: { ip: '127.0.0.1', target: '127.0.0.1' } });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain(`Result for ${device}`);
    expect(body).toMatch(/<tr class="port-open" data-port="2323">.*Telnet.*open.*attacked just like port 23/s);
    expect(body).toMatch(/<tr class="port-closed" data-port="23">/);
    expect((body.match(/class="port-open"/g) ?? []).length).toBe(1);
    // The finding on record, its device text escaped, no evidence internals.
    expect(body).toContain('Weak ID/password');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).not.toContain('<script>alert(1)');
    expect(body).not.toContain('mirai-042');
    const log = await store.web.auditLog({ action: 'selfcheck' });
    expect(log[0]).toMatchObject({ ip: device, target: device, detail: { live: true, open: [2323], findings: 1 } });
  });

  it('shows no live check outside the scope, but still the record; IPv6 clients get the same', async () => {
    const outside = await (await anon(app, '/check?lang=en', '127.68.0.1', { method: 'POST', form: {} })).text();
    expect(outside).toContain('no live check is possible here');
    expect(outside).toContain('No problem is on record');
    const v6 = await (await anon(app, '/check?lang=ja', '::1', { method: 'POST', form: {} })).text();
    expect(v6).toContain('簡易チェックは行えません');
  });

  it('limits checks per address (429 with Retry-After and when to retry), and refuses cross-site posts', async () => {
    const from = quiet;
    for (let i = 0; i < 3; i++) expect((await anon(app, '/check', from, { method: 'POST', form: {} })).status).toBe(200);
    const limited = await anon(app, '/check?lang=en', from, { method: 'POST', form: {} });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(3000);
    expect(await limited.text()).toContain('Try again after');
    // Another address is not affected; after the hour this one may check again.
    expect((await anon(app, '/check', `${net24}.12`, { method: 'POST', form: {} })).status).toBe(200);
    now += 3600_000 + 1;
    expect((await anon(app, '/check', from, { method: 'POST', form: {} })).status).toBe(200);
    const cross = await anon(app, '/check', `${net24}.13`, { method: 'POST', form: {}, headers: { origin: 'http://evil.example' } });
    expect(cross.status).toBe(403);
    expect(await store.optouts.uses('selfcheck', `${net24}.13`, 0)).toBe(0);
  });

  it('the survey page names its purpose, limits, source addresses, contact, User-Agent and the opt-out', async () => {
    const body = await (await app.request('http://127.0.0.1/about-survey?lang=en')).text();
    expect(body).toContain('runs no command');
    expect(body).toContain('logs out at once');
    expect(body).toContain('<code>127.0.0.53</code>');
    expect(body).toContain('survey-desk@example.invalid');
    expect(body).toMatch(/iotclean survey; \+https?:\/\/[^)]+\/about-survey\)/);
    expect(body).toContain('href="/optout"');
  });

  it('an opt-out sent from inside the network is verified, and an operator approves it into an exclusion', async () => {
    const res = await anon(app, '/optout?lang=en', device, { method: 'POST', form: { cidr: `${net24}.0/24`, email: 'owner@example.invalid', reason: 'my <b>lab</b>' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('sent from inside the network');
    const [r] = await store.optouts.listOptouts();
    expect(r).toMatchObject({ cidr: `${net24}.0/24`, state: 'verified', verification: 'from-network', clientIp: device });

    // ISP users may not see the list; operators may, and approve.
    const isp = testClient(app);
    await isp.login(testAccounts.ispA.name, testAccounts.ispA.password);
    expect((await isp.request('/ops/optouts')).status).toBe(403);
    expect((await app.request('http://127.0.0.1/ops/optouts')).status).toBe(303);
    const op = testClient(app, { 'accept-language': 'en' });
    await op.login(testAccounts.analyst.name, testAccounts.analyst.password);
    const list = await (await op.request('/ops/optouts')).text();
    expect(list).toContain('my &lt;b&gt;lab&lt;/b&gt;');
    expect(list).toContain(`id="approve-${r!.id}"`);
    // Without the CSRF token nothing happens.
    expect((await op.request(`/ops/optouts/${r!.id}/approve`, { method: 'POST', form: { _csrf: 'x'.repeat(43) } })).status).toBe(403);
    expect(await store.optouts.excludedRanges()).toEqual([]);
    const approved = await op.request(`/ops/optouts/${r!.id}/approve`, { method: 'POST', form: {} });
    expect(approved.status).toBe(303);
    expect(await store.optouts.excludedRanges()).toEqual([r!.range]);
    expect((await store.optouts.optout(r!.id))).toMatchObject({ state: 'approved', decidedBy: 'analyst' });
    expect((await store.web.auditLog({ action: 'optout.approve' }))[0]).toMatchObject({ accountName: 'analyst', target: `${net24}.0/24` });
    // The self-check honours the exclusion too: no live probe into the opted-out network.
    const check = await (await anon(app, '/check?lang=en', `${net24}.50`, { method: 'POST', form: {} })).text();
    expect(check).toContain('no live check is possible here');
    // Approving twice is a conflict, not a second exclusion.
    expect((await op.request(`/ops/optouts/${r!.id}/approve`, { method: 'POST', form: {} })).status).toBe(409);
    expect(await store.optouts.exclusions()).toHaveLength(1);
  });

  it('an opt-out from elsewhere mails the abuse contact an unguessable link; opening it shows, confirming verifies once', async () => {
    const before = mailbox.messages.length;
    const res = await anon(app, '/optout?lang=en', '127.99.0.1', { method: 'POST', form: { cidr: `${net24}.128/25`, email: 'someone@example.invalid', reason: '' } });
    const text = await res.text();
    expect(text).toContain('A confirmation mail went to the registered abuse contact of this network (ISP A 光)');
    expect(text).not.toContain('abuse@isp-a.invalid');
    expect(mailbox.messages.length).toBe(before + 1);
    const mail = mailbox.messages.at(-1)!;
    expect(mail.to).toEqual(['abuse@isp-a.invalid']);
    const raw = mail.raw.toString('utf8').replace(/=\r?\n/g, '');
    const link = /http:\/\/127\.0\.0\.1:9(\/optout\/confirm\/[A-Za-z0-9_-]{43})/.exec(raw);
    expect(link).not.toBeNull();
    const r = (await store.optouts.listOptouts({ state: 'pending' }))[0]!;
    expect(r).toMatchObject({ cidr: `${net24}.128/25`, verification: null, contactIsp: 'isp-a' });
    // The token is stored only as its hash.
    const row = await store.db.selectFrom('optout_requests').select('token_hash').where('id', '=', r.id).executeTakeFirstOrThrow();
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(raw).not.toContain(row.token_hash!);

    const shown = await anon(app, `${link![1]!}?lang=en`, '127.99.0.2');
    expect(shown.status).toBe(200);
    expect((await store.optouts.optout(r.id))!.state).toBe('pending');
    expect((await anon(app, '/optout/confirm/' + 'A'.repeat(43), '127.99.0.2', { method: 'POST', form: {} })).status).toBe(404);
    const confirmed = await anon(app, `${link![1]!}?lang=en`, '127.99.0.2', { method: 'POST', form: {} });
    expect(confirmed.status).toBe(200);
    expect(await store.optouts.optout(r.id)).toMatchObject({ state: 'verified', verification: 'abuse-contact' });
    expect((await anon(app, link![1]!, '127.99.0.2', { method: 'POST', form: {} })).status).toBe(404);
  });

  it('a request no contact can confirm stays pending and cannot be approved; bad input is a 400 naming the field', async () => {
    const res = await anon(app, '/optout?lang=en', '127.99.0.1', { method: 'POST', form: { cidr: '127.67.1.0/24', email: 'x@example.invalid' } });
    expect(await res.text()).toContain('cannot be verified automatically');
    const r = (await store.optouts.listOptouts({ state: 'pending' })).find((x) => x.cidr === '127.67.1.0/24')!;
    expect(r.mailStatus).toBe('no abuse contact known');
    const op = testClient(app);
    await op.login(testAccounts.admin.name, testAccounts.admin.password);
    expect((await op.request(`/ops/optouts/${r.id}/approve`, { method: 'POST', form: {} })).status).toBe(409);
    expect((await op.request(`/ops/optouts/${r.id}/reject`, { method: 'POST', form: {} })).status).toBe(303);
    expect((await store.optouts.optout(r.id))!.state).toBe('rejected');

    for (const cidr of ['127.67.1.1/24', '10.0.0.0/4', '127.0.0.1-127.0.0.9', 'example.com']) {
      const bad = await anon(app, '/optout?lang=en', '127.99.0.1', { method: 'POST', form: { cidr, email: 'x@example.invalid' } });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toContain('IPv4 CIDR block');
    }
    const badMail = await anon(app, '/optout?lang=en', '127.99.0.1', { method: 'POST', form: { cidr: '127.67.2.0/24', email: 'not an address' } });
    expect(badMail.status).toBe(400);
    expect(await badMail.text()).toContain('the email address is not valid');
    expect((await anon(app, '/optout', '127.99.0.1', { method: 'POST', form: { cidr: '127.67.2.0/24', email: 'x@example.invalid' }, headers: { origin: 'http://evil.example' } })).status).toBe(403);
  });

  it('limits opt-out requests per address a day', async () => {
    for (let i = 0; i < 5; i++) expect((await anon(app, '/optout', '127.99.0.3', { method: 'POST', form: { cidr: `127.67.${10 + i}.0/24`, email: 'x@example.invalid' } })).status).toBe(200);
    const sixth = await anon(app, '/optout?lang=en', '127.99.0.3', { method: 'POST', form: { cidr: '127.67.20.0/24', email: 'x@example.invalid' } });
    expect(sixth.status).toBe(429);
    expect(await sixth.text()).toContain('Too many requests from this address');
    expect((await store.optouts.listOptouts()).filter((r) => r.clientIp === '127.99.0.3')).toHaveLength(5);
  });

  it('lets no more than the limit through when requests race (several connections on PostgreSQL)', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => store.optouts.take('selfcheck', '127.98.0.1', now, 3600_000, 3)));
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
    expect(await store.optouts.uses('selfcheck', '127.98.0.1', 0)).toBe(3);
    const refused = results.find((r) => !r.allowed)!;
    expect(refused.retryAtMs).toBe(now + 3600_000);
  });
});
