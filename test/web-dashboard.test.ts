/**
 * The operator dashboard and statistics, on both back ends, over a small store whose counts are
 * known: stats queries (monthly by kind, remediation, sudden changes, release year), findings
 * filters and keyset paging through the pages, the device page escaping a hostile title, the
 * chart images, role checks, and the 0012 backfill of a store written before it.
 */
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type MigrationProvider } from 'kysely';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, Observation } from '../src/core/records.js';
import { hostileText, sampleFinding } from '../src/findings/test-support.js';
import { migrations } from '../src/store/migrations.js';
import { openStore } from '../src/store/open.js';
import type { Database } from '../src/store/schema.js';
import type { Store } from '../src/store/store.js';
import { pgQuery, storeBackends } from '../src/store/test-support.js';
import { createWebStats } from '../src/store/web-stats.js';
import { renderChartSvg } from '../src/web/stats/charts.js';
import { charts } from '../src/web/stats/data.js';
import { createWebApp, webContext } from '../src/web/server.js';
import { addTestAccounts, testAccounts, testClient, testScryptLog2N } from '../src/web/test-support.js';
import type { WebApp } from '../src/web/types.js';

const { backends, cleanup } = storeBackends('web-dashboard', { fresh: true });
afterAll(cleanup);

const at = (month: string, day = 5) => `${month}-${String(day).padStart(2, '0')}T03:00:00.000Z`;
const months = ['2026-08', '2026-09', '2026-10', '2026-11', '2026-12'];
const hostileModel = '<script>alert(1)</script>';

/**
 * The known store: weak credentials at isp-1 (20, 15, 10, 5, 5 of the same 20 keys per month: the
 * remediation curve), exposed services at isp-2 (2 a month, then 40 in December: a sudden change),
 * 3 held infections and one unauthenticated admin page with hostile vendor and model text.
 */
function knownFindings(): Finding[] {
  const out: Finding[] = [];
  [20, 15, 10, 5, 5].forEach((n, m) => {
    for (let i = 1; i <= n; i++) {
      out.push(sampleFinding('weak-credential', { ip: `127.1.0.${i}`, observedAt: at(months[m]!), period: months[m]!, isp: 'isp-1', prefixOwner: 'isp-1', device: { type: 'router', vendor: 'NEC', model: 'Aterm WG2600HP', firmware: null } }));
    }
  });
  [0, 2, 2, 2, 40].forEach((n, m) => {
    for (let i = 1; i <= n; i++) {
      out.push(sampleFinding('exposed-service', { ip: `127.2.0.${i}`, observedAt: at(months[m]!), period: months[m]!, isp: 'isp-2', prefixOwner: 'isp-2', device: { type: 'camera', vendor: 'Vcam', model: 'C-1', firmware: null } }));
    }
  });
  for (let i = 1; i <= 3; i++) {
    out.push(sampleFinding('infected', { ip: `127.3.0.${i}`, observedAt: '2026-12-01T05:00:00.000Z', period: '2026-12-01', isp: null, prefixOwner: null, held: 'no-isp', device: { type: null, vendor: null, model: null, firmware: null } }));
  }
  out.push(sampleFinding('unauthenticated-admin', { ip: '127.4.0.1', observedAt: at('2026-12', 9), period: '2026-12', isp: 'isp-1', prefixOwner: 'isp-1', device: { type: 'router', vendor: hostileText, model: hostileModel, firmware: null } }));
  return out;
}
const total = 55 + 46 + 3 + 1;

const hostileObservation: Observation = {
  kind: 'observation',
  surveyId: null,
  endpointId: null,
  ip: '127.4.0.1',
  port: 80,
  module: 'http',
  status: 'success',
  recognised: true,
  fields: { status: 200, title: '<script>alert(1)</script><img src=x onerror=alert(2)>', server: 'Boa/0.94' },
  raw: Buffer.from('HTTP/1.1 200 OK\r\n\r\n<title><script>alert(1)</script></title>').toString('base64'),
  bytesReceived: 60,
  observedAt: at('2026-12', 9),
  durationMs: 3,
  source: 'grab',
};

