/**
 * The ISP portal's isolation and the operators' account and audit pages, on both back ends:
 * ISP A sees only its own findings and batches and cannot reach ISP B's by URL, by query parameter
 * or through the API (its own token answers 404; no token or a revoked one 401); case reports need
 * the CSRF token; account administration needs the admin role; disabling logs the user out; views
 * and changes are audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../src/core/records.js';
import { sampleFinding } from '../src/findings/test-support.js';
import { parseCsv } from '../src/notify/test-support.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { storeBackends } from '../src/store/test-support.js';
import { reportedStatus } from '../src/web/portal/index.js';
import { createWebApp, webContext } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testClient, testOrigin, testScryptLog2N } from '../src/web/test-support.js';
import type { WebApp } from '../src/web/types.js';

const { backends, cleanup } = storeBackends('web-portal', { fresh: true });
afterAll(cleanup);

const hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>';

/** The page's main part (the shell's language link names the path asked for). */
const mainOf = async (res: Response): Promise<string> => /<main[^>]*>([\s\S]*)<\/main>/.exec(await res.text())?.[1] ?? '';

const forA = (ip: string, over: Partial<Finding> = {}): Finding => sampleFinding('weak-credential', { ip, isp: 'isp-a', prefixOwner: 'isp-a', ...over });
const forB = (ip: string, over: Partial<Finding> = {}): Finding => sampleFinding('weak-credential', { ip, isp: 'isp-b', prefixOwner: 'isp-b', ...over });

