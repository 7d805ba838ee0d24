/** Fixtures for the sharing tests: candidates as the flows stage reports them, with liveness histories. */
import type { C2Candidate, LivenessCheck } from '../flows/types.js';
import type { CandidateSource, ShareEntry } from './types.js';

export function candidate(ip: string, port: number, over: Partial<C2Candidate> = {}): C2Candidate {
  return {
    kind: 'c2-candidate',
    ip,
    port,
    proto: 'tcp',
    score: 0.9,
    firstSeen: '2026-11-20T01:00:00.000Z',
    lastSeen: '2026-11-25T12:00:00.000Z',
    clients: 40,
    knownBadClients: 31,
    evidence: [
      { feature: 'known-bad-share', value: 0.775, note: '31 of 40 clients are known bots' },
      { feature: 'beacon-period-s', value: 300, note: 'contacts every 5 minutes' },
    ],
    window: { from: '2026-11-19T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z' },
    ...over,
  };
}

export function check(ip: string, port: number, at: string, alive: boolean): LivenessCheck {
  return { ip, port, at, alive, outcome: alive ? 'connected' : 'refused', ms: alive ? 3 : null };
}

/** Four candidates: alive, dead (refused since the 26th), weak score, and one on another port of the first address. */
export function sampleEntries(): ShareEntry[] {
  return [
    { candidate: candidate('203.0.113.10', 6667), liveness: [check('203.0.113.10', 6667, '2026-11-26T00:00:00.000Z', true)], validUntil: null },
    {
      candidate: candidate('198.51.100.7', 23, { score: 0.97, clients: 12, knownBadClients: 12 }),
      liveness: [check('198.51.100.7', 23, '2026-11-25T00:00:00.000Z', true), check('198.51.100.7', 23, '2026-11-26T00:00:00.000Z', false), check('198.51.100.7', 23, '2026-11-27T00:00:00.000Z', false)],
      validUntil: null,
    },
    { candidate: candidate('192.0.2.55', 8080, { score: 0.2 }), liveness: [], validUntil: null },
    { candidate: candidate('203.0.113.10', 4444, { proto: 'udp', score: 0.6 }), liveness: [], validUntil: '2026-12-30T00:00:00.000Z' },
  ];
}

/**
 * The entries with every timestamp moved by `ms`: for runs that judge expiry by the wall clock (the
 * CLI), the fixture's dates are placed around the day the test runs instead of in November 2026.
 */
export function shiftedEntries(entries: readonly ShareEntry[], ms: number): ShareEntry[] {
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  const shift = (v: unknown): unknown =>
    typeof v === 'string' && iso.test(v)
      ? new Date(Date.parse(v) + ms).toISOString()
      : Array.isArray(v)
        ? v.map(shift)
        : v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shift(x)]))
          : v;
  return entries.map((e) => shift(e) as ShareEntry);
}

/** The fixture's "now": every entry is judged as of this moment (alive, dead since the 26th, ...). */
export const sampleNow = Date.parse('2026-11-28T00:00:00.000Z');

export function arraySource(entries: readonly ShareEntry[]): CandidateSource {
  return {
    async *list(filter) {
      for (const e of entries) if (filter.minScore === undefined || e.candidate.score >= filter.minScore) yield e;
    },
  };
}
