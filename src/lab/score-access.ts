/**
 * Scoring the access stage against the lab's ground truth, one definition for tests and benchmarks
 * (issue 7: every weak-credential device found with a pair it really accepts, zero false positives,
 * honeypots `accepts-any`, lock-out devices not locked for longer than their window). Detection code
 * never imports this module.
 *
 * Scored services are those whose lab auth is one of {@link accessAuths}. Per service:
 * - honeypot device:   expected `accepts-any`; a weak verdict is a false positive;
 * - weak device:       expected `weak-credential` with a pair the device accepts (any accepted pair
 *                      counts: a device may accept a pair other than the one drawn for it);
 * - lock-out device:   not weak: `locked-out` or `no-weak-credential` are both right;
 * - any other device:  expected `no-weak-credential`; a weak verdict is a false positive.
 * A weak verdict naming an entry whose pair the device does not accept is a false positive too, as
 * is a weak verdict at an endpoint the truth has no scored service for. Results are matched by
 * address and port, the bound port first (what a survey connects to) and the device port second.
 */
import type { AccessProtocol, AccessResult, AccessVerdict } from '../core/records.js';
import type { GroundTruth, GroundTruthDevice, GroundTruthService } from './ground-truth.js';
import type { LabAuth, LabCredential } from './types.js';

/** Lab auth → the access protocol that checks it; the lab services scored for access. */
export const accessAuths: Readonly<Partial<Record<LabAuth, AccessProtocol>>> = {
  'telnet-login': 'telnet',
  ssh: 'ssh',
  'http-basic': 'http-basic',
  'http-digest': 'http-digest',
  'http-form': 'http-form',
};

/** The access protocol of a lab service, or null when access does not score it. */
export function accessProtocolOf(auth: LabAuth): AccessProtocol | null {
  return accessAuths[auth] ?? null;
}

/** What the truth expects of one service. */
export type AccessExpectation = 'weak-credential' | 'no-weak-credential' | 'accepts-any' | 'not-weak';

/**
 * How one scored service came out:
 * - found: weak expected, a weak verdict with a pair the device accepts;
 * - missed: weak expected and not found (no result counts as missed too, and in `noResult`);
 * - false-positive: a weak verdict where none is right, or with a pair the device refuses;
 * - accepts-any: a honeypot service marked so;
 * - honeypot-other: a honeypot service with any other non-weak verdict (or no result);
 * - clean: a non-weak, non-honeypot service that got no weak verdict (or no result).
 */
export type AccessOutcome = 'found' | 'missed' | 'false-positive' | 'accepts-any' | 'honeypot-other' | 'clean';

/** One scored service. */
export interface ScoredAccessService {
  readonly deviceId: string;
  readonly ip: string;
  readonly profile: string;
  readonly behaviour: GroundTruthDevice['behaviour'];
  /** The device's port and where the lab bound it. */
  readonly port: number;
  readonly boundPort: number;
  readonly protocol: AccessProtocol;
  readonly expected: AccessExpectation;
  /** Verdicts of the results for this service, in input order (normally one). */
  readonly got: readonly AccessVerdict[];
  readonly outcome: AccessOutcome;
  /** Why, for false positives and misses ("entry mirai-004 (admin) is not accepted"). */
  readonly why?: string;
}

/** A result at an endpoint with no scored service (another port, another protocol, no device). */
export interface StrayAccessResult {
  readonly ip: string;
  readonly port: number;
  readonly protocol: AccessProtocol;
  readonly verdict: AccessVerdict;
  /** A weak verdict here is always a false positive. */
  readonly falsePositive: boolean;
}

/** Per device: whether a weak device was found on at least one of its services. */
export interface ScoredAccessDevice {
  readonly deviceId: string;
  readonly ip: string;
  readonly profile: string;
  readonly behaviour: GroundTruthDevice['behaviour'];
  readonly weak: boolean;
  readonly services: number;
  readonly found: boolean;
  readonly falsePositives: number;
}

/** Totals of one access protocol. */
export interface ProtocolTotals {
  readonly services: number;
  readonly weakServices: number;
  readonly weakFound: number;
  readonly falsePositives: number;
}

