/**
 * Records that cross stages. Plain readonly JSON-serialisable data with a `kind` field; stages meet
 * here and never in each other's storage.
 */

/** An open TCP port found by discovery (or imported from masscan / zmap). */
export interface Endpoint {
  readonly kind: 'endpoint';
  /** The store's id, which later records cite; absent until the endpoint is stored. */
  readonly id?: number;
  readonly ip: string;
  readonly port: number;
  /** When the port was seen open, ISO 8601. */
  readonly seenAt: string;
  /** Which engine saw it. */
  readonly source: EndpointSource;
}

export type EndpointSource = 'connect' | 'masscan' | 'zmap' | 'zgrab2';

/** One port of a survey plan, with why it is in the plan. */
export interface PlanPort {
  readonly port: number;
  readonly service: string;
  readonly reason: string;
}

/** Closed set of probe outcomes (zgrab2-style). Discovery records only `open`. */
export type ProbeStatus = 'open' | 'closed' | 'timeout' | 'error';

/**
 * Device types identification assigns. The lab's profiles use a subset; rules map Recog's
 * `hw.device` values ("IP Camera", "WAP", "Broadband Router", ...) onto these.
 */
export const deviceTypes = [
  'router',
  'access-point',
  'modem',
  'switch',
  'firewall',
  'camera',
  'dvr',
  'nas',
  'printer',
  'iot',
  'voip',
  'media',
  'server',
  'other',
] as const;
export type DeviceType = (typeof deviceTypes)[number];

/**
 * The closed set of statuses a connection, and so a grab, ends with (zgrab2's set). Defined here
 * so records stay plain; the guard's connections (src/scope/connection.ts) use the same list.
 */
export const grabStatuses = [
  'success',
  'connection-refused',
  'connection-timeout',
  'io-timeout',
  'connection-closed',
  'protocol-error',
  'blocklisted-target',
  'unknown-error',
] as const;
export type GrabStatus = (typeof grabStatuses)[number];

/**
 * What one grab module saw at one endpoint (one row per endpoint and module tried). `fields` is the
 * module's parsed output, shaped as documented in src/grab/fields.ts; `raw` keeps the first bytes
 * the peer sent, bounded, so a rule written later can be run again over old surveys.
 */
export interface Observation {
  readonly kind: 'observation';
  readonly id?: number;
  readonly surveyId: number | null;
  /** The endpoint's store id; null only before the observation is attached to a stored endpoint. */
  readonly endpointId: number | null;
  readonly ip: string;
  readonly port: number;
  /** Grab module name (src/grab/index.ts). */
  readonly module: string;
  readonly status: GrabStatus;
  /** True when the peer spoke this module's protocol. */
  readonly recognised: boolean;
  readonly fields: Readonly<Record<string, unknown>>;
  /** Base64 of the first bytes received (at most rawCapBytes of src/grab/runner.ts). */
  readonly raw: string;
  /** Bytes received in all, which may exceed what `raw` keeps. */
  readonly bytesReceived: number;
  readonly error?: string;
  readonly observedAt: string;
  readonly durationMs: number;
  /** Who made it: iotclean's own grab, or an imported zgrab2 result. */
  readonly source: 'grab' | 'zgrab2';
}

/** Vendor / product / version of one layer (the device's hardware, its OS, or a service). */
export interface Identity {
  readonly vendor: string | null;
  readonly product: string | null;
  readonly version: string | null;
}

/** What the device-model catalogue knows of a model (src/identify/catalogue). */
export interface CatalogueEntry {
  readonly vendor: string;
  readonly model: string;
  readonly type: DeviceType;
  readonly releaseYear: number | null;
  /** ISO date (YYYY-MM-DD) the maker ended support, or null when unknown / still supported. */
  readonly endOfLife: string | null;
  readonly supportUrl: string | null;
  /** Key of the remediation manual for this model (notify and web use it). */
  readonly manual: string | null;
}

/**
 * Who a device is, per endpoint (`port` set) or per host (`port` null, merged across its ports).
 * The flat type/vendor/product/version are the device when known (router model, firmware),
 * else the service speaking on the port (OpenSSH 8.4p1); `device`, `os` and `service` keep each
 * layer apart. Unknown is null, never a guess.
 */
