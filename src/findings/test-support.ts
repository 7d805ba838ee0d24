/** Test support: valid findings of every kind, to vary in tests. */
import type { Finding, FindingKind } from '../core/records.js';
import { periodOf } from './schema.js';

/** Device text a hostile peer could send: NUL, lone surrogates, HTML, a CSV formula, escapes. */
export const hostileText = '=cmd|\' /C calc\'!A0\u0000<script>alert(1)</script>\uD800x\uDC00 😀 ﾃｽﾄ\r\n\x1b[31m';

const detailsOf: Record<FindingKind, Record<string, unknown>> = {
  'weak-credential': { entry: 'mirai-admin-admin', username: 'admin', authType: 'telnet' },
  'firmware-vulnerability': {
    cves: [{ cve: 'CVE-2023-1389', status: 'affected', kev: true, epss: 0.94, cvss: 8.8, level: 'critical' }],
    threat: { level: 'critical', cves: 1, kev: 1, maxEpss: 0.94, maxCvss: 8.8 },
  },
  infected: { fingerprint: 'mirai', packets: 120, destinations: 40, ports: [23, 2323], confidence: 0.9, day: '2026-12-01' },
  'exposed-service': { reason: 'telnet open to the Internet', service: 'telnet' },
  'unauthenticated-admin': { title: 'Router admin', path: '/admin/' },
  'end-of-life': { endOfLife: '2020-03-31', releaseYear: 2012 },
  'c2-server': { score: 0.87, evidence: ['beacons from 40 bots'] },
};

const portOf: Record<FindingKind, number | null> = {
  'weak-credential': 23,
  'firmware-vulnerability': null,
  infected: null,
  'exposed-service': 23,
  'unauthenticated-admin': 80,
  'end-of-life': null,
  'c2-server': 6667,
};

const protocolOf: Record<FindingKind, string | null> = {
  'weak-credential': 'telnet',
  'firmware-vulnerability': null,
  infected: null,
  'exposed-service': 'telnet',
  'unauthenticated-admin': 'http',
  'end-of-life': null,
  'c2-server': 'irc',
};

/** A valid finding of `kind`, attributed to ISP "ispa", with `over` applied. */
export function sampleFinding(kind: FindingKind, over: Partial<Finding> = {}): Finding {
  const observedAt = over.observedAt ?? '2026-12-01T03:04:05.000Z';
  return {
    kind,
    ip: '127.1.2.3',
    port: portOf[kind],
    protocol: protocolOf[kind],
    observedAt,
    period: periodOf(kind, observedAt),
    device: { type: 'router', vendor: 'Acme', model: 'R-100', firmware: '1.0.2' },
    severity: 'high',
    details: detailsOf[kind],
    evidence: [{ record: 'access-result', id: 1 }],
    surveyId: kind === 'infected' || kind === 'c2-server' ? null : 1,
    planVersion: '2026.12-1',
    isp: 'ispa',
    prefixOwner: 'ispa',
    held: null,
    ...over,
  };
}
