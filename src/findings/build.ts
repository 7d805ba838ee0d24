/**
 * Pure builders: stage records in, findings out. Each returns a validated Finding (or undefined
 * when the record is not a problem) and never touches the store. Findings come out unattributed,
 * which is held `no-isp` (fail safe: a finding nobody attributed is never sent); attribute.ts sets
 * the ISP.
 *
 * Period rule (src/findings/schema.ts periodOf): survey findings use the UTC month of observedAt,
 * darknet findings the UTC day of the capture summary.
 *
 * Severity rule:
 * - weak-credential: critical on telnet and ssh (Mirai-class bots log in there and take the device
 *   over), high on web logins (http-basic, http-digest, http-form);
 * - firmware-vulnerability: the worst threat level among the host's affected CVEs (src/vuln/threat.ts);
 * - infected: critical (the device is already attacking others);
 * - exposure, unauthenticated-admin, end-of-life: whatever their builder chose (passThrough only
 *   validates); defaultSeverity gives the documented defaults.
 */
import { IotcleanError } from '../core/errors.js';
import { severities, type AccessResult, type EvidenceRef, type Finding, type FindingDevice, type FindingKind, type Identification, type Severity, type VulnerabilityMatch } from '../core/records.js';
import type { InfectionCandidate } from '../darknet/analyse.js';
import { checkFinding, maxCves, maxEvidence, periodOf } from './schema.js';

/** Severity a kind gets when its builder has nothing better (see the module comment). */
export const defaultSeverity: Readonly<Record<FindingKind, Severity>> = {
  'weak-credential': 'high',
  'firmware-vulnerability': 'medium',
  infected: 'critical',
  'exposed-service': 'medium',
  'unauthenticated-admin': 'high',
  'end-of-life': 'low',
  'c2-server': 'critical',
};

/** How attribution starts: held `no-isp` until attribute.ts finds the ISP. */
const unattributed = { isp: null, prefixOwner: null, held: 'no-isp' } as const;

const unknownDevice: FindingDevice = { type: null, vendor: null, model: null, firmware: null };

/** 0 for critical … 4 for info: lower is more urgent. */
export function severityRank(s: Severity): number {
  return severities.indexOf(s);
}

/** The more urgent of two severities. */
export function worse(a: Severity, b: Severity): Severity {
  return severityRank(a) <= severityRank(b) ? a : b;
}

/**
 * The device as a finding names it, from a host-level identification: the device layer when it
 * was recognised, else the catalogue entry; the service speaking on a port (OpenSSH) is not the
 * device and is never used. Unknown parts stay null.
 */
export function deviceOf(id: Identification | undefined): FindingDevice {
  if (!id) return unknownDevice;
  return {
    type: id.type ?? id.catalogue?.type ?? null,
    vendor: id.device?.vendor ?? id.catalogue?.vendor ?? null,
    model: id.device?.product ?? id.catalogue?.model ?? null,
    firmware: id.device?.version ?? null,
  };
}

const utc = (t: string): string => {
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new IotcleanError('E_FINDING', `time "${t.slice(0, 64)}" is not an ISO 8601 time`, { hint: 'this is a bug in the stage that made the record' });
  return new Date(ms).toISOString();
};

const identificationRef = (id: Identification | undefined): EvidenceRef[] => (id?.id !== undefined ? [{ record: 'identification', id: id.id }] : []);

/**
 * A weak-credential finding from one access result, or undefined for any other verdict. `host` is
 * the address's host-level identification (device, model, firmware), when there is one.
 */
export function fromAccessResult(r: AccessResult, host?: Identification): Finding | undefined {
  if (r.verdict !== 'weak-credential' || r.entry === null) return undefined;
  const observedAt = utc(r.finishedAt);
  return checkFinding({
    kind: 'weak-credential',
    ip: r.ip,
    port: r.port,
    protocol: r.protocol,
    observedAt,
    period: periodOf('weak-credential', observedAt),
    device: deviceOf(host),
    severity: r.protocol === 'telnet' || r.protocol === 'ssh' ? 'critical' : 'high',
    details: { entry: r.entry, username: r.username, authType: r.protocol },
    evidence: [{ record: 'access-result', id: r.id ?? `${r.surveyId ?? '-'}:${r.ip}:${r.port}:${r.protocol}` }, ...identificationRef(host)],
    surveyId: r.surveyId,
    planVersion: r.planVersion,
    ...unattributed,
  } satisfies Finding);
}

