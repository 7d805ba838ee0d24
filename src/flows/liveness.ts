/**
 * Liveness of C&C candidates: a TCP connect to ip:port through the scope guard (openConnection in
 * src/scope/: a target outside the authorised scope is refused there, nothing is sent, and the check
 * is recorded `out-of-scope`), on a schedule that is dense while C&C servers are most likely to move
 * (every hour for the first 2 days after detection, every 6 h to day 7, then daily, as most C&C
 * endpoints are unreachable within 10 days). An indicator expires after N consecutive dead checks and
 * revives when the endpoint answers again; expired ones are still checked daily until maxAge.
 * Nothing is written to the connection: connect, then close.
 */
import { openConnection, type CompiledScope, type ConnectionLimits } from '../scope/index.js';
import type { CandidateStatus, LivenessState, StoredCandidate } from '../store/flows.js';
import type { Store } from '../store/store.js';
import type { LivenessCheck } from './types.js';

export interface LivenessPolicy {
  /** [age limit ms, check every ms] in order; past the last limit, `laterEveryMs`. */
  readonly phases: readonly (readonly [number, number])[];
  readonly laterEveryMs: number;
  /** Consecutive dead checks after which the indicator expires. */
  readonly expireAfterDead: number;
  /** After this long since detection, no more checks. */
  readonly maxAgeMs: number;
  readonly connectTimeoutMs: number;
}

const H = 3_600_000;
export const defaultPolicy: LivenessPolicy = Object.freeze({
  phases: [
    [2 * 24 * H, H],
    [7 * 24 * H, 6 * H],
  ] as const,
  laterEveryMs: 24 * H,
  expireAfterDead: 6,
  maxAgeMs: 60 * 24 * H,
  connectTimeoutMs: 3_000,
});

/** Never again (a time every ISO timestamp sorts before). */
export const NEVER = '9999-12-31T00:00:00.000Z';

/** When the next check of a candidate detected at `detectedMs` falls, after a check at `nowMs`. */
export function nextCheckMs(detectedMs: number, nowMs: number, status: CandidateStatus, p: LivenessPolicy = defaultPolicy): number | null {
  const age = nowMs - detectedMs;
  if (age >= p.maxAgeMs) return null;
  if (status === 'expired') return nowMs + p.laterEveryMs;
  for (const [limit, every] of p.phases) if (age < limit) return nowMs + every;
  return nowMs + p.laterEveryMs;
}

/** Outcomes that say nothing about the endpoint (not counted as dead). */
const unknownOutcomes = new Set(['out-of-scope', 'not-tcp']);

/** The state after a check: dead streak, expiry and revival, the next check time. */
export function nextState(c: Pick<StoredCandidate, 'status' | 'deadStreak' | 'detectedAt'>, check: LivenessCheck, p: LivenessPolicy = defaultPolicy): LivenessState {
  const now = Date.parse(check.at);
  let status: CandidateStatus = c.status;
  let deadStreak = c.deadStreak;
  if (check.alive) {
    deadStreak = 0;
    status = 'active';
  } else if (!unknownOutcomes.has(check.outcome)) {
    deadStreak++;
    if (deadStreak >= p.expireAfterDead) status = 'expired';
  }
  const next = nextCheckMs(Date.parse(c.detectedAt), now, status, p);
  return { status, deadStreak, nextCheckAt: next === null ? NEVER : new Date(next).toISOString() };
}

/** One TCP connect through the guard; the connection is closed at once, nothing is sent. */
export async function checkEndpoint(scope: CompiledScope, ip: string, port: number, proto: 'tcp' | 'udp', p: LivenessPolicy = defaultPolicy, now: () => Date = () => new Date()): Promise<LivenessCheck> {
  const at = now().toISOString();
  if (proto !== 'tcp') return { ip, port, at, alive: false, outcome: 'not-tcp', ms: null };
  const limits: ConnectionLimits = { connectTimeoutMs: p.connectTimeoutMs, firstByteTimeoutMs: p.connectTimeoutMs, idleTimeoutMs: p.connectTimeoutMs, deadlineMs: p.connectTimeoutMs + 1000, maxBytes: 1 };
  const t0 = performance.now();
  const r = await openConnection(scope, ip, port, limits);
  const ms = Math.round((performance.now() - t0) * 10) / 10;
  if (r.status === 'success') {
    r.connection.close();
    return { ip, port, at, alive: true, outcome: 'connected', ms };
  }
  const outcome = r.status === 'blocklisted-target' ? 'out-of-scope' : r.status === 'connection-refused' ? 'refused' : r.status === 'connection-timeout' ? 'timeout' : r.status;
  return { ip, port, at, alive: false, outcome, ms: outcome === 'out-of-scope' ? null : ms };
}

export interface LivenessRun {
  readonly checked: number;
  readonly alive: number;
  readonly dead: number;
  readonly unknown: number;
  readonly expired: number;
  readonly revived: number;
  readonly checks: readonly (LivenessCheck & { readonly id: number; readonly status: CandidateStatus })[];
}

/** Check every candidate due now (a bounded number at a time) and store the outcomes and new states. */
export async function runDueChecks(store: Store, scope: CompiledScope, o: { readonly policy?: LivenessPolicy; readonly now?: () => Date; readonly concurrency?: number; readonly limit?: number } = {}): Promise<LivenessRun> {
  const p = o.policy ?? defaultPolicy;
  const now = o.now ?? (() => new Date());
  const due = await store.flows.due(now().toISOString(), o.limit);
  const checks: (LivenessCheck & { id: number; status: CandidateStatus })[] = [];
  let expired = 0;
  let revived = 0;
  let next = 0;
  const worker = async () => {
    while (next < due.length) {
      const c = due[next++]!;
      const check = await checkEndpoint(scope, c.ip, c.port, c.proto, p, now);
      const state = nextState(c, check, p);
      await store.flows.recordCheck(c.id, check, state);
      if (c.status === 'active' && state.status === 'expired') expired++;
      if (c.status === 'expired' && state.status === 'active') revived++;
      checks.push({ ...check, id: c.id, status: state.status });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? 32, due.length)) }, worker));
  return {
    checked: checks.length,
    alive: checks.filter((c) => c.alive).length,
    dead: checks.filter((c) => !c.alive && !unknownOutcomes.has(c.outcome)).length,
    unknown: checks.filter((c) => unknownOutcomes.has(c.outcome)).length,
    expired,
    revived,
    checks,
  };
}
