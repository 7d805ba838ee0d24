/** Test support for the ISP-side case tests: hand-made findings and matches (no session logs needed). */
import type { Finding, FindingKind } from '../../core/records.js';
import type { SubscriberMatch } from './types.js';

/** A finding at ip:port observed at `at`, attributed to `isp`. */
export function testFinding(ip: string, port: number | null, at: string, over: Partial<Finding> = {}): Finding {
  return {
    kind: 'weak-credential' as FindingKind,
    ip,
    port,
    protocol: port === null ? null : 'telnet',
    observedAt: at,
    period: at.slice(0, 7),
    device: { type: 'router', vendor: 'Acme', model: 'AR-100', firmware: '1.0' },
    severity: 'high',
    details: { entry: 'default-0001' },
    evidence: [{ record: 'access-result', id: 1 }],
    surveyId: 1,
    planVersion: '2026.12-1',
    isp: 'isp-a',
    prefixOwner: 'isp-a',
    held: null,
    ...over,
  };
}

/** A finding matched to a subscriber. */
export function testMatch(subscriber: string, finding: Finding): SubscriberMatch {
  return { finding, status: 'matched', subscriber, candidates: [subscriber], reason: null };
}
