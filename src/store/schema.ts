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

/** One centre → ISP batch (src/notify/batch.ts): the ISP's findings with ids in (after, max]. */
export interface NotificationBatchTable {
  ticket: string;
  isp: string;
  /** UTC day of the ticket, YYYYMMDD; `seq` counts the ISP's batches of that day from 1. */
  day: string;
  seq: number;
  created_at: string;
  finding_count: number;
  after_finding_id: number;
  max_finding_id: number;
  /** JSON: findings per kind. */
  counts: string;
  /** JSON: [{ format, name, bytes, sha256 }] of the files written. */
  files: string;
}

/** The latest delivery attempt of one batch on one channel (email). */
export interface NotificationDeliveryTable {
  ticket: string;
  channel: string;
  /** Where it went (the contact's address). */
  target: string;
  /** accepted, rejected (the server refused) or failed (no answer: connection, timeout). */
  status: string;
  /** The server's response line, or the error. */
  response: string | null;
  attempts: number;
  first_attempt_at: string;
  last_attempt_at: string;
  delivered_at: string | null;
}

/** One ISP-side case (src/notify/isp/cases.ts TrackedCase); unique per (subscriber, kind, port_key). */
export interface IspCaseTable {
  id: Generated<number>;
  /** IOTC-YYYY-NNNNNN, what the support desk looks up. */
  reference: string;
  subscriber: string;
  finding_kind: string;
  port: number | null;
  /** port, or -1 for host-level problems (NULLs are distinct in unique constraints). */
  port_key: number;
  measure: string;
  state: string;
  alerts_delivered: number;
  /** JSON of FindingDevice. */
  device: string;
  /** JSON array of ticket / finding keys. */
  tickets: string;
  opened_at: string;
  updated_at: string;
  isp: string | null;
  /** 0 or 1: held back from alerts for the effect baseline. */
  control: number;
  last_ip: string;
  last_seen_at: string;
  /** Ops queue (isp-task) or SIer (sier-notice) address; never the subscriber's. */
  contact: string | null;
}

/** One step of a case (CaseTransition), append-only, ordered by seq. */
export interface IspCaseTransitionTable {
  case_id: number;
  seq: number;
  from_state: string | null;
  to_state: string;
  at: string;
  /** CaseTransition.by ("by" is an SQL keyword). */
  actor: string;
  note: string | null;
}

/** One alert, ISP task or SIer notice tried for a case, with the SMTP server's answer. */
export interface IspAlertTable {
  id: Generated<number>;
  case_id: number;
  at: string;
  measure: string;
  /** smtp or task-file. */
  channel: string;
  recipient: string;
  language: string;
  /** 0 or 1: accepted by the SMTP server (or the task file written). */
  delivered: number;
  response: string | null;
  message_id: string | null;
}

/** One re-scan result applied to a case (Verification). */
export interface IspVerificationTable {
  id: Generated<number>;
  case_id: number;
  kind: string;
  ip: string;
  port: number | null;
  at: string;
  /** 0 or 1. */
  present: number;
  ticket: string | null;
}

