/**
 * bench/web-portal: server-side time of the ISP portal's pages with many findings in the store
 * (default 1,000,000 over five ISPs, so ISP A holds 200,000; 2,000 of them reported). The pages
 * are answered in process (app.request, no socket) as ISP A logged in; each is asked 5 times and
 * the median and the maximum are printed, never asserted. The store is a fresh SQLite file in a
 * temporary folder, or with --backend postgres a schema of its own on $IOTCLEAN_TEST_POSTGRES
 * (vacuum-analysed after loading, as autovacuum would), removed at the end.
 *
 * Usage: node --import tsx bench/web-portal.ts [--backend sqlite|postgres] [--findings 1000000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Finding } from '../src/core/records.js';
import { sampleFinding } from '../src/findings/test-support.js';
import { openStore } from '../src/store/open.js';
import { pgQuery } from '../src/store/test-support.js';
import { createWebApp, webContext } from '../src/web/server.js';
import { addTestAccounts, testClient, testScryptLog2N } from '../src/web/test-support.js';

const { values } = parseArgs({ options: { backend: { type: 'string', default: 'sqlite' }, findings: { type: 'string', default: '1000000' } } });
const total = Number(values.findings);
if (!Number.isInteger(total) || total < 5 || total > 5_000_000) throw new Error('--findings must be a whole number from 5 to 5000000');
const postgres = values.backend === 'postgres';
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
if (postgres && !pgUrl) throw new Error('--backend postgres needs IOTCLEAN_TEST_POSTGRES=postgres://…');
const schema = `bench_web_portal_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-web-portal-'));
if (postgres) await pgQuery(pgUrl!, `create schema ${schema}`);
const location = postgres ? `${pgUrl}${pgUrl!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` : join(dir, 'bench.db');

const store = await openStore(location);
try {
  await addTestAccounts(store);
  const isps = ['isp-a', 'isp-b', 'isp-c', 'isp-d', 'isp-e'];
  const kinds = ['weak-credential', 'exposed-service', 'infected', 'firmware-vulnerability'] as const;
  const t0 = performance.now();
  for (let i = 0; i < total; i += 10_000) {
    const batch: Finding[] = [];
    for (let j = i; j < Math.min(total, i + 10_000); j++) {
      const isp = isps[j % 5]!;
      const kind = kinds[(j >> 3) % 4]!;
      const ip = `127.${100 + ((j >> 16) % 100)}.${(j >> 8) & 255}.${j & 255}`;
      batch.push(sampleFinding(kind, { ip, isp, prefixOwner: isp, port: kind === 'infected' || kind === 'firmware-vulnerability' ? null : [23, 80, 2323, 8080][j % 4]! }));
    }
    await store.findings.record(batch);
  }
  console.log(`${values.backend}: recorded ${total.toLocaleString('en')} findings in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (postgres) await pgQuery(location, 'vacuum analyze');
  const max = Number((await store.db.selectFrom('findings').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst())!.m);
  await store.notifications.create({ ticket: 'IOTC-20261201-isp-a-0001', isp: 'isp-a', createdAt: '2026-12-01T00:00:00Z', findingCount: Math.floor(total / 5), afterFindingId: 0, maxFindingId: max, counts: {}, files: [] });
  const ids = await store.portal.findingIds({ isp: 'isp-a', limit: 2000 });
  for (const [k, id] of ids.entries()) await store.portal.report({ findingId: id, isp: 'isp-a', status: k % 2 ? 'fixed' : 'contacted', note: null, accountId: null, accountName: 'isp-a' }, Date.now());
  const app = createWebApp(webContext(store, { scryptLog2N: testScryptLog2N }));
  const c = testClient(app, { 'accept-language': 'en' });
  await c.login('isp-a', 'isp-a-passphrase-1');
  const oldest = ids.at(-1)!;
  const pages = ['/isp', '/isp/findings', '/isp/findings?port=2323', '/isp/findings?kind=infected', `/isp/findings?before=${oldest}`, `/isp/findings/${oldest}`, '/isp/cases', '/isp/cases?status=fixed', '/isp/cases?status=unreported', '/isp/cases?status=not-ours', '/isp/batches'];
  for (const path of pages) {
    const times: number[] = [];
    let status = 0;
    for (let r = 0; r < 5; r++) {
      const s = performance.now();
      const res = await c.request(path);
      await res.text();
      status = res.status;
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    console.log(`${status}  median ${times[2]!.toFixed(1).padStart(7)} ms  max ${times[4]!.toFixed(1).padStart(7)} ms  ${path}`);
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  if (postgres) await pgQuery(pgUrl!, `drop schema if exists ${schema} cascade`);
}
