/**
 * Survey governance on both store back ends: proposals checked by the plan loader, the structured
 * diff, the two-person rule (admin only, never the proposer), immutable decisions, the audit log,
 * and enforcement: once a plan is approved, a real loopback survey with an unapproved plan is
 * refused before anything is probed, and the approved plan runs.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan, planDigest } from '../src/discover/plan.js';
import { runSurvey } from '../src/pipeline/survey.js';
import { compileScope, defaultScope, restrictScope } from '../src/scope/scope.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { storeBackends } from '../src/store/test-support.js';
import { hashPassword } from '../src/web/auth/passwords.js';
import { canonicalLines, diffPlans, hunks, lineDiff } from '../src/web/governance/plan-diff.js';
import { createWebApp, webContext } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testClient, testScryptLog2N } from '../src/web/test-support.js';
import type { WebApp } from '../src/web/types.js';

const { backends, cleanup } = storeBackends('web-governance', { fresh: true });
afterAll(cleanup);

// A loopback block and ports no other test uses.
const HOST = '127.213.252.1';
const PORT = 40123;
const EXTRA = 40124;
const planText = (version: string, ports: readonly number[], rate = 500, reason = 'test device') =>
  `version: "${version}"\nname: gov\nrate: ${rate}\nconcurrency: 16\ntimeoutMs: 1000\nretries: 0\nmodules: [discover]\nports:\n${ports.map((p) => `  - {port: ${p}, service: telnet, reason: "${reason}"}\n`).join('')}`;
const v1 = planText('g-1', [PORT]);
const v2 = planText('g-2', [PORT, EXTRA], 800);
const digestOf = (text: string) => planDigest(parsePlan(text, 't.yaml'));

describe('plan diff', () => {
  it('reports added and removed ports, modules, rate and other fields by path, and a line diff', () => {
    const a = parsePlan(planText('g-1', [PORT, 23]), 'a.yaml');
    const b = { ...parsePlan(planText('g-2', [PORT, EXTRA], 800), 'b.yaml'), modules: ['discover', 'grab'] };
    const d = diffPlans(a, b);
    expect(d.ports.added.map((p) => p.port)).toEqual([EXTRA]);
    expect(d.ports.removed.map((p) => p.port)).toEqual([23]);
    expect(d.modules).toEqual({ added: ['grab'], removed: [], reordered: false });
    expect(d.rate).toEqual({ from: 500, to: 800 });
    expect(d.other).toEqual([{ path: 'version', from: 'g-1', to: 'g-2' }]);
    expect(d.same).toBe(false);
    const ops = hunks(lineDiff(canonicalLines(a), canonicalLines(b)));
    expect(ops.filter((o) => o.op === '+').map((o) => o.text.trim())).toContain(`"port": ${EXTRA},`);
    expect(ops.filter((o) => o.op === '-').map((o) => o.text.trim())).toContain('"port": 23,');
    expect(diffPlans(a, a).same).toBe(true);
  });
});

describe.each(backends)('survey governance (%s)', (_name, locate) => {
  let store: Store;
  let app: WebApp;
  let server: net.Server;
  let connections = 0;
  const clock = Date.parse('2026-12-01T00:00:00Z');
  beforeAll(async () => {
    store = await openStore(await locate());
    await addTestAccounts(store);
    await store.web.createAccount({ name: 'admin2', role: 'admin', isp: null, displayName: 'Second admin', passwordHash: await hashPassword('admin2-passphrase-1', testScryptLog2N) }, clock);
    app = createWebApp(webContext(store, { now: () => clock, scryptLog2N: testScryptLog2N }));
    server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((ok, fail) => server.once('error', fail).listen(PORT, HOST, () => ok()));
  });
  afterAll(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    await store?.close();
  });

  const login = async (name: string, password: string) => {
    const client = testClient(app, { 'accept-language': 'en' });
    expect((await client.login(name, password)).status).toBe(303);
    return client;
  };

  it('refuses an invalid plan with the loader\'s error and stores nothing; only operators reach the pages', async () => {
    const analyst = await login(testAccounts.analyst.name, testAccounts.analyst.password);
    const page = await (await analyst.request('/ops/plans')).text();
    expect(page).toContain('Governance is not on yet');
    const bad = await analyst.request('/ops/plans', { method: 'POST', form: { yaml: planText('g-0', []).replace('ports:\n', 'ports: []\n'), note: '' } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/E_PLAN_FILE proposed plan:\d+: ports: must not be empty/);
    expect(await store.planApprovals.list()).toEqual([]);
    const isp = await login(testAccounts.ispA.name, testAccounts.ispA.password);
    expect((await isp.request('/ops/plans')).status).toBe(403);
    expect((await isp.request('/ops/plans', { method: 'POST', form: { yaml: v1 } })).status).toBe(403);
    expect(await store.planApprovals.list()).toEqual([]);
    // Governance is off (nothing approved): any valid plan runs, and is stored unreviewed.
    const scope = compileScope(defaultScope());
    const r = await runSurvey({ store, scope, targets: restrictScope(scope, [`${HOST}/32`]), plan: parsePlan(v2, 't.yaml'), rate: 0, workers: 1 });
    expect(r.status).toBe('done');
    expect(await store.planApprovals.list()).toMatchObject([{ digest: digestOf(v2), state: 'unreviewed', proposedBy: null }]);
  });

  it('proposes, shows the added port in the diff, and keeps the two-person rule', async () => {
    const analyst = await login(testAccounts.analyst.name, testAccounts.analyst.password);
    const admin = await login(testAccounts.admin.name, testAccounts.admin.password);
    const admin2 = await login('admin2', 'admin2-passphrase-1');
    const d1 = digestOf(v1);
    const d2 = digestOf(v2);
    const p1 = await analyst.request('/ops/plans', { method: 'POST', form: { yaml: v1, note: 'first <b>plan</b>' } });
    expect(p1.status).toBe(303);
    expect(p1.headers.get('location')).toBe(`/ops/plans/${d1}`);
    const view = await (await admin.request(`/ops/plans/${d1}`)).text();
    expect(view).toContain(`${PORT}`);
    expect(view).toContain('first &lt;b&gt;plan&lt;/b&gt;');
    expect(view).toContain('id="approve-submit"');
    // The proposer sees no approve button, and a forged POST is refused.
    expect(await (await analyst.request(`/ops/plans/${d1}`)).text()).not.toContain('id="approve-submit"');
    expect((await analyst.request(`/ops/plans/${d1}/approve`, { method: 'POST', form: { note: 'mine' } })).status).toBe(403);
    expect((await admin.request(`/ops/plans/${d1}/approve`, { method: 'POST', form: { note: 'looks right' } })).status).toBe(303);
    expect((await store.planApprovals.get(d1))).toMatchObject({ state: 'approved', proposedBy: 'analyst', decidedBy: 'admin', decisionNote: 'looks right' });
    expect(await store.planApprovals.enforced()).toBe(true);

    expect((await analyst.request('/ops/plans', { method: 'POST', form: { yaml: v2 } })).status).toBe(303);
    // The same version twice is refused while it waits.
    expect((await analyst.request('/ops/plans', { method: 'POST', form: { yaml: v2 } })).status).toBe(409);
    const diff = await (await admin.request(`/ops/plans/diff?a=${d1}&b=g-2`)).text();
    expect(diff).toMatch(new RegExp(`id="ports-added".*\\+ ${EXTRA}`, 's'));
    expect(diff).not.toContain('id="ports-removed"');
    expect(diff).toMatch(/id="rate-change">500 → 800/);
    expect((await admin.request('/ops/plans/diff?a=nonsense&b=g-2')).status).toBe(404);

    // An admin who proposed cannot approve their own; another admin can.
    const v3 = planText('g-3', [PORT], 600, 'admin <script>alert(1)</script> change');
    const d3 = digestOf(v3);
    expect((await admin.request('/ops/plans', { method: 'POST', form: { yaml: v3 } })).status).toBe(303);
    const own = await admin.request(`/ops/plans/${d3}/approve`, { method: 'POST', form: {} });
    expect(own.status).toBe(403);
    expect(await own.text()).toContain('two-person rule');
    const page3 = await (await admin2.request(`/ops/plans/${d3}`)).text();
    expect(page3).not.toContain('<script>alert(1)</script>');
    expect(page3).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect((await admin2.request(`/ops/plans/${d3}/reject`, { method: 'POST', form: { note: 'not needed' } })).status).toBe(303);
    expect((await store.planApprovals.get(d3))?.state).toBe('rejected');
    // A rejected version may be proposed again as stored, by anyone but an ISP.
    expect(await (await admin2.request(`/ops/plans/${d3}`)).text()).toContain('id="propose-stored-submit"');
    const isp = await login(testAccounts.ispB.name, testAccounts.ispB.password);
    expect((await isp.request(`/ops/plans/${d3}/propose`, { method: 'POST', form: {} })).status).toBe(403);
    expect((await admin2.request(`/ops/plans/${d3}/propose`, { method: 'POST', form: { note: 'second look' } })).status).toBe(303);
    expect(await store.planApprovals.get(d3)).toMatchObject({ state: 'proposed', proposedBy: 'admin2', proposalNote: 'second look', decidedBy: null });
    expect((await admin2.request(`/ops/plans/${d3}/propose`, { method: 'POST', form: {} })).status).toBe(409);

    // An approved version is immutable: no second decision.
    expect((await admin2.request(`/ops/plans/${d1}/reject`, { method: 'POST', form: {} })).status).toBe(409);
    expect((await store.planApprovals.get(d1))?.state).toBe('approved');

    const log = await store.web.auditLog({});
    const actions = log.map((e) => `${e.accountName} ${e.action} ${e.target.slice(0, 8)}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        `analyst plan.propose ${d1.slice(0, 8)}`,
        `analyst plan.approve.refused ${d1.slice(0, 8)}`,
        `admin plan.approve ${d1.slice(0, 8)}`,
        `admin plan.approve.refused ${d3.slice(0, 8)}`,
        `admin2 plan.reject ${d3.slice(0, 8)}`,
        `admin2 plan.reject.refused ${d1.slice(0, 8)}`,
        // Views are audited too: who read which version, and which comparison.
        `admin plan.view ${d1.slice(0, 8)}`,
        `analyst plan.view ${d1.slice(0, 8)}`,
        `admin plan.diff ${d1.slice(0, 8)}`,
      ]),
    );
    const list = await (await analyst.request('/ops/plans')).text();
    expect(list).toContain('Governance is on');
  });

  it('lets exactly one of two admins deciding at once win', async () => {
    const text = planText('g-race', [PORT], 700);
    const plan = parsePlan(text, 'race.yaml');
    const digest = planDigest(plan);
    const accounts = await store.web.listAccounts();
    const actor = (name: string) => {
      const a = accounts.find((x) => x.name === name)!;
      return { id: a.id, name: a.name, role: a.role };
    };
    expect((await store.planApprovals.propose({ digest, version: plan.version, name: plan.name, body: plan, source: text, note: '' }, actor('analyst'), clock)).ok).toBe(true);
    const [one, two] = await Promise.all([
      store.planApprovals.decide(digest, 'approved', actor('admin'), 'yes', clock),
      store.planApprovals.decide(digest, 'rejected', actor('admin2'), 'no', clock),
    ]);
    expect([one.ok, two.ok].filter(Boolean)).toHaveLength(1);
    const winner = one.ok ? 'approved' : 'rejected';
    expect((await store.planApprovals.get(digest))?.state).toBe(winner);
  });

  it('refuses a survey with an unapproved plan before probing, and runs the approved one', async () => {
    const scope = compileScope(defaultScope());
    const targets = restrictScope(scope, [`${HOST}/32`]);
    const before = (await store.surveys.list()).length;
    connections = 0;
    // g-2 is proposed, not approved; g-3 was rejected, then proposed again.
    for (const text of [v2, planText('g-3', [PORT], 600, 'admin <script>alert(1)</script> change')]) {
      await expect(runSurvey({ store, scope, targets, plan: parsePlan(text, 't.yaml'), rate: 0, workers: 1 })).rejects.toMatchObject({
        code: 'E_PLAN_APPROVAL',
        message: expect.stringContaining(`(sha256 ${digestOf(text)}) is not approved`),
      });
    }
    expect(connections).toBe(0);
    expect((await store.surveys.list()).length).toBe(before);
    // Resuming an interrupted survey probes too: its stored plan (g-2, unapproved) is refused.
    const stopped = await store.surveys.create({ planDigest: digestOf(v2), scope: { source: 'test', ranges: scope.ranges }, targets: targets.ranges, ports: [PORT, EXTRA], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: new Date().toISOString() });
    await expect(runSurvey({ store, scope, targets, plan: parsePlan(v1, 't.yaml'), resume: stopped, rate: 0 })).rejects.toMatchObject({ code: 'E_PLAN_APPROVAL', message: expect.stringContaining('version g-2') });
    expect(connections).toBe(0);
    const ok = await runSurvey({ store, scope, targets, plan: parsePlan(v1, 't.yaml'), rate: 0, workers: 1 });
    expect(ok.status).toBe('done');
    expect(connections).toBeGreaterThan(0);
    expect((await store.endpoints.all(ok.surveyId)).map((e) => `${e.ip}:${e.port}`)).toEqual([`${HOST}:${PORT}`]);
    expect((await store.surveys.get(ok.surveyId))?.planDigest).toBe(digestOf(v1));
  });
});