/** One finding (records.ts Finding); one row per (kind, ip, port, period). See migration 0006. */
export interface FindingTable {
  id: Generated<number>;
  kind: string;
  ip: string;
  ip_num: number;
  /** The port, or 0 for a host-level finding (port null). */
  port: number;
  period: string;
  severity: string;
  survey_id: number | null;
  isp: string | null;
  prefix_owner: string | null;
  held: string | null;
  /** The first observation of the key (the earliest of the records merged). */
  observed_at: string;
  /** JSON: EvidenceRef[] (merged on deduplication). */
  evidence: string;
  /** JSON of the rest of the Finding (no id, observedAt, evidence or attribution); exact for hostile text. */
  body: string;
  /** Facets (migration 0012, src/store/finding-facets.ts): device type, vendor, model, protocol, period's month. */
  device_type: Defaulted<string | null>;
  vendor: Defaulted<string | null>;
  model: Defaulted<string | null>;
  protocol: Defaulted<string | null>;
  month: Defaulted<string | null>;
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
  notification_batches: NotificationBatchTable;
  notification_deliveries: NotificationDeliveryTable;
  isp_cases: IspCaseTable;
  isp_case_transitions: IspCaseTransitionTable;
  isp_alerts: IspAlertTable;
  isp_verifications: IspVerificationTable;
  isp_sessions: IspSessionTable;
  isp_subscribers: IspSubscriberTable;
  isp_subscriber_keys: IspSubscriberKeyTable;
  isp_inventory: IspInventoryTable;
  findings: FindingTable;
  vuln_cve_sources: VulnCveSourceTable;
  vuln_cves: VulnCveTable;
  vuln_kev: VulnKevTable;
  vuln_epss: VulnEpssTable;
  vuln_matches: VulnMatchTable;
  web_accounts: WebAccountTable;
  web_sessions: WebSessionTable;
  web_login_failures: WebLoginFailureTable;
  web_audit: WebAuditTable;
  darknet_days: DarknetDayTable;
  plan_approvals: PlanApprovalTable;
  web_manual_versions: WebManualVersionTable;
  web_support_questions: WebSupportQuestionTable;
  web_support_answers: WebSupportAnswerTable;
  web_support_canned: WebSupportCannedTable;
  web_support_faq: WebSupportFaqTable;
  web_support_limits: WebSupportLimitTable;
  web_public_actions: WebPublicActionTable;
  optout_requests: OptoutRequestTable;
  survey_exclusions: SurveyExclusionTable;
  web_api_tokens: WebApiTokenTable;
  web_case_reports: WebCaseReportTable;
  findings_rollup_isp: FindingRollupIspTable;
  findings_rollup_model: FindingRollupModelTable;
  findings_remediation_keys: FindingRemediationKeyTable;
  share_collections: ShareCollectionTable;
  share_objects: ShareObjectTable;
  share_received: ShareReceivedTable;
  share_cursors: ShareCursorTable;
  flow_candidates: FlowCandidateTable;
  flow_liveness: FlowLivenessTable;
}

/** Darknet per-day aggregates (src/darknet/daily.ts DarknetDay). */
export interface DarknetDayTable {
  day: string;
  class: string;
  fingerprint: string;
  /** '' when no prefix holds the sources. */
  isp: string;
  sources: number;
  infected: number;
  packets: number;
  /** JSON: [{port, packets}]. */
  top_ports: string;
}

/** A web account (src/web/types.ts Account); the password as an scrypt string (src/web/auth/passwords.ts). */
export interface WebAccountTable {
  id: Generated<number>;
  name: string;
  role: string;
  isp: string | null;
  display_name: string;
  password_hash: string;
  disabled: Generated<number>;
  created_ms: number;
  password_changed_ms: number;
}

/** A web session: the SHA-256 of its cookie value, never the value. */
export interface WebSessionTable {
  id_hash: string;
  account_id: number;
  csrf: string;
  created_ms: number;
  seen_ms: number;
  ip: string;
}

export interface WebLoginFailureTable {
  id: Generated<number>;
  name: string;
  ip: string;
  at_ms: number;
}

/** Who saw or changed what, through the web server. */
export interface WebAuditTable {
  id: Generated<number>;
  at_ms: number;
  account_id: number | null;
  account_name: string | null;
  ip: string;
  action: string;
  target: string;
  /** JSON object. */
  detail: string;
}

/** ISP side: one RADIUS session, DHCP holding or CGNAT port block (src/notify/isp/types.ts SessionRecord). */
export interface IspSessionTable {
  id: Generated<number>;
  /** '' when a lease's MAC was in no subscriber's row at import (resolved again at match time). */
  subscriber: string;
  ip: string;
  ip_num: number;
  port_first: number | null;
  port_last: number | null;
  start_ms: number;
  end_ms: number | null;
  mac: string | null;
  source: string;
  file: string;
  line: number;
  /** When it was imported: an open session (end_ms null) extends to here. */
  imported_at: number;
}