export interface Identification {
  readonly kind: 'identification';
  readonly id?: number;
  readonly surveyId: number | null;
  /** The endpoint for an endpoint-level row; null for the host-level row. */
  readonly endpointId: number | null;
  readonly ip: string;
  readonly port: number | null;
  /** Protocol spoken at the endpoint (grab module that recognised it); null at host level. */
  readonly protocol: string | null;
  readonly type: DeviceType | null;
  readonly vendor: string | null;
  readonly product: string | null;
  readonly version: string | null;
  readonly device: Identity | null;
  readonly os: Identity | null;
  readonly service: Identity | null;
  /** CPE 2.3 formatted strings (hardware, os, application), most specific first. */
  readonly cpe: readonly string[];
  /** 0…1; see src/identify/engine.ts for how it is combined. */
  readonly confidence: number;
  /** The rule that decided the flat fields ("recog:ssh_banners.xml:12", "iotclean:nec-aterm-title"), or null. */
  readonly rule: string | null;
  /** Every rule that matched, for a human to check. */
  readonly rules: readonly string[];
  readonly catalogue: CatalogueEntry | null;
  readonly identifiedAt: string;
}

/** The auth types the access stage checks (one module each, src/access/). */
export const accessProtocols = ['telnet', 'ssh', 'http-basic', 'http-digest', 'http-form'] as const;
export type AccessProtocol = (typeof accessProtocols)[number];

/**
 * How the weak-credential check of one service ended:
 * - weak-credential: a dictionary pair logged in and a random pair did not;
 * - no-weak-credential: the whole list was tried and refused;
 * - accepts-any: a random pair got in too (honeypot or broken device), never reported as weak;
 * - locked-out: the device started refusing everything (lock-out) and stayed so after the back-off;
 * - unsupported: it asks for a login this tool cannot drive (JavaScript login, second factor only);
 * - error: it could not be checked (reason says why: timeouts, closed, garbage).
 */
export const accessVerdicts = ['weak-credential', 'no-weak-credential', 'accepts-any', 'locked-out', 'unsupported', 'error'] as const;
export type AccessVerdict = (typeof accessVerdicts)[number];

/** How one try ended. */
export const attemptOutcomes = ['success', 'failure', 'locked-out', 'error'] as const;
export type AttemptOutcome = (typeof attemptOutcomes)[number];

/**
 * The outcome of the access stage for one service (ip, port, auth type). Reports and exports name
 * the dictionary entry id, never the password: the plaintext stays in the dictionary the plan
 * pins (the operator's store). `username` is the ID that worked, shown so an ISP can tell the
 * subscriber which account to change.
 */
export interface AccessResult {
  readonly kind: 'access-result';
  readonly id?: number;
  readonly surveyId: number | null;
  readonly endpointId: number | null;
  readonly ip: string;
  readonly port: number;
  readonly protocol: AccessProtocol;
  readonly verdict: AccessVerdict;
  /** The dictionary entry that worked (weak-credential), else null. */
  readonly entry: string | null;
  readonly username: string | null;
  /** Why, for verdicts other than weak/no-weak ("JavaScript login", "locked after 5 failures"). */
  readonly reason: string | null;
  /** Tries made, the random control pairs included. */
  readonly attempts: number;
  /** The plan the survey ran (digest and version) and the dictionary it pinned. */
  readonly planDigest: string | null;
  readonly planVersion: string | null;
  readonly dictionary: { readonly name: string; readonly version: string; readonly digest: string };
  readonly startedAt: string;
  readonly finishedAt: string;
}

/** One try, for the audit: every attempt the stage makes is stored. */
export interface AccessAttemptRecord {
  readonly kind: 'access-attempt';
  readonly id?: number;
  readonly surveyId: number | null;
  readonly ip: string;
  readonly port: number;
  readonly protocol: AccessProtocol;
  /** Dictionary entry id, or `control:<n>` for a random pair (accepts-any check). */
  readonly entry: string;
  readonly username: string;
  readonly outcome: AttemptOutcome;
  readonly at: string;
  readonly durationMs: number;
  readonly detail: string | null;
  readonly planVersion: string | null;
}

/** How the vuln stage judged one CVE against one device (NIST IR 7696 matching, see src/vuln/). */
export const vulnStatuses = ['affected', 'not-affected', 'unknown'] as const;
export type VulnStatus = (typeof vulnStatuses)[number];

/** Alert levels, most urgent first. Findings and threat levels share them. */
export const severities = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof severities)[number];

/**
 * What makes one CVE match worth an alert: the facts, then the level derived from them by the
 * documented rule in src/vuln/threat.ts. Unknown facts are null, never zero.
 */
