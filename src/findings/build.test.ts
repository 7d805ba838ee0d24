/**
 * The builders and attribution: which records make findings, with what device, severity, period
 * and evidence; who is notified, and why a finding is held.
 */
import { describe, expect, it } from 'vitest';
import { caught } from '../../test/caught.js';
import type { AccessResult, Identification, Severity, VulnerabilityMatch } from '../core/records.js';
import { accessVerdicts } from '../core/records.js';
import type { InfectionCandidate } from '../darknet/analyse.js';
import { parseIspTable } from '../scope/isp.js';
import { attribute, attributionOf } from './attribute.js';
import { deviceOf, fromAccessResult, fromInfectionCandidate, fromVulnerabilityMatches, passThrough } from './build.js';
import { hostileText, sampleFinding } from './test-support.js';

function result(over: Partial<AccessResult> = {}): AccessResult {
  return {
    kind: 'access-result',
    id: 7,
    surveyId: 3,
    endpointId: 11,
    ip: '127.1.0.5',
    port: 23,
    protocol: 'telnet',
    verdict: 'weak-credential',
    entry: 'mirai-root-xc3511',
    username: 'root',
    reason: null,
    attempts: 4,
    planDigest: 'a'.repeat(64),
    planVersion: '2026.12-1',
    dictionary: { name: 'default', version: '2026.12-1', digest: 'b'.repeat(64) },
    startedAt: '2026-11-30T23:59:58.000Z',
    // Local time with an offset: the finding's time and month are UTC.
    finishedAt: '2026-12-01T08:59:59.000+09:00',
    ...over,
  };
}

function host(over: Partial<Identification> = {}): Identification {
  return {
    kind: 'identification',
    id: 21,
    surveyId: 3,
    endpointId: null,
    ip: '127.1.0.5',
    port: null,
    protocol: null,
    type: 'camera',
    vendor: 'OpenSSH',
    product: 'OpenSSH',
    version: '8.4p1',
    device: { vendor: 'Hikvision', product: 'DS-2CD2032', version: '5.4.5' },
    os: null,
    service: { vendor: 'OpenSSH', product: 'OpenSSH', version: '8.4p1' },
    cpe: [],
    confidence: 0.9,
    rule: 'iotclean:hik',
    rules: [],
    catalogue: null,
    identifiedAt: '2026-12-02T00:00:00.000Z',
    ...over,
  };
}

function match(cve: string, level: Severity, over: Partial<VulnerabilityMatch> = {}): VulnerabilityMatch {
  return {
    kind: 'vulnerability-match',
    id: Number(cve.slice(-4)),
    surveyId: 3,
    identificationId: 21,
    ip: '127.1.0.5',
    cve,
    status: 'affected',
    cpe: ['cpe:2.3:o:hikvision:firmware:5.4.5:*:*:*:*:*:*:*'],
    reason: 'test',
    threat: { level, kev: level === 'critical', kevDateAdded: null, ransomware: null, epss: 0.1, epssPercentile: null, epssDate: null, cvss: { version: '3.1', score: 7.5, vector: 'x' }, exploitPublic: false, devicesAffected: 1 },
    matchedAt: '2026-12-03T00:00:00.000Z',
    ...over,
  };
}

describe('fromAccessResult', () => {
  it('makes a weak-credential finding: UTC time and month, the host device, the entry and never a password', () => {
    const f = fromAccessResult(result(), host())!;
    expect(f).toMatchObject({
      kind: 'weak-credential',
      ip: '127.1.0.5',
      port: 23,
      protocol: 'telnet',
      observedAt: '2026-11-30T23:59:59.000Z',
      period: '2026-11',
      device: { type: 'camera', vendor: 'Hikvision', model: 'DS-2CD2032', firmware: '5.4.5' },
      severity: 'critical',
      details: { entry: 'mirai-root-xc3511', username: 'root', authType: 'telnet' },
      evidence: [{ record: 'access-result', id: 7 }, { record: 'identification', id: 21 }],
      surveyId: 3,
      planVersion: '2026.12-1',
      isp: null,
      held: 'no-isp',
    });
    expect(JSON.stringify(f)).not.toMatch(/pass/i);
  });

  it('only the weak-credential verdict makes a finding', () => {
    for (const verdict of accessVerdicts.filter((v) => v !== 'weak-credential')) expect(fromAccessResult(result({ verdict, entry: null }))).toBeUndefined();
  });

  it('web logins are high, and an unknown device stays unknown (not the service)', () => {
    const f = fromAccessResult(result({ protocol: 'http-basic', port: 80 }), host({ device: null }))!;
    expect(f.severity).toBe('high');
    expect(f.device).toEqual({ type: 'camera', vendor: null, model: null, firmware: null });
    expect(deviceOf(undefined)).toEqual({ type: null, vendor: null, model: null, firmware: null });
  });

  it('keeps a hostile username as written', () => {
    expect(fromAccessResult(result({ username: hostileText }))!.details.username).toBe(hostileText);
  });
});