export interface IspSubscriberTable {
  id: string;
  email: string | null;
  language: string;
  name: string | null;
}

export interface IspSubscriberKeyTable {
  /** "mac:aa:bb:cc:dd:ee:ff" or "cid:<hex>". */
  key: string;
  subscriber: string;
}

export interface IspInventoryTable {
  id: Generated<number>;
  subscriber: string | null;
  mac: string | null;
  measure: string;
  contact: string | null;
  model: string | null;
}

/** The governance of one plan version (src/store/plan-governance.ts): who proposed it, who approved or rejected it. */
export interface PlanApprovalTable {
  digest: string;
  /** proposed | approved | rejected */
  state: string;
  /** The plan as proposed (YAML), '' when proposed from a stored version. */
  source: string;
  proposed_by_id: number | null;
  proposed_by: string;
  proposed_ms: number;
  proposal_note: string;
  decided_by_id: number | null;
  decided_by: string | null;
  decided_ms: number | null;
  decision_note: string | null;
}

/** One language of one version of a remediation manual (src/web/manuals/): versions are never rewritten. */
export interface WebManualVersionTable {
  id: Generated<number>;
  key: string;
  version: number;
  lang: string;
  title: string;
  /** Plain text (numbered steps, paragraphs), shown escaped. */
  body: string;
  edited_by: string;
  edited_ms: number;
  note: string;
}

/** A question to the support desk; the asker's private link is the token, stored only as its SHA-256. */
export interface WebSupportQuestionTable {
  id: Generated<number>;
  token_hash: string;
  reference: string | null;
  model_key: string | null;
  lang: string;
  question: string;
  email: string | null;
  /** open | answered | closed */
  status: string;
  created_ms: number;
  updated_ms: number;
}

export interface WebSupportAnswerTable {
  id: Generated<number>;
  question_id: number;
  body: string;
  canned_id: number | null;
  by_name: string;
  /** 1: a follow-up by the asker (on the private link), not an answer of the desk. */
  from_asker: Generated<number>;
  at_ms: number;
}

/** A canned answer for a model's manual key (null: any model). */
export interface WebSupportCannedTable {
  id: Generated<number>;
  model_key: string | null;
  lang: string;
  title: string;
  body: string;
  updated_by: string;
  updated_ms: number;
  deleted: Generated<number>;
}

/** A published FAQ entry: text edited by an operator, without the asker's data. */
export interface WebSupportFaqTable {
  id: Generated<number>;
  model_key: string | null;
  lang: string;
  question: string;
  answer: string;
  question_id: number | null;
  published_by: string;
  published_ms: number;
  hidden: Generated<number>;
}

/** One new question per row, by client address: the desk's rate limit (pruned as it goes). */
export interface WebSupportLimitTable {
  id: Generated<number>;
  ip: string;
  at_ms: number;
}

/** One rate-limited anonymous action of the public site (src/store/web-public.ts). */
export interface WebPublicActionTable {
  id: Generated<number>;
  /** selfcheck | optout | optout-mail */
  action: string;
  /** What is limited: the client address, or the abuse contact mailed. */
  key: string;
  at_ms: number;
}

/** An opt-out request from the public site, and how it was verified (src/store/web-public.ts). */
export interface OptoutRequestTable {
  id: Generated<number>;
  cidr: string;
  range_start: number;
  range_end: number;
  email: string;
  reason: string;
  lang: string;
  client_ip: string;
  created_ms: number;
  /** pending | verified | approved | rejected */
  state: string;
  /** from-network | abuse-contact, once verified. */
  verification: string | null;
  /** SHA-256 of the confirmation link's token, never the token. */
  token_hash: string | null;
  token_expires_ms: number | null;
  contact_isp: string | null;
  mail_status: string | null;
  verified_ms: number | null;
  decided_ms: number | null;
  decided_by: string | null;
}

