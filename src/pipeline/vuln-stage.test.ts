import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Identification } from '../core/records.js';
import { openStore } from '../store/open.js';
import { buildIndex } from '../vuln/match.js';
import type { CveRecord } from '../vuln/types.js';
import { vulnStage } from './vuln-stage.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-vuln-stage-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cve: CveRecord = {
  id: 'CVE-2099-0001',
  published: null,
  lastModified: null,
  description: '',
  configurations: [{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:o:acme:fw:*:*:*:*:*:*:*:*', versionEndExcluding: '2.0' }] }] }],
  affected: [],
  cvss: [{ version: '3.1', score: 5.0, vector: 'CVSS:3.1/x', source: 'nvd' }],
  references: [],
  sources: ['nvd'],
};
const host = (ip: string, version: string, endpointId: number | null = null): Identification => ({
  kind: 'identification',
  id: 7,
  surveyId: null,
  endpointId,
  ip,
  port: null,
  protocol: null,
  type: 'router',
  vendor: 'acme',
  product: 'fw',
  version,
  device: null,
  os: null,
  service: null,
  cpe: [`cpe:2.3:o:acme:fw:${version}:*:*:*:*:*:*:*`],
  confidence: 1,
  rule: null,
  rules: [],
  catalogue: null,
  identifiedAt: '2026-12-01T00:00:00.000Z',
});
async function* hosts(list: Identification[]) {
  yield* list;
}

describe('vulnStage', () => {
  it('matches host-level rows, counts devicesAffected over the survey, and lets prevalence raise the level', async () => {
    const index = buildIndex([cve]);
    const list = [host('127.0.0.1', '1.0'), host('127.0.0.2', '1.5'), host('127.0.0.3', '2.0'), host('127.0.0.4', '1.0', 9)];
    const few = await vulnStage(hosts(list), { index, kev: new Map(), epss: new Map(), surveyId: null, now: '2026-12-01T00:00:00.000Z' });
    expect(few.counts).toEqual({ hosts: 3, cvesConsidered: 1, byStatus: { affected: 2, 'not-affected': 1, unknown: 0 } });
    expect(few.matches.map((m) => [m.ip, m.status, m.threat.devicesAffected, m.threat.level])).toEqual([
      ['127.0.0.1', 'affected', 2, 'low'],
      ['127.0.0.2', 'affected', 2, 'low'],
      ['127.0.0.3', 'not-affected', 2, 'low'],
    ]);
    expect(few.matches[0]).toMatchObject({ kind: 'vulnerability-match', identificationId: 7, cve: 'CVE-2099-0001', matchedAt: '2026-12-01T00:00:00.000Z' });
    const many = await vulnStage(hosts(list), { index, kev: new Map(), epss: new Map(), surveyId: null, prevalent: 2 });
    expect(many.matches[0]!.threat.level).toBe('medium');
  });
  it('stores the matches when given a store', async () => {
    const store = await openStore(join(dir, 's.db'));
    try {
      await vulnStage(hosts([host('127.0.0.1', '1.0')]), { index: buildIndex([cve]), kev: new Map(), epss: new Map(), surveyId: null, store });
      expect(Object.fromEntries(await store.vuln.countBy(null, 'status'))).toEqual({ affected: 1 });
    } finally {
      await store.close();
    }
  });
});
