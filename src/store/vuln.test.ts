/**
 * The vulnerability repository on every back end: SQLite always, PostgreSQL when
 * IOTCLEAN_TEST_POSTGRES names a server (a schema of its own, dropped afterwards). Imports are
 * idempotent and order-independent, a newer lastModified replaces, matches read back equal, and
 * counts group them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ThreatLevel, VulnerabilityMatch } from '../core/records.js';
import type { CveRecord } from '../vuln/types.js';
import { openStore } from './open.js';
import { storeBackends } from './test-support.js';

const { backends, cleanup } = storeBackends('vuln');
afterAll(cleanup);

const nvd = (id: string, lastModified: string, bound: string): CveRecord => ({
  id,
  published: '2023-01-01T00:00:00',
  lastModified,
  description: 'a <b>html</b> description with \u0000 NUL',
  configurations: [{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:o:acme:fw:*:*:*:*:*:*:*:*', versionEndExcluding: bound }] }] }],
  affected: [],
  cvss: [{ version: '3.1', score: 9.8, vector: 'CVSS:3.1/AV:N', source: 'nvd@nist.gov' }],
  references: [{ url: 'https://example.invalid/x', tags: ['Exploit'] }],
  sources: ['nvd'],
});
const cve5 = (id: string): CveRecord => ({
  id,
  published: null,
  lastModified: '2024-01-01T00:00:00Z',
  description: 'cna text',
  configurations: [],
  affected: [{ from: 'cna', vendor: 'ACME', product: 'fw', cpes: [], defaultStatus: 'unknown', versions: [{ version: '1.0', status: 'affected' }] }],
  cvss: [],
  references: [],
  sources: ['cve5'],
});
const threat: ThreatLevel = { level: 'critical', kev: true, kevDateAdded: '2023-05-01', ransomware: null, epss: 0.9, epssPercentile: 0.99, epssDate: '2026-09-29', cvss: { version: '3.1', score: 9.8, vector: 'CVSS:3.1/AV:N' }, exploitPublic: true, devicesAffected: 2 };
const m = (surveyId: number | null, ip: string, cve: string, status: VulnerabilityMatch['status']): VulnerabilityMatch => ({
  kind: 'vulnerability-match',
  surveyId,
  identificationId: null,
  ip,
  cve,
  status,
  cpe: ['cpe:2.3:o:acme:fw:1.0:*:*:*:*:*:*:*'],
  reason: 'NVD configuration 0: version 1.0 < 1.1 (versionEndExcluding)',
  threat,
  matchedAt: '2026-12-01T00:00:00.000Z',
});

describe.each(backends)('store.vuln on %s', (_name, location) => {
  it('imports idempotently in any order; a newer lastModified replaces, an older does not', async () => {
    const store = await openStore(await location());
    try {
      expect(await store.vuln.upsertCves([nvd('CVE-2099-0001', '2024-01-01T00:00:00', '1.1'), cve5('CVE-2099-0001'), nvd('CVE-2099-0002', '2024-01-01T00:00:00', '2.0')])).toEqual({ inserted: 3, updated: 0, unchanged: 0 });
      expect(await store.vuln.upsertCves([cve5('CVE-2099-0001'), nvd('CVE-2099-0001', '2024-01-01T00:00:00', '1.1')])).toEqual({ inserted: 0, updated: 0, unchanged: 2 });
      const merged = await store.vuln.cve('CVE-2099-0001');
      expect(merged?.sources).toEqual(['cve5', 'nvd']);
      expect(merged?.configurations[0]?.nodes[0]?.cpeMatch[0]?.versionEndExcluding).toBe('1.1');
      expect(merged?.affected[0]?.vendor).toBe('ACME');
      expect(merged?.description).toBe('a <b>html</b> description with \ufffd NUL');
      expect(await store.vuln.upsertCves([nvd('CVE-2099-0001', '2023-06-01T00:00:00', '0.5')])).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
      expect(await store.vuln.upsertCves([nvd('CVE-2099-0001', '2025-01-01T00:00:00', '1.2')])).toEqual({ inserted: 0, updated: 1, unchanged: 0 });
      expect((await store.vuln.cve('CVE-2099-0001'))?.configurations[0]?.nodes[0]?.cpeMatch[0]?.versionEndExcluding).toBe('1.2');
      const all: string[] = [];
      for await (const r of store.vuln.cves({ pageSize: 1 })) all.push(r.id);
      expect(all).toEqual(['CVE-2099-0001', 'CVE-2099-0002']);
      await expect(store.vuln.upsertCves([{ ...cve5('CVE-2099-0003'), sources: ['cve5', 'nvd'] }])).rejects.toMatchObject({ code: 'E_VULN_DATA' });
    } finally {
      await store.close();
    }
  });
  it('keeps KEV and EPSS, idempotently, an older EPSS day never replacing a newer', async () => {
    const store = await openStore(await location());
    try {
      const kev = { cve: 'CVE-2099-0001', dateAdded: '2023-05-01', ransomware: 'Known' as const, vendor: 'ACME', product: 'fw', dueDate: null };
      expect(await store.vuln.upsertKev([kev])).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
      expect(await store.vuln.upsertKev([kev])).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
      expect(await store.vuln.kev('CVE-2099-0001')).toEqual(kev);
      expect(await store.vuln.kev('CVE-2099-0009')).toBeUndefined();
      const day2 = { cve: 'CVE-2099-0001', epss: 0.5, percentile: 0.9, date: '2026-09-29' };
      expect(await store.vuln.upsertEpss([day2])).toEqual({ inserted: 1, updated: 0, unchanged: 0 });
      expect(await store.vuln.upsertEpss([{ ...day2, epss: 0.1, date: '2026-09-01' }])).toEqual({ inserted: 0, updated: 0, unchanged: 1 });
      expect(await store.vuln.epss('CVE-2099-0001')).toEqual(day2);
      expect((await store.vuln.kevMap()).size).toBe(1);
      expect((await store.vuln.epssMap()).get('CVE-2099-0001')).toEqual(day2);
      expect(await store.vuln.counts()).toEqual({ cves: 2, kev: 1, epss: 1 });
    } finally {
      await store.close();
    }
  });
  it('stores matches per (survey, ip, cve), a re-run replacing, and counts them', async () => {
    const store = await openStore(await location());
    try {
      await store.plans.save({ digest: 'a'.repeat(64), version: '1', name: 'test', body: {} });
      const sid = await store.surveys.create({ planDigest: 'a'.repeat(64), scope: { source: 'test', ranges: [] }, targets: [], ports: [80], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: '2026-12-01T00:00:00.000Z' });
      await store.vuln.recordMatches([m(sid, '127.0.0.2', 'CVE-2099-0001', 'affected'), m(sid, '127.0.0.1', 'CVE-2099-0002', 'unknown'), m(null, '127.0.0.1', 'CVE-2099-0001', 'affected')]);
      await store.vuln.recordMatches([m(sid, '127.0.0.1', 'CVE-2099-0002', 'not-affected'), m(null, '127.0.0.1', 'CVE-2099-0001', 'unknown')]);
      const rows: VulnerabilityMatch[] = [];
      for await (const r of store.vuln.matches(sid, { pageSize: 1 })) rows.push(r);
      expect(rows.map((r) => [r.ip, r.cve, r.status])).toEqual([
        ['127.0.0.1', 'CVE-2099-0002', 'not-affected'],
        ['127.0.0.2', 'CVE-2099-0001', 'affected'],
      ]);
      const { id: _id, ...back } = rows[1]!;
      expect(back).toEqual(m(sid, '127.0.0.2', 'CVE-2099-0001', 'affected'));
      const affected: VulnerabilityMatch[] = [];
      for await (const r of store.vuln.matches(sid, { status: 'affected' })) affected.push(r);
      expect(affected).toHaveLength(1);
      expect(Object.fromEntries(await store.vuln.countBy(sid, 'status'))).toEqual({ affected: 1, 'not-affected': 1 });
      expect(Object.fromEntries(await store.vuln.countBy(null, 'status'))).toEqual({ unknown: 1 });
      expect(Object.fromEntries(await store.vuln.countBy(sid, 'level'))).toEqual({ critical: 2 });
      await expect(store.vuln.recordMatches([m(sid, 'not-an-ip', 'CVE-1', 'affected')])).rejects.toMatchObject({ code: 'E_STORE' });
    } finally {
      await store.close();
    }
  });
});