/** A range no survey may touch: an approved opt-out (or an operator's entry). */
export interface SurveyExclusionTable {
  id: Generated<number>;
  cidr: string;
  range_start: number;
  range_end: number;
  optout_id: number | null;
  created_ms: number;
  created_by: string;
}

/** An ISP's API token (src/store/web-portal.ts): only its SHA-256 is kept, never the token. */
export interface WebApiTokenTable {
  id: Generated<number>;
  isp: string;
  label: string;
  /** Hex SHA-256 of the token. */
  sha256: string;
  created_ms: number;
  created_by: string;
  last_used_ms: number | null;
  revoked_ms: number | null;
  revoked_by: string | null;
}

/** An ISP's report on its handling of one notified finding (append-only: the latest row is the current status). */
export interface WebCaseReportTable {
  id: Generated<number>;
  finding_id: number;
  isp: string;
  status: string;
  note: string | null;
  account_id: number | null;
  account_name: string;
  at_ms: number;
}

/** Findings counted per (month, kind, protocol, ISP) (migration 0012), kept by record(); '' stands for null. */
export interface FindingRollupIspTable {
  month: string;
  kind: string;
  protocol: string;
  isp: string;
  n: number;
}

/** Per finding key: first month (year × 12 + month − 1), its findings then, later months as a mask (migration 0020, src/store/remediation-keys.ts). */
export interface FindingRemediationKeyTable {
  ip_num: number;
  kind: string;
  port: number;
  first_month: number;
  first_n: number;
  months: number;
}

/** Findings counted per (month, kind, device type, vendor, model) (migration 0012); '' stands for null. */
export interface FindingRollupModelTable {
  month: string;
  kind: string;
  device_type: string;
  vendor: string;
  model: string;
  n: number;
}

/** A TAXII collection this ISP serves (src/share/): its own C&C list ('export') or one others may write to ('inbox'). */
export interface ShareCollectionTable {
  id: string;
  alias: string | null;
  title: string;
  description: string;
  kind: string;
  created_ms: number;
}

/** One version of a STIX object in a served collection; `seq` orders them as added (the paging key). */
export interface ShareObjectTable {
  seq: Generated<number>;
  collection_id: string;
  stix_id: string;
  type: string;
  /** modified, else created, as millisecond RFC 3339 (so versions compare as text). */
  version: string;
  spec_version: string;
  date_added_ms: number;
  body: string;
}

/** A STIX object received from another ISP: one row per id, the newest modified kept. */
export interface ShareReceivedTable {
  stix_id: string;
  type: string;
  modified: string;
  created_by_ref: string | null;
  /** "<collection URL>" it came from last. */
  source: string;
  received_ms: number;
  body: string;
}

/** Where the last pull of a collection stopped (TAXII added_after of the next pull). */
export interface ShareCursorTable {
  source: string;
  added_after: string | null;
  pulled_ms: number;
  objects: number;
}

/** A C&C candidate from flow detection and its liveness state (src/store/flows.ts). Times ISO 8601 UTC. */
export interface FlowCandidateTable {
  id: Generated<number>;
  ip: string;
  ip_num: number;
  port: number;
  proto: string;
  score: number;
  first_seen: string;
  last_seen: string;
  clients: number;
  known_bad_clients: number;
  /** JSON array of CandidateEvidence. */
  evidence: string;
  window_from: string;
  window_to: string;
  detected_at: string;
  updated_at: string;
  /** 'active' or 'expired'. */
  status: string;
  dead_streak: number;
  checks: number;
  last_check_at: string | null;
  last_alive_at: string | null;
  next_check_at: string;
}

/** One liveness check of a candidate. */
export interface FlowLivenessTable {
  id: Generated<number>;
  candidate_id: number;
  at: string;
  alive: number;
  outcome: string;
  ms: number | null;
}