/** Every finding page's rows, following the next links from `path`. */
async function allPages(get: (p: string) => Promise<string>, path: string): Promise<{ rows: number; pages: number }> {
  let rows = 0;
  let pages = 0;
  let next: string | undefined = path;
  while (next !== undefined && pages < 20) {
    const body = await get(next);
    pages++;
    const tbody = /<table id="findings">[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(body)?.[1] ?? '';
    rows += (tbody.match(/<tr>/g) ?? []).length;
    next = /<a href="([^"]+)" id="next-page"/.exec(body)?.[1]?.replace(/&amp;/g, '&');
  }
  return { rows, pages };
}

describe.each(backends)('dashboard and statistics (%s)', (_name, locate) => {
  let store: Store;
  let app: WebApp;
  let location: string;
  beforeAll(async () => {
    location = await locate();
    store = await openStore(location);
    await addTestAccounts(store);
    await store.findings.record(knownFindings());
    // Recording the same findings again must not count them twice in the rollup.
    await store.findings.record(knownFindings().slice(0, 30));
    await store.observations.add([hostileObservation]);
    app = createWebApp(webContext(store, { scryptLog2N: testScryptLog2N }));
  });
  afterAll(async () => store?.close());

  const operator = async () => {
    const c = testClient(app, { 'accept-language': 'en' });
    expect((await c.login(testAccounts.analyst.name, testAccounts.analyst.password)).status).toBe(303);
    return c;
  };

  it('counts per month and kind, per ISP and per release year from the rollup', async () => {
    const stats = createWebStats(store);
    const byMonthKind = await stats.rollup(['month', 'kind']);
    const get = (m: string, k: string) => byMonthKind.find((r) => r.month === m && r.kind === k)?.n ?? 0;
    expect([...months].map((m) => get(m, 'weak-credential'))).toEqual([20, 15, 10, 5, 5]);
    expect([...months].map((m) => get(m, 'exposed-service'))).toEqual([0, 2, 2, 2, 40]);
    expect(get('2026-12', 'infected')).toBe(3);
    expect(get('2026-12', 'unauthenticated-admin')).toBe(1);
    const byIsp = new Map((await stats.rollup(['isp'])).map((r) => [r.isp, r.n]));
    expect(Object.fromEntries(byIsp)).toEqual({ '': 3, 'isp-1': 56, 'isp-2': 46 });
    const monthly = await charts['monthly-kind']!.build(stats, 'en');
    expect(monthly.data.categories).toEqual(months);
    expect(monthly.data.series.find((s) => s.name === 'Weak ID/password')!.values).toEqual([20, 15, 10, 5, 5]);
    const years = await charts['release-year']!.build(stats, 'en');
    // Aterm WG2600HP was released in 2014 (the catalogue); the rest is unknown.
    expect(Object.fromEntries(years.data.categories.map((c, i) => [c, years.data.series[0]!.values[i]]))).toEqual({ '2014': 55, Unknown: 50 });
  });

  it('draws remediation against the first month: the share of its findings found again', async () => {
    const r = await createWebStats(store).remediation();
    expect(r.baseline).toBe('2026-08');
    expect(r.baselineSize).toBe(20);
    expect(r.points.map((p) => [p.month, p.present])).toEqual([
      ['2026-08', 20],
      ['2026-09', 15],
      ['2026-10', 10],
      ['2026-11', 5],
      ['2026-12', 5],
    ]);
    expect(r.points[1]!.share).toBeCloseTo(0.75);
  });

  it('flags the jump of one ISP and one model, and nothing else', async () => {
    const alerts = await createWebStats(store).changes();
    expect(alerts.map((a) => [a.scope, a.subject, a.kind, a.month, a.count])).toEqual(
      expect.arrayContaining([
        ['isp', 'isp-2', 'exposed-service', '2026-12', 40],
        ['model', 'Vcam C-1', 'exposed-service', '2026-12', 40],
      ]),
    );
    expect(alerts).toHaveLength(2);
    const c = await operator();
    const page = await (await c.request('/ops/changes')).text();
    expect(page).toContain('isp-2');
    expect(page).toContain('/ops/findings?kind=exposed-service&amp;from=2026-12-01&amp;to=2026-12-31&amp;isp=isp-2');
  });

  it('filters the findings list by kind, ISP, held, device type, vendor, model, port and date', async () => {
    const c = await operator();
    const count = async (q: string) => {
      const body = await (await c.request(`/ops/findings${q}`)).text();
      return /<p id="match-count">([^<]*)<\/p>/.exec(body)?.[1];
    };
    expect(await count('')).toBe(`${total} matching`);
    expect(await count('?kind=exposed-service')).toBe('46 matching');
    expect(await count('?isp=isp-1')).toBe('56 matching');
    expect(await count('?isp=(held)')).toBe('3 matching');
    expect(await count('?type=camera')).toBe('46 matching');
    expect(await count('?vendor=NEC&model=Aterm+WG2600HP')).toBe('55 matching');
    expect(await count('?port=23')).toBe('101 matching');
    expect(await count('?from=2026-12-01&to=2026-12-31')).toBe('49 matching');
    expect(await count('?from=2026-08-01&to=2026-08-31&kind=weak-credential&isp=isp-1')).toBe('20 matching');
    // An empty field of the form is no filter.
    expect(await count('?kind=&isp=&vendor=&port=')).toBe(`${total} matching`);
    expect(await count('?port=23&type=camera')).toBe('46 matching');
    // Not on month edges: counted by scanning, within the ids of the months covered (October and
    // November on the 5th, the infections of 1 December; the 5 and 9 December ones fall outside).
    expect(await count('?from=2026-08-02&to=2026-12-30')).toBe(`${total} matching`);
    expect(await count('?from=2026-09-06&to=2026-12-04')).toBe(`${10 + 2 + 5 + 2 + 3} matching`);
    expect(await count('?from=2027-01-01&to=2027-02-01')).toBe('0 matching');
    // The rollups count what they can exactly; the rest is a bounded count ("more than").
    const stats = createWebStats(store);
    expect(await stats.exactCount({ kind: 'exposed-service' })).toBe(46);
    expect(await stats.exactCount({ isp: null })).toBe(3);
    expect(await stats.exactCount({ vendor: 'NEC', kind: 'weak-credential' })).toBe(55);
    expect(await stats.exactCount({ from: '2026-12-01T00:00:00.000Z', to: '2027-01-01T00:00:00.000Z' })).toBe(49);
    expect(await stats.exactCount({ from: '2026-09-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z', kind: 'weak-credential' })).toBe(25);
    expect(await stats.exactCount({ vendor: 'NEC', isp: 'isp-1' })).toBeNull();
    expect(await stats.exactCount({ port: 23 })).toBeNull();
    expect(await stats.exactCount({ from: '2026-12-02T00:00:00.000Z' })).toBeNull();
    expect(await stats.countFindings({ port: 23 }, 10)).toEqual({ n: 10, more: true });
    expect(await stats.countFindings({ port: 23 }, 1000)).toEqual({ n: 101, more: false });
  });

  it('pages newest first by keyset, every finding exactly once', async () => {
    const c = await operator();
    const { rows, pages } = await allPages(async (p) => (await c.request(p)).text(), '/ops/findings');
    expect(rows).toBe(total);
    expect(pages).toBe(3);
    const filtered = await allPages(async (p) => (await c.request(p)).text(), '/ops/findings?port=23');
    expect(filtered).toEqual({ rows: 101, pages: 3 });
    const stats = createWebStats(store);
    const seen = new Set<number>();
    let before: number | undefined;
    for (;;) {
      const page = await stats.listFindings(before === undefined ? {} : { before }, 40);
      for (const r of page.rows) seen.add(r.id);
      if (page.next === null) break;
      before = page.next;
    }
    expect(seen.size).toBe(total);
  });

  it('answers bad filters with a 400 that names the parameter', async () => {
    const c = await operator();
    for (const [q, name] of [
      ['?kind=nope', 'kind'],
      ['?port=70000', 'port'],
      ['?from=2026-13-01', 'from'],
      ['?before=-3', 'before'],
      ['?type=toaster', 'type'],
    ] as const) {
      const res = await c.request(`/ops/findings${q}`);
      expect(res.status, q).toBe(400);
      expect(await res.text()).toContain(`&quot;${name}&quot;`);
    }
    const bad = await c.request('/ops/devices/127.0.0.999');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('&quot;ip&quot;');
  });

  it('shows everything about one address, with the hostile title escaped and inert', async () => {
    const c = await operator();
    const res = await c.request('/ops/devices/127.4.0.1');
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).not.toContain('<script>alert');
    expect(body).not.toContain('<img src=x');
    expect(body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(body).toContain('id="observations"');
    expect(body).toContain('id="findings"');
    expect(body).toContain('Unauthenticated admin page');
    const weak = await (await c.request('/ops/devices/127.1.0.1')).text();
    // Five months of the same weak credential, and the dictionary entry id only.
    expect((weak.match(/<td>Weak ID\/password<\/td>/g) ?? []).length).toBe(5);
    expect((await store.web.auditLog({ action: 'view-device' })).map((e) => e.target)).toContain('127.4.0.1');
    // A batch carried isp-1's findings up to the hostile one's id: the page names its ticket.
    const hostile = (await createWebStats(store).listFindings({ kind: 'unauthenticated-admin' }, 1)).rows[0]!;
    await store.notifications.create({ ticket: 'IOTC-20261210-isp1-0001', isp: 'isp-1', createdAt: '2026-12-10T00:00:00.000Z', findingCount: 56, afterFindingId: 0, maxFindingId: hostile.id, counts: {}, files: [] });
    const carried = await (await c.request('/ops/devices/127.4.0.1')).text();
    expect(carried).toContain('IOTC-20261210-isp1-0001');
    // isp-2's exposed services were in no batch of isp-2.
    expect(await (await c.request('/ops/devices/127.2.0.1')).text()).not.toContain('IOTC-20261210-isp1-0001');
    expect((await c.request('/ops/devices/127.9.9.9')).status).toBe(404);
  });

  it('serves the charts as CSP-clean SVG images with their numbers in tables', async () => {
    const c = await operator();
    const page = await (await c.request('/ops/stats')).text();
    for (const name of Object.keys(charts)) {
      expect(page).toContain(`src="/ops/stats/chart/${name}.svg?lang=en"`);
      expect(page).toContain(`id="table-${name}"`);
      const img = await c.request(`/ops/stats/chart/${name}.svg`);
      expect(img.status, name).toBe(200);
      expect(img.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
      const svg = await img.text();
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).not.toMatch(/<style|style="|<script/);
    }
    expect(page).toContain('id="remediation-rule"');
  });

  it('keeps the public statistics to aggregates, and /ops to operators', async () => {
    const anon = testClient(app, { 'accept-language': 'en' });
    const pub = await anon.request('/stats');
    expect(pub.status).toBe(200);
    const body = await pub.text();
    expect(body).not.toMatch(/127\.\d+\.\d+\.\d+/);
    expect(body).not.toContain('isp-1');
    expect(body).toContain('src="/stats/chart/monthly-kind.svg?lang=en"');
    expect((await anon.request('/stats/chart/monthly-kind.svg')).status).toBe(200);
    expect((await anon.request('/stats/chart/isp.svg')).status).toBe(404);
    expect((await anon.request('/stats/chart/release-year.svg')).status).toBe(404);
    expect((await anon.request('/ops/findings')).status).toBe(303);
    expect((await anon.request('/ops/stats/chart/isp.svg')).status).toBe(303);
    const isp = testClient(app);
    await isp.login(testAccounts.ispA.name, testAccounts.ispA.password);
    for (const p of ['/ops', '/ops/findings', '/ops/devices/127.1.0.1', '/ops/stats', '/ops/changes', '/ops/surveys/1/progress.json']) expect((await isp.request(p)).status, p).toBe(403);
  });

  it('reports a survey and its progress as JSON', async () => {
    await store.plans.save({ digest: 'd'.repeat(64), version: '2026.12-1', name: 'monthly', body: {} });
    const id = await store.surveys.create({ planDigest: 'd'.repeat(64), scope: { source: 'test', ranges: [] }, targets: [{ start: 2130706432, end: 2130706687 }], ports: [23], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: new Date(Date.now() - 10_000).toISOString() }, { owner: 'test', ttlMs: 60_000 });
    await store.surveys.recordProgress(id, [{ kind: 'endpoint', ip: '127.0.0.5', port: 23, seenAt: new Date().toISOString(), source: 'connect' }], [10], { probesSent: 100 });
    const c = await operator();
    const page = await (await c.request('/ops')).text();
    expect(page).toContain(`data-progress-url="/ops/surveys/${id}/progress.json"`);
    expect(page).toContain('src="/static/dashboard-progress.js"');
    const running = (await (await c.request(`/ops/surveys/${id}/progress.json`)).json()) as { status: string; done: boolean; probesSent: number; endpoints: number; rate: number };
    expect(running).toMatchObject({ status: 'running', done: false, probesSent: 100, endpoints: 1 });
    expect(running.rate).toBeGreaterThan(0);
    await store.surveys.finish(id, 'done', { probesSent: 256, elapsedMs: 2000, checkpoint: [256] });
    const done = (await (await c.request(`/ops/surveys/${id}/progress.json`)).json()) as { done: boolean; rate: number };
    expect(done).toMatchObject({ done: true, rate: 128 });
    expect((await c.request('/ops/surveys/9999/progress.json')).status).toBe(404);
  });

  it('backfills the facets and the rollup of a store written before migration 0012', async () => {
    // A second store of this back end, migrated to 0011 only, with findings written as then.
    const other = location.startsWith('postgres') ? location : location.replace(/\.db$/, '-old.db');
    let db: Kysely<Database>;
    if (other.startsWith('postgres')) {
      const schemaName = /search_path%3D(\w+)/.exec(other)?.[1] ?? 'public';
      db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: other.replace(/search_path%3D\w+/, `search_path%3D${schemaName}_old`), max: 1 }) }) });
      await db.schema.createSchema(`${schemaName}_old`).ifNotExists().execute();
    } else db = new Kysely<Database>({ dialect: new SqliteDialect({ database: new SQLite(other) }) });
    const dialect = other.startsWith('postgres') ? 'postgres' : 'sqlite';
    const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
    const schemaOf = dialect === 'postgres' ? ((await db.selectNoFrom((eb) => eb.fn<string>('current_schema').as('s')).executeTakeFirst())?.s ?? undefined) : undefined;
    const migrator = new Migrator({ db, provider, ...(schemaOf ? { migrationTableSchema: schemaOf } : {}) });
    expect((await migrator.migrateTo('0011-web-accounts')).error).toBeUndefined();
    const old = [sampleFinding('weak-credential', { ip: '127.5.0.1', device: { type: 'router', vendor: 'NUL\u0000vendor\uD800', model: 'M-1', firmware: null } }), sampleFinding('infected', { ip: '127.5.0.2', observedAt: '2026-11-03T00:00:00.000Z', period: '2026-11-03', isp: null, prefixOwner: null, held: 'no-isp' })];
    for (const f of old) {
      const { observedAt, evidence, isp, prefixOwner, held, id: _id, ...rest } = f;
      await db
        .insertInto('findings')
        .values({ kind: f.kind, ip: f.ip, ip_num: 1, port: f.port ?? 0, period: f.period, severity: f.severity, survey_id: f.surveyId, isp, prefix_owner: prefixOwner, held, observed_at: observedAt, evidence: JSON.stringify(evidence), body: JSON.stringify(rest) } as never)
        .execute();
    }
    await db.destroy();
    const upgraded = await openStore(dialect === 'postgres' ? other.replace(/search_path%3D(\w+)/, 'search_path%3D$1_old') : other);
    try {
      const stats = createWebStats(upgraded);
      const rows = (await stats.listFindings({}, 10)).rows;
      expect(rows.map((r) => [r.kind, r.deviceType, r.vendor, r.model, r.protocol])).toEqual([
        ['infected', 'router', 'Acme', 'R-100', null],
        ['weak-credential', 'router', 'NULvendor\uFFFD', 'M-1', 'telnet'],
      ]);
      expect((await stats.rollup(['month', 'kind', 'isp'])).map((r) => [r.month, r.kind, r.isp, r.n])).toEqual([
        ['2026-11', 'infected', '', 1],
        ['2026-12', 'weak-credential', 'ispa', 1],
      ]);
      // The exact text is still in the record.
      expect((await upgraded.findings.get(rows[1]!.id))!.device.vendor).toBe('NUL\u0000vendor\uD800');
    } finally {
      await upgraded.close();
      if (dialect === 'postgres') await pgQuery(process.env.IOTCLEAN_TEST_POSTGRES!, `drop schema if exists ${/search_path%3D(\w+)/.exec(other)![1]}_old cascade`);
    }
  });
});

describe('chart rendering', () => {
  it('keeps device text in labels as text', () => {
    const svg = renderChartSvg({ type: 'bar', categories: ['<script>alert(1)</script>', 'b"><x'], series: [{ name: 'n', values: [1, 2] }] }, { width: 400, height: 200, lang: 'en', label: 'test' });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).not.toMatch(/<style|style="/);
  });
});
