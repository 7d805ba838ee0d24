/**
 * The one schema, as Kysely table types. Both back ends (SQLite now, PostgreSQL next) use it;
 * JSON columns are text so the same queries run on both.
 */
import type { ColumnType, Generated } from 'kysely';

/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface PlanVersionTable {
  /** sha256 of the canonical plan JSON: the plan version that results cite. */
  digest: string;
  version: string;
  name: string;
  body: string;
  created_at: string;
}

export type SurveyStatus = 'running' | 'done' | 'interrupted' | 'failed';

export interface SurveyTable {
  id: Generated<number>;
  plan_digest: string;
  /** JSON: { source, ranges } of the authorised scope used. */
  scope: string;
  /** JSON: target ranges actually probed. */
  targets: string;
  /** JSON: port numbers probed (after any lab port map). */
  ports: string;
  seed: number;
  shard_index: number;
  shard_count: number;
  workers: number;
  status: SurveyStatus;
  /** JSON: per-worker watermarks; a resumed run starts there. */
  checkpoint: string;
  started_at: string;
  finished_at: string | null;
  probes_sent: Defaulted<number>;
  elapsed_ms: Defaulted<number>;
  /** The runner holding the survey (host:pid:random), or null when none does. */
  lease_owner: Defaulted<string | null>;
  /** Epoch ms: when the holder took the lease, and when it lapses unless renewed. */
  lease_taken_at: Defaulted<number | null>;
  lease_expires_at: Defaulted<number | null>;
}

export interface EndpointTable {
  /** Stable id that later records (observations, access results) cite. */
  id: Generated<number>;
  survey_id: number;
  ip: string;
  /** The address as an unsigned 32-bit number, for range queries and attribution. */
  ip_num: number;
  port: number;
  seen_at: string;
  source: string;
}

/** One grab module's observation of one endpoint (records.ts Observation). */
export interface ObservationTable {
  id: Generated<number>;
  survey_id: number | null;
  endpoint_id: number | null;
  ip: string;
  ip_num: number;
  port: number;
  module: string;
  status: string;
  /** 0 or 1 (SQLite has no boolean). */
  recognised: number;
  /** JSON of Observation.fields. */
  fields: string;
  /** Base64, bounded. */
  raw: string;
  bytes_received: number;
  error: string | null;
  observed_at: string;
  duration_ms: number;
  source: string;
}

/** One identification: an endpoint row, or the host row (endpoint_id and port null). */
export interface IdentificationTable {
  id: Generated<number>;
  survey_id: number | null;
  endpoint_id: number | null;
  ip: string;
  ip_num: number;
  port: number | null;
  protocol: string | null;
  type: string | null;
  vendor: string | null;
  product: string | null;
  version: string | null;
  /** JSON array of CPE 2.3 strings. */
  cpe: string;
  confidence: number;
  rule: string | null;
  /** JSON of the whole Identification (what readers return); the flat columns are for queries. */
  body: string;
  identified_at: string;
}

/** One service's weak-credential result (records.ts AccessResult); one row per (survey, ip, port, protocol). */
export interface AccessResultTable {
  id: Generated<number>;
  survey_id: number | null;
  endpoint_id: number | null;
  ip: string;
  ip_num: number;
  port: number;
  protocol: string;
  verdict: string;
  /** Dictionary entry id that worked (weak-credential only); never a password. */
  entry: string | null;
  username: string | null;
  reason: string | null;
  attempts: number;
  plan_digest: string | null;
  plan_version: string | null;
  /** JSON: { name, version, digest } of the dictionary the plan pinned. */
  dictionary: string;
  started_at: string;
  finished_at: string;
  /** JSON of the exact text fields the flat columns could not hold (NUL, lone surrogates), else null. */
  exact: string | null;
}

/** One try of the access stage (records.ts AccessAttemptRecord): the audit, append-only. */
export interface AccessAttemptTable {
  id: Generated<number>;
  survey_id: number | null;
  ip: string;
  ip_num: number;
  port: number;
  protocol: string;
  /** Dictionary entry id, or control:<n> for a random pair. */
  entry: string;
  username: string;
  outcome: string;
  at: string;
  duration_ms: number;
  detail: string | null;
  plan_version: string | null;
  /** As AccessResultTable.exact. */
  exact: string | null;
}

/** What one source (nvd, cve5) said about a CVE: its normalised CveRecord as JSON. */
export interface VulnCveSourceTable {
  cve: string;
  source: string;
  last_modified: string | null;
  body: string;
}

/** The merged CveRecord of every source (JSON), what the matcher reads. */
export interface VulnCveTable {
  id: string;
  last_modified: string | null;
  /** JSON array of the sources merged. */
  sources: string;
  body: string;
}

/** A CISA KEV entry. */
export interface VulnKevTable {
  cve: string;
  date_added: string;
  ransomware: string;
  vendor: string;
  product: string;
  due_date: string | null;
}

/** A FIRST EPSS score. */
export interface VulnEpssTable {
  cve: string;
  epss: number;
  percentile: number;
  score_date: string | null;
}

/** One CVE judged for one host (records.ts VulnerabilityMatch); one row per (survey, ip, cve). */
export interface VulnMatchTable {
  id: Generated<number>;
  survey_id: number | null;
  identification_id: number | null;
  ip: string;
  ip_num: number;
  cve: string;
  status: string;
  level: string;
  /** 1 when KEV-listed. */
  kev: number;
  reason: string;
  /** JSON array of the device CPEs used. */
  cpe: string;
  /** JSON of the ThreatLevel. */
  threat: string;
  matched_at: string;
}

export interface Database {
  plan_versions: PlanVersionTable;
  surveys: SurveyTable;
  endpoints: EndpointTable;
  observations: ObservationTable;
  identifications: IdentificationTable;
  access_results: AccessResultTable;
  access_attempts: AccessAttemptTable;
  vuln_cve_sources: VulnCveSourceTable;
  vuln_cves: VulnCveTable;
  vuln_kev: VulnKevTable;
  vuln_epss: VulnEpssTable;
  vuln_matches: VulnMatchTable;
}