describe('fromVulnerabilityMatches', () => {
  it('one finding per host listing affected CVEs, most urgent first; severity the worst level', () => {
    const f = fromVulnerabilityMatches(
      [match('CVE-2021-0001', 'medium'), match('CVE-2021-0002', 'critical'), match('CVE-2021-0003', 'high', { status: 'not-affected' }), match('CVE-2021-0004', 'low', { status: 'unknown' }), match('CVE-2021-0002', 'high')],
      host(),
    )!;
    expect(f.kind).toBe('firmware-vulnerability');
    expect(f.port).toBeNull();
    expect(f.severity).toBe('critical');
    expect((f.details.cves as { cve: string }[]).map((c) => c.cve)).toEqual(['CVE-2021-0002', 'CVE-2021-0001']);
    expect(f.details.threat).toEqual({ level: 'critical', cves: 2, kev: 1, maxEpss: 0.1, maxCvss: 7.5 });
    expect(f.observedAt).toBe('2026-12-02T00:00:00.000Z');
    expect(f.evidence[0]).toEqual({ record: 'identification', id: 21 });
    expect(f.evidence).toContainEqual({ record: 'vulnerability-match', id: 2 });
  });

  it('no affected CVE, no finding; matches of two hosts are refused', () => {
    expect(fromVulnerabilityMatches([match('CVE-2021-0003', 'high', { status: 'not-affected' })])).toBeUndefined();
    expect(fromVulnerabilityMatches([])).toBeUndefined();
    expect(caught(() => fromVulnerabilityMatches([match('CVE-2021-0001', 'low'), match('CVE-2021-0002', 'low', { ip: '127.1.0.6' })])).code).toBe('E_FINDING');
  });
});

describe('fromInfectionCandidate', () => {
  const c: InfectionCandidate = {
    kind: 'infection-candidate',
    ip: '127.2.0.9',
    day: '2026-12-01',
    fingerprint: 'mirai',
    packets: 500,
    destinations: 120,
    ports: [23, 2323, 80],
    firstSeen: '2026-12-01T04:00:00.000Z',
    lastSeen: '2026-12-01T05:00:00.000Z',
    confidence: 0.95,
  };

  it('makes an infected finding per source and UTC day', () => {
    const f = fromInfectionCandidate(c);
    expect(f).toMatchObject({ kind: 'infected', ip: '127.2.0.9', port: null, period: '2026-12-01', observedAt: '2026-12-01T04:00:00.000Z', severity: 'critical', surveyId: null });
    expect(f.details).toEqual({ fingerprint: 'mirai', packets: 500, destinations: 120, ports: [23, 2323, 80], confidence: 0.95, day: '2026-12-01' });
    expect(f.evidence).toEqual([{ record: 'infection', id: '127.2.0.9@2026-12-01' }]);
  });

  it('leaves port 0 out of the probed ports', () => {
    expect(fromInfectionCandidate({ ...c, ports: [0, 23] }).details.ports).toEqual([23]);
  });

  it('clamps a first packet outside its day to the day', () => {
    expect(fromInfectionCandidate({ ...c, firstSeen: '2026-11-30T23:59:00.000Z' }).observedAt).toBe('2026-12-01T00:00:00.000Z');
  });
});

describe('passThrough', () => {
  it('validates findings others build, as they are', () => {
    const f = sampleFinding('end-of-life', { isp: null, prefixOwner: null, held: 'no-isp' });
    expect(passThrough(f)).toEqual(f);
    expect(caught(() => passThrough({ ...f, details: { endOfLife: 'soon', releaseYear: null } })).message).toContain('details.endOfLife');
  });
});

describe('attribution', () => {
  const table = parseIspTable(
    [
      'prefix,isp_id,name,participating,parent',
      '127.16.0.0/12,wholesale,Wholesale,yes,',
      '127.17.0.0/16,reseller,Reseller,no,wholesale',
      '127.33.0.0/16,orphan,Orphan,no,',
      '127.40.0.0/16,bigno,Big No,no,',
      '127.40.1.0/24,subno,Sub No,no,bigno',
    ].join('\n'),
    'test',
  );

  it.each([
    ['127.16.0.1', { isp: 'wholesale', prefixOwner: 'wholesale', held: null }],
    ['127.17.3.4', { isp: 'wholesale', prefixOwner: 'reseller', held: null }],
    ['127.33.0.1', { isp: null, prefixOwner: 'orphan', held: 'not-participating' }],
    ['127.40.1.9', { isp: null, prefixOwner: 'subno', held: 'resold-no-participant' }],
    ['127.99.0.1', { isp: null, prefixOwner: null, held: 'no-isp' }],
  ])('%s → %o', (ip, want) => {
    expect(attributionOf(ip, table)).toEqual(want);
    // Every attribution makes a valid finding.
    expect(passThrough(attribute(sampleFinding('weak-credential', { ip }), table))).toMatchObject(want);
  });
});
