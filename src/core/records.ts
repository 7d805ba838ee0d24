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