describe.each(backends)('ISP portal (%s)', (_name, locate) => {
  let store: Store;
  let app: WebApp;
  let aIds: number[];
  let bIds: number[];
  let unbatchedA = 0;
  const ticketA = 'IOTC-20261201-isp-a-0001';
  const ticketB = 'IOTC-20261201-isp-b-0001';
  let clock = Date.parse('2026-12-01T09:00:00Z');

  beforeAll(async () => {
    store = await openStore(await locate());
    await addTestAccounts(store);
    aIds = await store.findings.record([
      forA('127.61.0.1'),
      forA('127.61.0.2', { port: 2323, device: { type: 'camera', vendor: 'Evil', model: hostile, firmware: null } }),
      sampleFinding('infected', { ip: '127.61.0.3', isp: 'isp-a', prefixOwner: 'isp-a' }),
    ]);
    bIds = await store.findings.record([forB('127.62.0.1'), forB('127.62.0.2')]);
    // One more of A's after its batch: not notified yet.
    unbatchedA = (await store.findings.record([forA('127.61.0.9')]))[0]!;
    for (const [ticket, isp, ids] of [
      [ticketA, 'isp-a', aIds],
      [ticketB, 'isp-b', bIds],
    ] as const) {
      await store.notifications.create({ ticket, isp, createdAt: '2026-12-01T08:00:00.000Z', findingCount: ids.length, afterFindingId: 0, maxFindingId: Math.max(...ids), counts: { 'weak-credential': ids.length }, files: [] });
    }
    app = createWebApp(webContext(store, { now: () => clock, scryptLog2N: testScryptLog2N }));
  }, 60_000);
  afterAll(async () => store?.close());

  const loggedIn = async (who: keyof typeof testAccounts) => {
    const client = testClient(app, { 'accept-language': 'en' });
    const res = await client.login(testAccounts[who].name, testAccounts[who].password);
    expect(res.status).toBe(303);
    return client;
  };

  it('shows ISP A its own findings only, escaped, whatever the query says', async () => {
    const a = await loggedIn('ispA');
    const page = await (await a.request('/isp/findings')).text();
    for (const ip of ['127.61.0.1', '127.61.0.2', '127.61.0.3', '127.61.0.9']) expect(page).toContain(ip);
    expect(page).not.toContain('127.62.0.');
    expect(page).not.toContain('<script>alert');
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    // Another ISP named in the query is ignored: still A's own.
    const asked = await (await a.request('/isp/findings?isp=isp-b')).text();
    expect(asked).toContain('127.61.0.1');
    expect(asked).not.toContain('127.62.0.');
    // Filters: kind, port; a bad one is a 400 naming it.
    const infected = await (await a.request('/isp/findings?kind=infected')).text();
    expect(infected).toContain('127.61.0.3');
    expect(infected).not.toContain('127.61.0.1<');
    const port = await (await a.request('/isp/findings?port=2323')).text();
    expect(port).toContain('127.61.0.2');
    expect(port).not.toContain('127.61.0.1<');
    const bad = await a.request('/isp/findings?port=70000');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('port');
    // The summary counts A's findings only.
    const summary = await (await a.request('/isp')).text();
    expect(summary).toMatch(/id="total-findings">4</);
    expect(summary).toContain(ticketA);
    expect(summary).not.toContain(ticketB);
  });

  it('pages by keyset, newest first', async () => {
    const a = await loggedIn('ispA');
    const page = await (await a.request(`/isp/findings?before=${aIds[2]}`)).text();
    expect(page).toContain('127.61.0.1');
    expect(page).toContain('127.61.0.2');
    expect(page).not.toContain('127.61.0.3');
    expect(page).not.toContain('127.61.0.9');
  });

  it("answers 404 for B's finding and batch exactly as for unknown ones", async () => {
    const a = await loggedIn('ispA');
    const theirs = await a.request(`/isp/findings/${bIds[0]}`);
    const unknown = await a.request('/isp/findings/999999');
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    const refused = await mainOf(theirs);
    expect(refused).toContain('There is no such finding.');
    expect(refused).toBe(await mainOf(unknown));
    const own = await a.request(`/isp/findings/${aIds[0]}`);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('127.61.0.1');
    const batches = await (await a.request('/isp/batches')).text();
    expect(batches).toContain(ticketA);
    expect(batches).not.toContain(ticketB);
    const theirBatch = await a.request(`/isp/batches/${ticketB}/download?format=csv`);
    const noBatch = await a.request('/isp/batches/IOTC-20261201-isp-x-0001/download?format=csv');
    expect(theirBatch.status).toBe(404);
    const refusedBatch = await mainOf(theirBatch);
    expect(refusedBatch).toContain('There is no such batch.');
    expect(refusedBatch).toBe(await mainOf(noBatch));
    // Reporting on B's finding is refused the same way.
    const report = await a.request(`/isp/cases/${bIds[0]}`, { method: 'POST', form: { status: 'fixed' } });
    expect(report.status).toBe(404);
    expect(await store.portal.history(bIds[0]!)).toEqual([]);
  });

  it('downloads its findings and batches as CSV, JSON and IntelMQ, its own only', async () => {
    const a = await loggedIn('ispA');
    const csv = await a.request('/isp/findings/download?format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/attachment; filename="export-isp-a-\d{8}\.csv"/);
    const rows = parseCsv(await csv.text());
    const ipCol = rows[0]!.indexOf('ip');
    expect(rows.slice(1).filter((r) => r.length > 1).map((r) => r[ipCol]).sort()).toEqual(['127.61.0.1', '127.61.0.2', '127.61.0.3', '127.61.0.9']);
    const bom = await (await a.request('/isp/findings/download?format=csv&bom=1')).arrayBuffer();
    expect([...new Uint8Array(bom).slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const json = (await (await a.request('/isp/findings/download?format=json&port=2323')).json()) as { findings: Finding[]; count: number };
    expect(json.count).toBe(1);
    expect(json.findings[0]!.device.model).toBe(hostile);
    const batch = await (await a.request(`/isp/batches/${ticketA}/download?format=intelmq`)).text();
    const lines = batch.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(batch).not.toContain('127.62.');
    expect(batch).not.toContain('127.61.0.9');
  });

  it('issues, uses and revokes API tokens; the API keeps B out', async () => {
    const a = await loggedIn('ispA');
    const issued = await a.request('/isp/tokens', { method: 'POST', form: { label: 'automation' } });
    expect(issued.status).toBe(200);
    const token = /id="new-token">([^<]+)</.exec(await issued.text())?.[1];
    expect(token).toMatch(/^iotc_[A-Za-z0-9_-]{43}$/);
    // Only the digest is stored.
    const rows = await store.db.selectFrom('web_api_tokens').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(token!.slice(5));
    const api = (path: string, bearer?: string) => app.request(`http://127.0.0.1${path}`, bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {});
    const list = (await (await api('/api/v1/batches', token)).json()) as { isp: string; batches: { ticket: string }[] };
    expect(list).toMatchObject({ isp: 'isp-a' });
    expect(list.batches.map((b) => b.ticket)).toEqual([ticketA]);
    expect((await api(`/api/v1/batches/${ticketB}`, token)).status).toBe(404);
    expect((await api(`/api/v1/batches/${ticketA}?format=csv`, token)).status).toBe(200);
    const findings = (await (await api('/api/v1/findings', token)).json()) as { findings: Finding[] };
    expect(findings.findings.map((f) => f.isp)).toEqual(['isp-a', 'isp-a', 'isp-a', 'isp-a']);
    expect((await api('/api/v1/batches')).status).toBe(401);
    expect((await api('/api/v1/batches', 'iotc_not-a-real-token')).status).toBe(401);
    // The token's use is recorded and audited under the ISP.
    const listed = await (await a.request('/isp/tokens')).text();
    expect(listed).toContain('automation');
    expect(listed).not.toContain(token!);
    expect((await store.web.auditLog({ action: 'download' })).some((e) => e.accountName === 'api:isp-a' && e.target === `/api/v1/batches/${ticketA}`)).toBe(true);
    // B cannot revoke A's token; A can.
    const { id } = (await store.portal.tokens('isp-a'))[0]!;
    const b = await loggedIn('ispB');
    expect((await b.request(`/isp/tokens/${id}/revoke`, { method: 'POST', form: {} })).status).toBe(404);
    expect((await api('/api/v1/batches', token)).status).toBe(200);
    expect((await a.request(`/isp/tokens/${id}/revoke`, { method: 'POST', form: {} })).status).toBe(303);
    const revoked = await api('/api/v1/batches', token);
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('records case reports with history, only with the CSRF token and only for notified findings', async () => {
    const a = await loggedIn('ispA');
    const id = aIds[0]!;
    const forged = await a.request(`/isp/cases/${id}`, { method: 'POST', form: { status: 'fixed', _csrf: 'x'.repeat(43) } });
    expect(forged.status).toBe(403);
    const none = await app.request(`http://127.0.0.1/isp/cases/${id}`, { method: 'POST', body: 'status=fixed', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: testOrigin } });
    expect(none.status).toBe(401);
    expect(await store.portal.history(id)).toEqual([]);
    const badStatus = await a.request(`/isp/cases/${id}`, { method: 'POST', form: { status: 'done-ish' } });
    expect(badStatus.status).toBe(400);
    expect(await badStatus.text()).toContain('status');
    expect((await a.request(`/isp/cases/${id}`, { method: 'POST', form: { status: 'contacted', note: 'mailed the subscriber', back: 'cases' } })).status).toBe(303);
    clock += 60_000;
    const second = await a.request(`/isp/cases/${id}`, { method: 'POST', form: { status: 'fixed', back: 'finding' } });
    expect(second.headers.get('location')).toBe(`/isp/findings/${id}?reported=1`);
    const history = await store.portal.history(id);
    expect(history.map((h) => [h.status, h.note, h.accountName])).toEqual([
      ['contacted', 'mailed the subscriber', 'isp-a'],
      ['fixed', null, 'isp-a'],
    ]);
    expect((await reportedStatus(store, [id, aIds[1]!])).get(id)).toMatchObject({ status: 'fixed', isp: 'isp-a' });
    expect((await reportedStatus(store, [aIds[1]!])).size).toBe(0);
    // Not yet in a batch: nothing to report on.
    expect((await a.request(`/isp/cases/${unbatchedA}`, { method: 'POST', form: { status: 'open' } })).status).toBe(409);
    const cases = await (await a.request('/isp/cases?status=fixed')).text();
    expect(cases).toContain(`data-finding="${id}"`);
    expect(cases).not.toContain(`data-finding="${aIds[1]}"`);
    const unreported = await (await a.request('/isp/cases?status=unreported')).text();
    expect(unreported).toContain(`data-finding="${aIds[1]}"`);
    expect(unreported).not.toContain(`data-finding="${id}"`);
    expect(unreported).not.toContain(`data-finding="${unbatchedA}"`);
    const page = await (await a.request(`/isp/findings/${id}`)).text();
    expect(page).toContain('mailed the subscriber');
  });

  it("lists the ISP-side cases this store holds, the ISP's own only", async () => {
    const base = { subscriber: 'sub-1', findingKind: 'weak-credential', port: 23, measure: 'subscriber-alert', state: 'alerted', alertsDelivered: 1, device: { type: 'router', vendor: 'Acme', model: hostile, firmware: null }, tickets: [ticketA], openedAt: '2026-12-01T09:00:00.000Z', updatedAt: '2026-12-01T09:00:00.000Z', transitions: [{ from: null, to: 'new', at: '2026-12-01T09:00:00.000Z', by: 'iotclean isp alert', note: null }], control: false, lastIp: '127.61.0.1', lastSeenAt: '2026-12-01T09:00:00.000Z', contact: null } as const;
    await store.cases.save({ ...base, reference: 'IOTC-2026-000001', isp: 'isp-a' });
    await store.cases.save({ ...base, reference: 'IOTC-2026-000002', isp: 'isp-b', subscriber: 'sub-2' });
    const a = await loggedIn('ispA');
    const page = await (await a.request('/isp/cases')).text();
    expect(page).toContain('id="isp-cases"');
    expect(page).toContain('IOTC-2026-000001');
    expect(page).not.toContain('IOTC-2026-000002');
    expect(page).not.toContain('<script>alert');
  });

  it('keeps operators out of the portal and ISPs out of operator pages', async () => {
    const analyst = await loggedIn('analyst');
    expect((await analyst.request('/isp/findings')).status).toBe(403);
    const a = await loggedIn('ispA');
    expect((await a.request('/ops/accounts')).status).toBe(403);
    expect((await a.request('/ops/audit')).status).toBe(403);
    const anonymous = await app.request('http://127.0.0.1/isp/findings');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toBe('/login?next=%2Fisp%2Ffindings');
  });

  it('lets only admins manage accounts; disabling logs the user out, a reset ends the old password', async () => {
    const analyst = await loggedIn('analyst');
    expect((await analyst.request('/ops/accounts')).status).toBe(403);
    expect((await analyst.request('/ops/accounts', { method: 'POST', form: { name: 'sneaky', role: 'admin', password: 'long-enough-password' } })).status).toBe(403);
    expect(await store.web.accountByName('sneaky')).toBeUndefined();
    const admin = await loggedIn('admin');
    expect((await admin.request('/ops/accounts')).status).toBe(200);
    const short = await admin.request('/ops/accounts', { method: 'POST', form: { name: 'isp-c-user', role: 'isp', isp: 'isp-c', password: 'short' } });
    expect(short.status).toBe(400);
    expect(await short.text()).toContain('12 characters');
    const noIsp = await admin.request('/ops/accounts', { method: 'POST', form: { name: 'isp-c-user', role: 'isp', password: 'a-long-enough-passphrase' } });
    expect(noIsp.status).toBe(400);
    expect(await noIsp.text()).toContain('isp');
    const made = await admin.request('/ops/accounts', { method: 'POST', form: { name: 'isp-c-user', role: 'isp', isp: 'isp-c', displayName: 'ISP C desk', password: 'a-long-enough-passphrase' } });
    expect(made.status).toBe(303);
    const again = await admin.request('/ops/accounts', { method: 'POST', form: { name: 'isp-c-user', role: 'isp', isp: 'isp-c', password: 'a-long-enough-passphrase' } });
    expect(again.status).toBe(409);
    const user = testClient(app);
    expect((await user.login('isp-c-user', 'a-long-enough-passphrase')).headers.get('location')).toBe('/isp');
    expect((await user.request('/isp')).status).toBe(200);
    const account = (await store.web.accountByName('isp-c-user'))!.account;
    expect(account).toMatchObject({ role: 'isp', isp: 'isp-c', displayName: 'ISP C desk' });
    // Disabling ends the user's session at once.
    expect((await admin.request(`/ops/accounts/${account.id}/disable`, { method: 'POST', form: {} })).status).toBe(303);
    const after = await user.request('/isp');
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toMatch(/^\/login/);
    expect((await testClient(app).login('isp-c-user', 'a-long-enough-passphrase')).status).toBe(400);
    // An admin cannot disable itself.
    const adminId = (await store.web.accountByName('admin'))!.account.id;
    expect((await admin.request(`/ops/accounts/${adminId}/disable`, { method: 'POST', form: {} })).status).toBe(409);
    expect((await admin.request(`/ops/accounts/${account.id}/enable`, { method: 'POST', form: {} })).status).toBe(303);
    expect((await admin.request(`/ops/accounts/${account.id}/password`, { method: 'POST', form: { password: 'another-long-passphrase' } })).status).toBe(303);
    expect((await testClient(app).login('isp-c-user', 'a-long-enough-passphrase')).status).toBe(400);
    expect((await testClient(app).login('isp-c-user', 'another-long-passphrase')).status).toBe(303);
    // A form without the CSRF token changes nothing.
    const forged = await admin.request(`/ops/accounts/${account.id}/disable`, { method: 'POST', form: { _csrf: 'y'.repeat(43) } });
    expect(forged.status).toBe(403);
    expect((await store.web.account(account.id))!.disabled).toBe(false);
    // Admins see every ISP's tokens (never the token) and can revoke one.
    const b = await loggedIn('ispB');
    const token = /id="new-token">([^<]+)</.exec(await (await b.request('/isp/tokens', { method: 'POST', form: { label: 'b-sync' } })).text())![1]!;
    const accounts = await (await admin.request('/ops/accounts')).text();
    expect(accounts).toContain('b-sync');
    expect(accounts).not.toContain(token);
    const bToken = (await store.portal.tokens('isp-b'))[0]!;
    expect((await analyst.request(`/ops/accounts/tokens/${bToken.id}/revoke`, { method: 'POST', form: { isp: 'isp-b' } })).status).toBe(403);
    expect((await admin.request(`/ops/accounts/tokens/${bToken.id}/revoke`, { method: 'POST', form: { isp: 'isp-a' } })).status).toBe(404);
    expect((await app.request('http://127.0.0.1/api/v1/batches', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await admin.request(`/ops/accounts/tokens/${bToken.id}/revoke`, { method: 'POST', form: { isp: 'isp-b' } })).status).toBe(303);
    expect((await app.request('http://127.0.0.1/api/v1/batches', { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await store.portal.tokens('isp-b'))[0]).toMatchObject({ revokedBy: 'admin' });
    const log = await store.web.auditLog({ accountId: adminId });
    expect(log.map((e) => e.action)).toEqual(expect.arrayContaining(['account.create', 'account.disable', 'account.enable', 'account.password', 'token.revoke']));
    expect(log.find((e) => e.action === 'account.disable')).toMatchObject({ target: 'isp-c-user', detail: { sessionsEnded: 1 } });
  });

  it('audits views and downloads, and shows the log to operators with filters', async () => {
    const a = await loggedIn('ispA');
    await a.request(`/isp/findings/${aIds[1]}`);
    await a.request(`/isp/findings/${bIds[1]}`);
    const ispA = (await store.web.accountByName('isp-a'))!.account;
    const log = await store.web.auditLog({ accountId: ispA.id });
    const seen = log.map((e) => `${e.action} ${e.target}`);
    expect(seen).toEqual(expect.arrayContaining([`view finding:${aIds[1]}`, `view.refused finding:${bIds[1]}`, 'view /isp/findings', 'download findings', `download batch:${ticketA}`, `case.report finding:${aIds[0]}`, 'token.create token:1']));
    const analyst = await loggedIn('analyst');
    const page = await analyst.request('/ops/audit?account=isp-a&action=view.refused');
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain(`finding:${bIds[1]}`);
    expect(text).toContain('<td>view.refused</td>');
    expect(text).not.toContain('<td>view</td>');
    expect(text).not.toContain('token:1');
    const unknown = await (await analyst.request('/ops/audit?account=nobody')).text();
    expect(unknown).toContain('There is no account named nobody.');
    expect((await analyst.request('/ops/audit?before=abc')).status).toBe(400);
  });
});