/**
 * One firmware-vulnerability finding for one host from its vulnerability matches: the affected
 * CVEs, most urgent first, with severity the worst threat level. Undefined when none is affected.
 * Every match must be of the same address (one host's matches), or E_FINDING.
 */
export function fromVulnerabilityMatches(matches: readonly VulnerabilityMatch[], host?: Identification): Finding | undefined {
  const ip = matches[0]?.ip;
  const other = matches.find((m) => m.ip !== ip);
  if (other) {
    throw new IotcleanError('E_FINDING', `vulnerability matches of ${String(ip)} and ${other.ip} given as one host's`, { hint: 'group matches by address before building findings (one finding per host)' });
  }
  const affected = matches
    .filter((m) => m.status === 'affected')
    .sort((a, b) => severityRank(a.threat.level) - severityRank(b.threat.level) || (b.threat.epss ?? -1) - (a.threat.epss ?? -1) || (a.cve < b.cve ? -1 : a.cve > b.cve ? 1 : 0));
  // One CVE listed once, with its most urgent match (a CVE can match through several CPEs).
  const seen = new Set<string>();
  const unique = affected.filter((m) => !seen.has(m.cve) && (seen.add(m.cve), true));
  const first = unique[0];
  if (!first) return undefined;
  const level = unique.reduce<Severity>((acc, m) => worse(acc, m.threat.level), 'info');
  const max = (xs: (number | null)[]): number | null => xs.reduce<number | null>((acc, x) => (x === null ? acc : acc === null ? x : Math.max(acc, x)), null);
  const observedAt = utc(host?.identifiedAt ?? unique.map((m) => m.matchedAt).sort()[0]!);
  const refs: EvidenceRef[] = [...identificationRef(host), ...unique.map((m): EvidenceRef => ({ record: 'vulnerability-match', id: m.id ?? `${m.ip}:${m.cve}` }))];
  return checkFinding({
    kind: 'firmware-vulnerability',
    ip: first.ip,
    port: null,
    protocol: null,
    observedAt,
    period: periodOf('firmware-vulnerability', observedAt),
    device: deviceOf(host),
    severity: level,
    details: {
      cves: unique.slice(0, maxCves).map((m) => ({ cve: m.cve, status: m.status, kev: m.threat.kev, epss: m.threat.epss, cvss: m.threat.cvss?.score ?? null, level: m.threat.level })),
      threat: {
        level,
        cves: unique.length,
        kev: unique.filter((m) => m.threat.kev).length,
        maxEpss: max(unique.map((m) => m.threat.epss)),
        maxCvss: max(unique.map((m) => m.threat.cvss?.score ?? null)),
      },
    },
    evidence: refs.slice(0, maxEvidence),
    surveyId: first.surveyId ?? host?.surveyId ?? null,
    planVersion: null,
    ...unattributed,
  } satisfies Finding);
}

/**
 * An infected finding from one darknet infection candidate (one source and UTC day). observedAt
 * is the first packet of that day; the period is the candidate's day. `device` when a survey
 * identified the address (joined by the caller).
 */
export function fromInfectionCandidate(c: InfectionCandidate, device: FindingDevice = unknownDevice): Finding {
  const first = utc(c.firstSeen);
  // The summary's day is authoritative; a first packet stamped outside it is clamped to the day.
  const observedAt = first.startsWith(c.day) ? first : `${c.day}T00:00:00.000Z`;
  return checkFinding({
    kind: 'infected',
    ip: c.ip,
    port: null,
    protocol: null,
    observedAt,
    period: c.day,
    device,
    severity: 'critical',
    details: {
      fingerprint: c.fingerprint,
      packets: c.packets,
      destinations: c.destinations,
      // Port 0 is a real destination in hostile traffic but names no service: left out.
      ports: c.ports.filter((p) => Number.isInteger(p) && p >= 1 && p <= 65535).slice(0, 64),
      confidence: Math.min(1, Math.max(0, c.confidence)),
      day: c.day,
    },
    evidence: [{ record: 'infection', id: `${c.ip}@${c.day}` }],
    surveyId: null,
    planVersion: null,
    ...unattributed,
  } satisfies Finding);
}

/**
 * Findings other stages build themselves (exposed-service, unauthenticated-admin, end-of-life):
 * validated as they are, or E_FINDING naming the bad field. Attribution comes later either way.
 */
export function passThrough(f: unknown): Finding {
  return checkFinding(f);
}