export interface ThreatLevel {
  readonly level: Severity;
  /** Listed in CISA KEV, and KEV's `knownRansomwareCampaignUse` ("Known" → true, "Unknown" → null). */
  readonly kev: boolean;
  readonly kevDateAdded: string | null;
  readonly ransomware: boolean | null;
  /** FIRST EPSS probability (0…1) and percentile, with the score date. */
  readonly epss: number | null;
  readonly epssPercentile: number | null;
  readonly epssDate: string | null;
  /** Highest CVSS base score found (v4.0 preferred, then v3.1, v3.0), with its version and vector. */
  readonly cvss: { readonly version: string; readonly score: number; readonly vector: string } | null;
  /** A public exploit is known (KEV listing, or an NVD reference tagged "Exploit"). */
  readonly exploitPublic: boolean;
  /** Devices in the survey matched as affected by this CVE (prevalence in the surveyed space). */
  readonly devicesAffected: number;
}

/** One CVE considered for one identified device (host-level identification). */
export interface VulnerabilityMatch {
  readonly kind: 'vulnerability-match';
  readonly id?: number;
  readonly surveyId: number | null;
  /** The host-level identification matched. */
  readonly identificationId: number | null;
  readonly ip: string;
  readonly cve: string;
  readonly status: VulnStatus;
  /** The device CPE(s) the decision used. */
  readonly cpe: readonly string[];
  /** Which configuration node and version bound decided it, for a human to check. */
  readonly reason: string;
  readonly threat: ThreatLevel;
  readonly matchedAt: string;
}

/** Kinds of notifiable problem; one harmonised finding record for all (src/findings/). */
export const findingKinds = [
  'weak-credential',
  'firmware-vulnerability',
  'infected',
  'exposed-service',
  'unauthenticated-admin',
  'end-of-life',
  'c2-server',
] as const;
export type FindingKind = (typeof findingKinds)[number];

/** The device a finding is about, as identified (null where unknown). */
export interface FindingDevice {
  readonly type: DeviceType | null;
  readonly vendor: string | null;
  readonly model: string | null;
  readonly firmware: string | null;
}

/** A stored record a finding rests on, so a human can check it (the raw evidence is kept there). */
export interface EvidenceRef {
  readonly record: 'observation' | 'identification' | 'access-result' | 'vulnerability-match' | 'infection' | 'c2-candidate';
  /** The store id; for records not in the store (a darknet capture's source-day) a stable key. */
  readonly id: number | string;
}

/** Why a finding is held instead of sent (attribution found no participant to notify). */
export const holdReasons = ['no-isp', 'not-participating', 'resold-no-participant'] as const;
export type HoldReason = (typeof holdReasons)[number];

/**
 * One notifiable problem at one ip[:port] at one time. Unlike stage records, `kind` here is the
 * finding's kind (IntelMQ's classification.type): every finding record is a finding. Deduplicated
 * per (kind, ip, port, period). No plaintext password ever: weak credentials name the dictionary
 * entry in `details.entry`. The field list with types and descriptions is src/findings/schema.ts.
 */
export interface Finding {
  readonly kind: FindingKind;
  readonly id?: number;
  readonly ip: string;
  /** Null for host-level findings (an infected host, end-of-life device). */
  readonly port: number | null;
  /** Protocol or auth type (telnet, ssh, http-basic, ...), null when not port-bound. */
  readonly protocol: string | null;
  /** When the problem was observed, ISO 8601 UTC. */
  readonly observedAt: string;
  /** Deduplication period, e.g. "2026-12" (monthly survey) or "2026-12-01" (darknet day). */
  readonly period: string;
  readonly device: FindingDevice;
  readonly severity: Severity;
  /** Kind-specific facts (entry, username, cves, threat, fingerprint, reason, ...), see the schema. */
  readonly details: Readonly<Record<string, unknown>>;
  readonly evidence: readonly EvidenceRef[];
  readonly surveyId: number | null;
  readonly planVersion: string | null;
  /** The ISP to notify (longest-prefix match, resellers walked up), or null when held. */
  readonly isp: string | null;
  /** The ISP whose prefix holds the address, participating or not (null: no prefix). */
  readonly prefixOwner: string | null;
  readonly held: HoldReason | null;
}

/** A centre → ISP batch: one ISP's findings, with a ticket id the ISP quotes back. */
export interface NotificationBatch {
  readonly kind: 'notification-batch';
  /** Unique, e.g. "IOTC-20261201-ispa-0001". */
  readonly ticket: string;
  readonly isp: string;
  readonly createdAt: string;
  readonly findings: readonly Finding[];
}
