/**
 * deriveSurveyFindings on a real (SQLite) store: weak credentials joined to their host's device,
 * darknet candidates, extra sources validated; everything attributed; a failing input counted and
 * routed, the rest stored; a second run adds nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessResult, Finding, Identification, VulnerabilityMatch } from '../core/records.js';
import type { InfectionCandidate } from '../darknet/analyse.js';
import { parseIspTable } from '../scope/isp.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { deriveSurveyFindings, vulnerabilityFindings, type FindingFailure } from './survey.js';
import { sampleFinding } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-derive-'));
let store: Store;
let surveyId: number;
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const isps = parseIspTable(['prefix,isp_id,name,participating,parent', '127.10.0.0/16,ispa,ISP A,yes,', '127.11.0.0/16,orphan,Orphan,no,'].join('\n'), 'test');

function result(ip: string, port: number, verdict: AccessResult['verdict']): AccessResult {
  return {
    kind: 'access-result',
    surveyId,
    endpointId: null,
    ip,
    port,
    protocol: 'telnet',
    verdict,
    entry: verdict === 'weak-credential' ? 'mirai-root-vizxv' : null,
    username: verdict === 'weak-credential' ? 'root' : null,
    reason: null,
    attempts: 3,
    planDigest: 'a'.repeat(64),
    planVersion: '2026.12-1',
    dictionary: { name: 'default', version: '2026.12-1', digest: 'b'.repeat(64) },
    startedAt: '2026-12-01T00:00:00.000Z',
    finishedAt: '2026-12-01T00:00:01.000Z',
  };
}

function hostRow(ip: string, vendor: string): Identification {
  return {
    kind: 'identification', surveyId, endpointId: null, ip, port: null, protocol: null, type: 'dvr', vendor, product: null, version: null,
    device: { vendor, product: `${vendor}-1`, version: '2.0' }, os: null, service: null, cpe: [], confidence: 0.8, rule: null, rules: [], catalogue: null, identifiedAt: '2026-12-01T00:00:00.000Z',
  };
}

const candidate = (ip: string): InfectionCandidate => ({
  kind: 'infection-candidate', ip, day: '2026-12-02', fingerprint: 'mirai', packets: 50, destinations: 20, ports: [23], firstSeen: '2026-12-02T01:00:00.000Z', lastSeen: '2026-12-02T02:00:00.000Z', confidence: 0.9,
});

beforeAll(async () => {
  store = await openStore(join(dir, 'derive.db'));
  await store.plans.save({ digest: 'a'.repeat(64), version: '2026.12-1', name: 'default', body: {} });
  surveyId = await store.surveys.create({ planDigest: 'a'.repeat(64), scope: { source: 'default', ranges: [] }, targets: [], ports: [23], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: '2026-12-01T00:00:00.000Z' });
  // Hosts identified at .1 and .3 only; weak logins at .1, .2 and in a non-participant's range.
  await store.identifications.add([hostRow('127.10.0.1', 'Hikvision'), hostRow('127.10.0.3', 'Dahua'), hostRow('127.11.0.9', 'Zte')]);
  for (const [ip, port, verdict] of [
    ['127.10.0.1', 23, 'weak-credential'],
    ['127.10.0.1', 2323, 'weak-credential'],
    ['127.10.0.2', 23, 'weak-credential'],
    ['127.10.0.3', 23, 'no-weak-credential'],
    ['127.11.0.9', 23, 'weak-credential'],
    ['127.12.0.1', 23, 'accepts-any'],
  ] as const) await store.access.record(result(ip, port, verdict), []);
});

describe('deriveSurveyFindings', () => {
  it('stores attributed findings from every source; a bad extra is counted and routed, the rest stored', async () => {
    const failures: FindingFailure[] = [];
    const extra: Finding[] = [
      sampleFinding('exposed-service', { ip: '127.10.0.3', isp: null, prefixOwner: null, held: 'no-isp', surveyId }),
      { ...sampleFinding('end-of-life', { ip: '127.10.0.3' }), details: { endOfLife: 'never', releaseYear: null } },
    ];
    async function* vulnSource() {
      yield* extra;
    }
    const counts = await deriveSurveyFindings(store, surveyId, isps, {
      infections: [candidate('127.10.0.3'), candidate('127.99.0.1')],
      extra: [vulnSource()],
      onError: (f) => failures.push(f),
      batchSize: 2,
    });
    expect(counts).toMatchObject({
      read: { access: 4, infections: 2, extra: 2 },
      written: 7,
      stored: 7,
      byKind: { 'weak-credential': 4, infected: 2, 'exposed-service': 1 },
      byIsp: { ispa: 5 },
      held: { 'not-participating': 1, 'no-isp': 1 },
      failed: 1,
    });
    expect(failures.map((f) => f.item)).toEqual(['extra 0:1']);
    expect(String((failures[0]!.error as Error).message)).toContain('details.endOfLife');

    const all: Finding[] = [];
    for await (const f of store.findings.list()) all.push(f);
    const at = (kind: string, ip: string) => all.find((f) => f.kind === kind && f.ip === ip)!;
    expect(at('weak-credential', '127.10.0.1').device).toEqual({ type: 'dvr', vendor: 'Hikvision', model: 'Hikvision-1', firmware: '2.0' });
    expect(at('weak-credential', '127.10.0.2').device.vendor).toBeNull();
    expect(at('weak-credential', '127.11.0.9')).toMatchObject({ isp: null, prefixOwner: 'orphan', held: 'not-participating' });
    expect(at('infected', '127.10.0.3')).toMatchObject({ isp: 'ispa', period: '2026-12-02', device: { vendor: 'Dahua' } });
    expect(at('infected', '127.99.0.1')).toMatchObject({ isp: null, held: 'no-isp' });
    // The extra finding came in held (unattributed) and was attributed here.
    expect(at('exposed-service', '127.10.0.3')).toMatchObject({ isp: 'ispa', prefixOwner: 'ispa', held: null });
  });

  it('a second run adds nothing', async () => {
    const before = (await store.findings.countBy('kind')).get('weak-credential');
    const counts = await deriveSurveyFindings(store, surveyId, isps);
    expect(counts.stored).toBe(4);
    expect((await store.findings.countBy('kind')).get('weak-credential')).toBe(before);
  });
});

describe('vulnerabilityFindings', () => {
  const m = (ip: string, cve: string, status: VulnerabilityMatch['status'] = 'affected'): VulnerabilityMatch => ({
    kind: 'vulnerability-match', id: Number(cve.slice(-2)), surveyId: 1, identificationId: null, ip, cve, status, cpe: [], reason: 'test',
    threat: { level: 'high', kev: false, kevDateAdded: null, ransomware: null, epss: null, epssPercentile: null, epssDate: null, cvss: null, exploitPublic: false, devicesAffected: 1 },
    matchedAt: '2026-12-05T00:00:00.000Z',
  });

  it('one finding per address run, hosts with no affected CVE skipped, device from hostOf', async () => {
    const out: Finding[] = [];
    const matches = [m('127.10.0.1', 'CVE-2024-0011'), m('127.10.0.1', 'CVE-2024-0012'), m('127.10.0.2', 'CVE-2024-0013', 'not-affected'), m('127.10.0.3', 'CVE-2024-0014')];
    for await (const f of vulnerabilityFindings(matches, (ip) => (ip === '127.10.0.3' ? hostRow(ip, 'Dahua') : undefined))) out.push(f);
    expect(out.map((f) => [f.ip, (f.details.cves as { cve: string }[]).map((c) => c.cve)])).toEqual([
      ['127.10.0.1', ['CVE-2024-0011', 'CVE-2024-0012']],
      ['127.10.0.3', ['CVE-2024-0014']],
    ]);
    expect(out[1]!.device.vendor).toBe('Dahua');
  });
});