/** Totals over the lab. */
export interface AccessScore {
  /** Scored services (auth among {@link accessAuths}). */
  readonly services: number;
  /** Services of weak devices, and those found / missed. */
  readonly weakServices: number;
  readonly weakFound: number;
  readonly weakMissed: number;
  /** Weak devices with at least one scored service, and those found on at least one. */
  readonly weakDevices: number;
  readonly weakDevicesFound: number;
  /** Every false positive: scored services and stray results. Must be 0. */
  readonly falsePositives: number;
  readonly honeypotServices: number;
  readonly honeypotsAcceptsAny: number;
  readonly honeypotsOther: number;
  /** Verdict → count over the services of lock-out devices. */
  readonly lockoutVerdicts: Readonly<Partial<Record<AccessVerdict | 'no-result', number>>>;
  /** Scored services without any result. */
  readonly noResult: number;
  /** The same totals per access protocol (stray false positives under their result's protocol). */
  readonly byProtocol: Readonly<Partial<Record<AccessProtocol, ProtocolTotals>>>;
  readonly scored: readonly ScoredAccessService[];
  readonly devices: readonly ScoredAccessDevice[];
  readonly stray: readonly StrayAccessResult[];
}

/** The pair of a dictionary entry id, or undefined when the entry is unknown. */
export type EntryPair = (entryId: string) => LabCredential | undefined;

function expectationOf(d: GroundTruthDevice): AccessExpectation {
  if (d.behaviour === 'honeypot') return 'accepts-any';
  if (d.weak) return 'weak-credential';
  return d.behaviour === 'lockout' ? 'not-weak' : 'no-weak-credential';
}

/** Why a weak verdict on this device is wrong, or undefined when its pair really logs in. */
function wrongPair(d: GroundTruthDevice, r: AccessResult, entryPair: EntryPair): string | undefined {
  if (d.behaviour === 'honeypot') return 'a honeypot accepts any pair: must be accepts-any';
  if (r.entry === null) return 'a weak verdict without an entry';
  const pair = entryPair(r.entry);
  if (!pair) return `entry ${r.entry} is not in the dictionary`;
  const ok = d.credentials.some((c) => c.username === pair.username && c.password === pair.password);
  return ok ? undefined : `entry ${r.entry} (${pair.username}) is not accepted by the device`;
}

function outcomeOf(d: GroundTruthDevice, expected: AccessExpectation, results: readonly AccessResult[], entryPair: EntryPair): { outcome: AccessOutcome; why?: string } {
  for (const r of results) {
    if (r.verdict !== 'weak-credential') continue;
    const why = wrongPair(d, r, entryPair);
    if (why !== undefined) return { outcome: 'false-positive', why };
  }
  const verdicts = results.map((r) => r.verdict);
  if (expected === 'accepts-any') {
    return verdicts.includes('accepts-any') ? { outcome: 'accepts-any' } : { outcome: 'honeypot-other', why: verdicts.length ? `got ${verdicts.join(', ')}` : 'no result' };
  }
  if (expected === 'weak-credential') {
    return verdicts.includes('weak-credential') ? { outcome: 'found' } : { outcome: 'missed', why: verdicts.length ? `got ${verdicts.join(', ')}` : 'no result' };
  }
  // A weak verdict on a device that is not weak: its pair is accepted only if the lab's strong
  // password happens to be in the list, which it never is; wrongPair caught it above either way.
  return { outcome: 'clean' };
}

/**
 * Score access results against the truth. `entryPair` gives the pair of a dictionary entry id
 * (from the dictionary the survey ran), so a weak verdict can be checked against what the device
 * really accepts without results ever carrying a password.
 */
