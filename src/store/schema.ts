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

export interface Database {
  plan_versions: PlanVersionTable;
  surveys: SurveyTable;
  endpoints: EndpointTable;
  observations: ObservationTable;
  identifications: IdentificationTable;
}
