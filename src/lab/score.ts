/**
 * Scoring identification against the lab's ground truth, one definition for tests and benchmarks
 * (issue 6: ≥98% of devices with the right type and vendor, no device identified wrongly at high
 * confidence, unknown devices staying unknown). Detection code never imports this module.
 *
 * Per device (host level):
 * - known:     right when type and vendor both match; wrong when either differs (wrong at high
 *              confidence when the claim's confidence ≥ `highConfidence`); missed when no vendor
 *              or type was claimed.
 * - ambiguous: its maker is not knowable, so any vendor claim is wrong; a type alone is allowed.
 * - unknown:   kept when neither type nor vendor was claimed, else wrong.
 * Vendors compare by their letters and digits, case-folded ("TP-LINK" = "TP-Link"), and one may
 * contain the other ("Hikvision" = "Hangzhou Hikvision Digital Technology").
 */
import type { GroundTruth, GroundTruthDevice } from './ground-truth.js';

/** The host-level claim of identification for one address (an Identification host row). */
export interface HostClaim {
  readonly ip: string;
  readonly type: string | null;
  readonly vendor: string | null;
  readonly confidence: number;
}

export type Verdict = 'right' | 'wrong' | 'missed' | 'kept-unknown';

/** One device's score. */
export interface ScoredDevice {
  readonly ip: string;
  readonly profile: string;
  readonly identity: NonNullable<GroundTruthDevice['identity']>;
  readonly expected: { readonly type: string; readonly vendor: string };
  readonly claim: HostClaim | null;
  readonly verdict: Verdict;
  readonly highConfidence: boolean;
}

/** Totals over the lab. `rightShare` is right / known (1 when there are no known devices). */
export interface IdentificationScore {
  readonly devices: number;
  readonly known: number;
  readonly right: number;
  readonly missed: number;
  readonly wrong: number;
  /** Devices of any identity given a wrong type or vendor at high confidence: must be 0. */
  readonly wrongHighConfidence: number;
  readonly ambiguous: number;
  readonly unknown: number;
  /** Unknown devices left unknown: must equal `unknown`. */
  readonly unknownKept: number;
  readonly rightShare: number;
  readonly scored: readonly ScoredDevice[];
}

/** Vendor names compared by letters and digits only, case-folded. */
export function vendorKey(vendor: string): string {
  return vendor.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Whether a claimed vendor names the expected one. */
export function sameVendor(expected: string, claimed: string | null): boolean {
  if (claimed === null) return false;
  const a = vendorKey(expected);
  const b = vendorKey(claimed);
  return a.length > 0 && b.length > 0 && (a === b || a.includes(b) || b.includes(a));
}

function verdictOf(d: GroundTruthDevice, claim: HostClaim | null): Verdict {
  const identity = d.identity ?? 'known';
  const type = claim?.type ?? null;
  const vendor = claim?.vendor ?? null;
  if (identity === 'unknown') return type === null && vendor === null ? 'kept-unknown' : 'wrong';
  if (identity === 'ambiguous') {
    if (vendor !== null) return 'wrong';
    return type === null ? 'kept-unknown' : type === d.type ? 'right' : 'wrong';
  }
  if (type === null && vendor === null) return 'missed';
  return type === d.type && sameVendor(d.vendor, vendor) ? 'right' : 'wrong';
}

/** Score host-level claims (one per address; addresses without one count as no claim). */
export function scoreIdentifications(truth: GroundTruth, claims: readonly HostClaim[], opts: { readonly highConfidence?: number } = {}): IdentificationScore {
  const high = opts.highConfidence ?? 0.7;
  const byIp = new Map(claims.map((c) => [c.ip, c]));
  const scored = truth.devices.map((d): ScoredDevice => {
    const claim = byIp.get(d.ip) ?? null;
    const verdict = verdictOf(d, claim);
    return {
      ip: d.ip,
      profile: d.profile,
      identity: d.identity ?? 'known',
      expected: { type: d.type, vendor: d.vendor },
      claim,
      verdict,
      highConfidence: verdict === 'wrong' && (claim?.confidence ?? 0) >= high,
    };
  });
  const count = (pred: (s: ScoredDevice) => boolean): number => scored.filter(pred).length;
  const known = count((s) => s.identity === 'known');
  const right = count((s) => s.identity === 'known' && s.verdict === 'right');
  return {
    devices: scored.length,
    known,
    right,
    missed: count((s) => s.verdict === 'missed'),
    wrong: count((s) => s.verdict === 'wrong'),
    wrongHighConfidence: count((s) => s.highConfidence),
    ambiguous: count((s) => s.identity === 'ambiguous'),
    unknown: count((s) => s.identity === 'unknown'),
    unknownKept: count((s) => s.identity === 'unknown' && s.verdict === 'kept-unknown'),
    rightShare: known === 0 ? 1 : right / known,
    scored,
  };
}

/** The service claim at one endpoint, by the device's real port (not the bound one). */
export interface ServiceClaim {
  readonly ip: string;
  readonly port: number;
  readonly product: string | null;
  readonly version: string | null;
}

/** Service software scored where the truth names it: product (as vendorKey compares) and version. */
export function scoreServices(truth: GroundTruth, claims: readonly ServiceClaim[]): { readonly expected: number; readonly product: number; readonly version: number } {
  const byEndpoint = new Map(claims.map((c) => [`${c.ip}:${c.port}`, c]));
  let expected = 0;
  let product = 0;
  let version = 0;
  for (const d of truth.devices) {
    for (const s of d.services) {
      if (!s.software) continue;
      expected++;
      const c = byEndpoint.get(`${d.ip}:${s.port}`);
      if (!c || !sameVendor(s.software.product, c.product)) continue;
      product++;
      if (s.software.version === undefined || c.version === s.software.version) version++;
    }
  }
  return { expected, product, version };
}