export function scoreAccess(truth: GroundTruth, results: readonly AccessResult[], entryPair: EntryPair): AccessScore {
  // Endpoint key → the scored service there (bound port first, device port second).
  const byBound = new Map<string, { device: GroundTruthDevice; service: GroundTruthService; protocol: AccessProtocol }>();
  const byPort = new Map<string, { device: GroundTruthDevice; service: GroundTruthService; protocol: AccessProtocol }>();
  for (const device of truth.devices) {
    for (const service of device.services) {
      const protocol = accessProtocolOf(service.auth);
      if (protocol === null) continue;
      byBound.set(`${device.ip}:${service.boundPort}`, { device, service, protocol });
      byPort.set(`${device.ip}:${service.port}`, { device, service, protocol });
    }
  }
  const perService = new Map<GroundTruthService, AccessResult[]>();
  const stray: StrayAccessResult[] = [];
  for (const r of results) {
    const key = `${r.ip}:${r.port}`;
    const hit = byBound.get(key) ?? byPort.get(key);
    if (!hit || hit.protocol !== r.protocol) {
      stray.push({ ip: r.ip, port: r.port, protocol: r.protocol, verdict: r.verdict, falsePositive: r.verdict === 'weak-credential' });
      continue;
    }
    const list = perService.get(hit.service) ?? [];
    list.push(r);
    perService.set(hit.service, list);
  }

  const scored: ScoredAccessService[] = [];
  const devices: ScoredAccessDevice[] = [];
  for (const device of truth.devices) {
    const mine: ScoredAccessService[] = [];
    for (const service of device.services) {
      const protocol = accessProtocolOf(service.auth);
      if (protocol === null) continue;
      const expected = expectationOf(device);
      const got = perService.get(service) ?? [];
      const { outcome, why } = outcomeOf(device, expected, got, entryPair);
      mine.push({
        deviceId: device.id,
        ip: device.ip,
        profile: device.profile,
        behaviour: device.behaviour,
        port: service.port,
        boundPort: service.boundPort,
        protocol,
        expected,
        got: got.map((r) => r.verdict),
        outcome,
        ...(why !== undefined ? { why } : {}),
      });
    }
    if (mine.length === 0) continue;
    scored.push(...mine);
    devices.push({
      deviceId: device.id,
      ip: device.ip,
      profile: device.profile,
      behaviour: device.behaviour,
      weak: device.weak && device.behaviour !== 'honeypot',
      services: mine.length,
      found: mine.some((s) => s.outcome === 'found'),
      falsePositives: mine.filter((s) => s.outcome === 'false-positive').length,
    });
  }

  const count = (pred: (s: ScoredAccessService) => boolean): number => scored.filter(pred).length;
  const lockoutVerdicts: Partial<Record<AccessVerdict | 'no-result', number>> = {};
  for (const s of scored) {
    if (s.behaviour !== 'lockout') continue;
    for (const v of s.got.length ? s.got : (['no-result'] as const)) lockoutVerdicts[v] = (lockoutVerdicts[v] ?? 0) + 1;
  }
  const byProtocol: Partial<Record<AccessProtocol, { services: number; weakServices: number; weakFound: number; falsePositives: number }>> = {};
  const totals = (p: AccessProtocol) => (byProtocol[p] ??= { services: 0, weakServices: 0, weakFound: 0, falsePositives: 0 });
  for (const s of scored) {
    const t = totals(s.protocol);
    t.services++;
    if (s.expected === 'weak-credential') t.weakServices++;
    if (s.outcome === 'found') t.weakFound++;
    if (s.outcome === 'false-positive') t.falsePositives++;
  }
  for (const r of stray) if (r.falsePositive) totals(r.protocol).falsePositives++;
  const weakServices = count((s) => s.expected === 'weak-credential');
  const weakFound = count((s) => s.outcome === 'found');
  return {
    services: scored.length,
    weakServices,
    weakFound,
    // A weak service with a wrong pair is a false positive, and not found either.
    weakMissed: weakServices - weakFound,
    weakDevices: devices.filter((d) => d.weak).length,
    weakDevicesFound: devices.filter((d) => d.weak && d.found).length,
    falsePositives: count((s) => s.outcome === 'false-positive') + stray.filter((s) => s.falsePositive).length,
    honeypotServices: count((s) => s.expected === 'accepts-any'),
    honeypotsAcceptsAny: count((s) => s.outcome === 'accepts-any'),
    honeypotsOther: count((s) => s.outcome === 'honeypot-other'),
    lockoutVerdicts,
    noResult: count((s) => s.got.length === 0),
    byProtocol,
    scored,
    devices,
    stray,
  };
}
