/**
 * Schema migrations, in order. Each runs once per database (Kysely's migrator keeps the log), so
 * adding a stage's tables is adding one entry here. Written with the schema builder so the same
 * migration serves SQLite and PostgreSQL; `dialect` covers the few differences. An applied
 * migration is never edited: a change is a new entry.
 */
import { sql, type Kysely, type Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'serial' : 'integer';
  // Endpoints can outgrow 2^31 rows over many national surveys; SQLite's integer is 64-bit already.
  const bigSerial = dialect === 'postgres' ? 'bigserial' : 'integer';
  return {
    '0001-survey-foundation': {
      async up(db: Kysely<unknown>) {
        await db.schema
          .createTable('plan_versions')
          .addColumn('digest', 'text', (c) => c.primaryKey())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('surveys')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('plan_digest', 'text', (c) => c.notNull().references('plan_versions.digest'))
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('targets', 'text', (c) => c.notNull())
          .addColumn('ports', 'text', (c) => c.notNull())
          .addColumn('seed', 'bigint', (c) => c.notNull())
          .addColumn('shard_index', 'integer', (c) => c.notNull())
          .addColumn('shard_count', 'integer', (c) => c.notNull())
          .addColumn('workers', 'integer', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('checkpoint', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text')
          .addColumn('probes_sent', 'bigint', (c) => c.notNull().defaultTo(0))
          .addColumn('elapsed_ms', 'bigint', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createTable('endpoints')
          .addColumn('survey_id', 'integer', (c) => c.notNull().references('surveys.id'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('seen_at', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          // One row per endpoint per survey: a resumed run re-finds some and must not duplicate.
          .addPrimaryKeyConstraint('endpoints_pk', ['survey_id', 'ip_num', 'port'])
          .execute();
      },
    },
    '0002-endpoint-ids-and-leases': {
      async up(db: Kysely<unknown>) {
        // Who runs a survey: one runner at a time (see lease.ts). Times are epoch milliseconds.
        for (const [name, type] of [
          ['lease_owner', 'text'],
          ['lease_taken_at', 'bigint'],
          ['lease_expires_at', 'bigint'],
        ] as const) {
          await db.schema.alterTable('surveys').addColumn(name, type).execute();
        }
        // Endpoints get a stable integer id later records can cite. Neither back end can swap a
        // table's primary key in place the same way, so the table is rebuilt on both, keeping
        // the one-row-per-(survey, address, port) rule as a unique constraint.
        await db.schema
          .createTable('endpoints_v2')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('survey_id', 'integer', (c) => c.notNull().references('surveys.id'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('seen_at', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addUniqueConstraint('endpoints_survey_ip_port', ['survey_id', 'ip_num', 'port'])
          .execute();
        await sql`insert into endpoints_v2 (survey_id, ip, ip_num, port, seen_at, source)
          select survey_id, ip, ip_num, port, seen_at, source from endpoints order by survey_id, ip_num, port`.execute(db);
        await db.schema.dropTable('endpoints').execute();
        await db.schema.alterTable('endpoints_v2').renameTo('endpoints').execute();
      },
    },
    '0003-observations-and-identifications': {
      async up(db: Kysely<unknown>) {
        // One row per endpoint and grab module tried. JSON is text on both back ends; `raw` is
        // base64 (bounded by the runner), so no column ever holds a device's bytes as such.
        await db.schema
          .createTable('observations')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('survey_id', 'integer', (c) => c.references('surveys.id'))
          .addColumn('endpoint_id', 'bigint', (c) => c.references('endpoints.id'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('module', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('recognised', 'integer', (c) => c.notNull())
          .addColumn('fields', 'text', (c) => c.notNull())
          .addColumn('raw', 'text', (c) => c.notNull())
          .addColumn('bytes_received', 'bigint', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('observed_at', 'text', (c) => c.notNull())
          .addColumn('duration_ms', 'real', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('observations_survey_ip_port').on('observations').columns(['survey_id', 'ip_num', 'port']).execute();
        // Endpoint rows (port set) and one host row per address (endpoint_id and port null).
        await db.schema
          .createTable('identifications')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('survey_id', 'integer', (c) => c.references('surveys.id'))
          .addColumn('endpoint_id', 'bigint', (c) => c.references('endpoints.id'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer')
          .addColumn('protocol', 'text')
          .addColumn('type', 'text')
          .addColumn('vendor', 'text')
          .addColumn('product', 'text')
          .addColumn('version', 'text')
          .addColumn('cpe', 'text', (c) => c.notNull())
          .addColumn('confidence', 'real', (c) => c.notNull())
          .addColumn('rule', 'text')
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('identified_at', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('identifications_survey_ip').on('identifications').columns(['survey_id', 'ip_num']).execute();
      },
    },
    '0004-access': {
      async up(db: Kysely<unknown>) {
        // One result per service checked. Unique per (survey, address, port, auth type): a re-run
        // replaces its row (upsert). Both back ends treat NULLs as distinct in a unique
        // constraint, so results of runs outside any survey (survey_id null) get a partial
        // unique index of their own: they too are one row per service, the latest run's.
        await db.schema
          .createTable('access_results')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('survey_id', 'integer', (c) => c.references('surveys.id'))
          .addColumn('endpoint_id', 'bigint', (c) => c.references('endpoints.id'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('protocol', 'text', (c) => c.notNull())
          .addColumn('verdict', 'text', (c) => c.notNull())
          .addColumn('entry', 'text')
          .addColumn('username', 'text')
          .addColumn('reason', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('plan_digest', 'text')
          .addColumn('plan_version', 'text')
          .addColumn('dictionary', 'text', (c) => c.notNull())
          .addColumn('started_at', 'text', (c) => c.notNull())
          .addColumn('finished_at', 'text', (c) => c.notNull())
          // JSON of the text fields a text column cannot hold exactly (NUL, lone surrogates), else null.
          .addColumn('exact', 'text')
          .addUniqueConstraint('access_results_survey_service', ['survey_id', 'ip_num', 'port', 'protocol'])
          .execute();
        await db.schema
          .createIndex('access_results_no_survey_service')
          .on('access_results')
          .columns(['ip_num', 'port', 'protocol'])
          .unique()
          .where(sql<boolean>`survey_id is null`)
          .execute();
        // The audit: every try, only ever appended.
        await db.schema
          .createTable('access_attempts')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('survey_id', 'integer', (c) => c.references('surveys.id'))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('protocol', 'text', (c) => c.notNull())
          .addColumn('entry', 'text', (c) => c.notNull())
          .addColumn('username', 'text', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('duration_ms', 'real', (c) => c.notNull())
          .addColumn('detail', 'text')
          .addColumn('plan_version', 'text')
          .addColumn('exact', 'text')
          .execute();
        // id last: one service's attempts read in order straight from the index.
        await db.schema.createIndex('access_attempts_survey_ip_port').on('access_attempts').columns(['survey_id', 'ip_num', 'port', 'id']).execute();
      },
    },
    '0008-notify': {
      async up(db: Kysely<unknown>) {
        // One row per centre → ISP batch. A batch is a range of the ISP's finding ids
        // (after_finding_id, max_finding_id], so it is re-read from the findings without a join
        // table, and the next batch starts above the last max ("since last batch").
        await db.schema
          .createTable('notification_batches')
          .addColumn('ticket', 'text', (c) => c.primaryKey())
          .addColumn('isp', 'text', (c) => c.notNull())
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'text', (c) => c.notNull())
          .addColumn('finding_count', 'integer', (c) => c.notNull())
          .addColumn('after_finding_id', 'bigint', (c) => c.notNull())
          .addColumn('max_finding_id', 'bigint', (c) => c.notNull())
          .addColumn('counts', 'text', (c) => c.notNull())
          .addColumn('files', 'text', (c) => c.notNull())
          .addUniqueConstraint('notification_batches_isp_day_seq', ['isp', 'day', 'seq'])
          .execute();
        await db.schema.createIndex('notification_batches_isp_max').on('notification_batches').columns(['isp', 'max_finding_id']).execute();
        // Delivery per batch and channel (email now; portal and API reads need no row): the
        // latest attempt's status, the server's response and when, and how many attempts.
        await db.schema
          .createTable('notification_deliveries')
          .addColumn('ticket', 'text', (c) => c.notNull().references('notification_batches.ticket'))
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('response', 'text')
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('first_attempt_at', 'text', (c) => c.notNull())
          .addColumn('last_attempt_at', 'text', (c) => c.notNull())
          .addColumn('delivered_at', 'text')
          .addPrimaryKeyConstraint('notification_deliveries_pk', ['ticket', 'channel'])
          .execute();
      },
    },
    '0010-isp-cases': {
      async up(db: Kysely<unknown>) {
        // ISP side (src/notify/isp/cases.ts): one case per subscriber + problem. port_key is the
        // port or -1, because both back ends treat NULLs as distinct in a unique constraint.
        await db.schema
          .createTable('isp_cases')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('reference', 'text', (c) => c.notNull().unique())
          .addColumn('subscriber', 'text', (c) => c.notNull())
          .addColumn('finding_kind', 'text', (c) => c.notNull())
          .addColumn('port', 'integer')
          .addColumn('port_key', 'integer', (c) => c.notNull())
          .addColumn('measure', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('alerts_delivered', 'integer', (c) => c.notNull())
          .addColumn('device', 'text', (c) => c.notNull())
          .addColumn('tickets', 'text', (c) => c.notNull())
          .addColumn('opened_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('isp', 'text')
          .addColumn('control', 'integer', (c) => c.notNull())
          .addColumn('last_ip', 'text', (c) => c.notNull())
          .addColumn('last_seen_at', 'text', (c) => c.notNull())
          .addColumn('contact', 'text')
          .addUniqueConstraint('isp_cases_problem', ['subscriber', 'finding_kind', 'port_key'])
          .execute();
        await db.schema.createIndex('isp_cases_state').on('isp_cases').columns(['state', 'id']).execute();
        await db.schema.createIndex('isp_cases_last_ip').on('isp_cases').columns(['last_ip']).execute();
        // Every step, append-only: seq orders a case's transitions.
        await db.schema
          .createTable('isp_case_transitions')
          .addColumn('case_id', 'bigint', (c) => c.notNull().references('isp_cases.id'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('from_state', 'text')
          .addColumn('to_state', 'text', (c) => c.notNull())
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('actor', 'text', (c) => c.notNull())
          .addColumn('note', 'text')
          .addPrimaryKeyConstraint('isp_case_transitions_pk', ['case_id', 'seq'])
          .execute();
        // Every alert, task or notice tried, with the SMTP server's answer: the escalation evidence.
        await db.schema
          .createTable('isp_alerts')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('case_id', 'bigint', (c) => c.notNull().references('isp_cases.id'))
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('measure', 'text', (c) => c.notNull())
          .addColumn('channel', 'text', (c) => c.notNull())
          .addColumn('recipient', 'text', (c) => c.notNull())
          .addColumn('language', 'text', (c) => c.notNull())
          .addColumn('delivered', 'integer', (c) => c.notNull())
          .addColumn('response', 'text')
          .addColumn('message_id', 'text')
          .execute();
        await db.schema.createIndex('isp_alerts_case').on('isp_alerts').columns(['case_id', 'id']).execute();
        // The centre's re-scans applied to a case.
        await db.schema
          .createTable('isp_verifications')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('case_id', 'bigint', (c) => c.notNull().references('isp_cases.id'))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('port', 'integer')
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('present', 'integer', (c) => c.notNull())
          .addColumn('ticket', 'text')
          .execute();
        await db.schema.createIndex('isp_verifications_case').on('isp_verifications').columns(['case_id', 'id']).execute();
      },
    },
    '0009-isp-sessions': {
      async up(db: Kysely<unknown>) {
        // ISP side (issue 9), at the ISP only. One row per RADIUS session, DHCP holding or CGNAT
        // port block; times in epoch ms (bigint) so the matcher reads numbers, not text. Unique
        // per (source, file, line, address, start): re-importing a grown log updates the row
        // (an open session that has since closed gets its end) instead of duplicating it.
        await db.schema
          .createTable('isp_sessions')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('subscriber', 'text', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port_first', 'integer')
          .addColumn('port_last', 'integer')
          .addColumn('start_ms', 'bigint', (c) => c.notNull())
          .addColumn('end_ms', 'bigint')
          .addColumn('mac', 'text')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('file', 'text', (c) => c.notNull())
          .addColumn('line', 'integer', (c) => c.notNull())
          .addColumn('imported_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('isp_sessions_origin', ['source', 'file', 'line', 'ip_num', 'start_ms'])
          .execute();
        await db.schema.createIndex('isp_sessions_ip_start').on('isp_sessions').columns(['ip_num', 'start_ms']).execute();
        await db.schema
          .createTable('isp_subscribers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('email', 'text')
          .addColumn('language', 'text', (c) => c.notNull())
          .addColumn('name', 'text')
          .execute();
        // MAC / DHCP client id → subscriber, for leases ("mac:aa:bb:..", "cid:01aabb..").
        await db.schema
          .createTable('isp_subscriber_keys')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('subscriber', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('isp_inventory')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('subscriber', 'text')
          .addColumn('mac', 'text')
          .addColumn('measure', 'text', (c) => c.notNull())
          .addColumn('contact', 'text')
          .addColumn('model', 'text')
          .execute();
      },
    },
    '0006-findings': {
      async up(db: Kysely<unknown>) {
        // One row per (kind, address, port, period): deduplication is this unique constraint.
        // Host-level findings have port 0 here (never a real port; the schema refuses 0), so the
        // key has no NULL, which both back ends would treat as distinct. No foreign key to
        // surveys: darknet and flow findings have none, and findings may cite another store's survey.
        await db.schema
          .createTable('findings')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('period', 'text', (c) => c.notNull())
          .addColumn('severity', 'text', (c) => c.notNull())
          .addColumn('survey_id', 'integer')
          .addColumn('isp', 'text')
          .addColumn('prefix_owner', 'text')
          .addColumn('held', 'text')
          .addColumn('observed_at', 'text', (c) => c.notNull())
          // JSON: the evidence references (merged on deduplication) and the rest of the record.
          .addColumn('evidence', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          // Address first: record() looks keys up by address, so this index serves that read.
          .addUniqueConstraint('findings_key', ['ip_num', 'kind', 'port', 'period'])
          .execute();
        // id last: per-ISP batches ("since the last ticket") and per-survey reads are keyset scans.
        // Held findings are exactly those with isp null (the schema's rule), so this index serves them too.
        await db.schema.createIndex('findings_isp').on('findings').columns(['isp', 'id']).execute();
        await db.schema.createIndex('findings_survey').on('findings').columns(['survey_id', 'id']).execute();
      },
    },
    '0005-vuln': {
      async up(db: Kysely<unknown>) {
        // What each source said about a CVE (one row per CVE and source: nvd, cve5), and the
        // merged record the matcher reads. A newer lastModified of a source replaces its row.
        await db.schema
          .createTable('vuln_cve_sources')
          .addColumn('cve', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('last_modified', 'text')
          .addColumn('body', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('vuln_cve_sources_pk', ['cve', 'source'])
          .execute();
        await db.schema
          .createTable('vuln_cves')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('last_modified', 'text')
          .addColumn('sources', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('vuln_kev')
          .addColumn('cve', 'text', (c) => c.primaryKey())
          .addColumn('date_added', 'text', (c) => c.notNull())
          .addColumn('ransomware', 'text', (c) => c.notNull())
          .addColumn('vendor', 'text', (c) => c.notNull())
          .addColumn('product', 'text', (c) => c.notNull())
          .addColumn('due_date', 'text')
          .execute();
        await db.schema
          .createTable('vuln_epss')
          .addColumn('cve', 'text', (c) => c.primaryKey())
          .addColumn('epss', 'real', (c) => c.notNull())
          .addColumn('percentile', 'real', (c) => c.notNull())
          .addColumn('score_date', 'text')
          .execute();
        // One row per (survey, address, CVE): a re-run replaces it. Matches outside a survey get a
        // partial unique index of their own, as access results do (migration 0004).
        await db.schema
          .createTable('vuln_matches')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('survey_id', 'integer', (c) => c.references('surveys.id'))
          .addColumn('identification_id', 'bigint')
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('cve', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('level', 'text', (c) => c.notNull())
          .addColumn('kev', 'integer', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('cpe', 'text', (c) => c.notNull())
          .addColumn('threat', 'text', (c) => c.notNull())
          .addColumn('matched_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('vuln_matches_survey_ip_cve', ['survey_id', 'ip_num', 'cve'])
          .execute();
        await db.schema.createIndex('vuln_matches_no_survey_ip_cve').on('vuln_matches').columns(['ip_num', 'cve']).unique().where(sql<boolean>`survey_id is null`).execute();
        await db.schema.createIndex('vuln_matches_survey_status').on('vuln_matches').columns(['survey_id', 'status']).execute();
      },
    },
    '0011-web-accounts': {
      async up(db: Kysely<unknown>) {
        // The web server's accounts (operator admin/analyst, ISP users), their sessions (the
        // cookie's SHA-256 only, never the cookie), failed logins (rate limit, shared by every
        // server process) and the audit log of who saw and changed what. Times are epoch ms.
        await db.schema
          .createTable('web_accounts')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('name', 'text', (c) => c.notNull().unique())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('isp', 'text')
          .addColumn('display_name', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text', (c) => c.notNull())
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('password_changed_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('web_sessions')
          .addColumn('id_hash', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'integer', (c) => c.notNull().references('web_accounts.id'))
          .addColumn('csrf', 'text', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('seen_ms', 'bigint', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_sessions_account').on('web_sessions').columns(['account_id']).execute();
        await db.schema
          .createTable('web_login_failures')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_login_failures_name').on('web_login_failures').columns(['name', 'at_ms']).execute();
        await db.schema.createIndex('web_login_failures_ip').on('web_login_failures').columns(['ip', 'at_ms']).execute();
        await db.schema
          .createTable('web_audit')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .addColumn('account_id', 'integer')
          .addColumn('account_name', 'text')
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('detail', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_audit_account').on('web_audit').columns(['account_id', 'id']).execute();
      },
    },
    '0019-darknet-days': {
      async up(db: Kysely<unknown>) {
        // Darknet per-day aggregates (src/store/darknet.ts); isp '' when no prefix holds the sources
        // (a key column, so not null).
        await db.schema
          .createTable('darknet_days')
          .addColumn('day', 'text', (c) => c.notNull())
          .addColumn('class', 'text', (c) => c.notNull())
          .addColumn('fingerprint', 'text', (c) => c.notNull())
          .addColumn('isp', 'text', (c) => c.notNull())
          .addColumn('sources', 'bigint', (c) => c.notNull())
          .addColumn('infected', 'bigint', (c) => c.notNull())
          .addColumn('packets', 'bigint', (c) => c.notNull())
          .addColumn('top_ports', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('darknet_days_pk', ['day', 'class', 'fingerprint', 'isp'])
          .execute();
      },
    },
    '0016-plan-approvals': {
      async up(db: Kysely<unknown>) {
        // Survey governance: one row per plan version put up for approval. Once any row is
        // approved, surveys run approved plans only (src/store/plan-governance.ts). Times are epoch ms.
        await db.schema
          .createTable('plan_approvals')
          .addColumn('digest', 'text', (c) => c.primaryKey().references('plan_versions.digest'))
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('proposed_by_id', 'integer')
          .addColumn('proposed_by', 'text', (c) => c.notNull())
          .addColumn('proposed_ms', 'bigint', (c) => c.notNull())
          .addColumn('proposal_note', 'text', (c) => c.notNull())
          .addColumn('decided_by_id', 'integer')
          .addColumn('decided_by', 'text')
          .addColumn('decided_ms', 'bigint')
          .addColumn('decision_note', 'text')
          .execute();
        await db.schema.createIndex('plan_approvals_state').on('plan_approvals').columns(['state']).execute();
      },
    },
    '0015-web-support': {
      async up(db: Kysely<unknown>) {
        // Remediation manuals with every version kept (one row per language), the support desk's
        // questions and answers, canned answers per model, the FAQ, and the desk's rate limit.
        await db.schema
          .createTable('web_manual_versions')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('version', 'integer', (c) => c.notNull())
          .addColumn('lang', 'text', (c) => c.notNull())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('edited_by', 'text', (c) => c.notNull())
          .addColumn('edited_ms', 'bigint', (c) => c.notNull())
          .addColumn('note', 'text', (c) => c.notNull())
          .addUniqueConstraint('web_manual_versions_key_version_lang', ['key', 'version', 'lang'])
          .execute();
        await db.schema
          .createTable('web_support_questions')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('reference', 'text')
          .addColumn('model_key', 'text')
          .addColumn('lang', 'text', (c) => c.notNull())
          .addColumn('question', 'text', (c) => c.notNull())
          .addColumn('email', 'text')
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('updated_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_support_questions_status').on('web_support_questions').columns(['status', 'id']).execute();
        await db.schema
          .createTable('web_support_answers')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('question_id', 'integer', (c) => c.notNull().references('web_support_questions.id'))
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('canned_id', 'integer')
          .addColumn('by_name', 'text', (c) => c.notNull())
          .addColumn('from_asker', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_support_answers_question').on('web_support_answers').columns(['question_id', 'id']).execute();
        await db.schema
          .createTable('web_support_canned')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('model_key', 'text')
          .addColumn('lang', 'text', (c) => c.notNull())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addColumn('updated_by', 'text', (c) => c.notNull())
          .addColumn('updated_ms', 'bigint', (c) => c.notNull())
          .addColumn('deleted', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createTable('web_support_faq')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('model_key', 'text')
          .addColumn('lang', 'text', (c) => c.notNull())
          .addColumn('question', 'text', (c) => c.notNull())
          .addColumn('answer', 'text', (c) => c.notNull())
          .addColumn('question_id', 'integer')
          .addColumn('published_by', 'text', (c) => c.notNull())
          .addColumn('published_ms', 'bigint', (c) => c.notNull())
          .addColumn('hidden', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createTable('web_support_limits')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_support_limits_ip').on('web_support_limits').columns(['ip', 'at_ms']).execute();
      },
    },
    '0014-web-public': {
      async up(db: Kysely<unknown>) {
        // The public site: rate-limited anonymous actions (self-checks per address, opt-out requests
        // per address, confirmation mails per abuse contact; shared by every server process),
        // opt-out requests with their verification (the confirmation token as its SHA-256 only),
        // and the survey exclusions approved requests become (runSurvey subtracts them).
        await db.schema
          .createTable('web_public_actions')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_public_actions_key').on('web_public_actions').columns(['action', 'key', 'at_ms']).execute();
        await db.schema
          .createTable('optout_requests')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('cidr', 'text', (c) => c.notNull())
          .addColumn('range_start', 'bigint', (c) => c.notNull())
          .addColumn('range_end', 'bigint', (c) => c.notNull())
          .addColumn('email', 'text', (c) => c.notNull())
          .addColumn('reason', 'text', (c) => c.notNull())
          .addColumn('lang', 'text', (c) => c.notNull())
          .addColumn('client_ip', 'text', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('verification', 'text')
          .addColumn('token_hash', 'text', (c) => c.unique())
          .addColumn('token_expires_ms', 'bigint')
          .addColumn('contact_isp', 'text')
          .addColumn('mail_status', 'text')
          .addColumn('verified_ms', 'bigint')
          .addColumn('decided_ms', 'bigint')
          .addColumn('decided_by', 'text')
          .execute();
        await db.schema.createIndex('optout_requests_state').on('optout_requests').columns(['state', 'id']).execute();
        await db.schema
          .createTable('survey_exclusions')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('cidr', 'text', (c) => c.notNull())
          .addColumn('range_start', 'bigint', (c) => c.notNull())
          .addColumn('range_end', 'bigint', (c) => c.notNull())
          .addColumn('optout_id', 'integer', (c) => c.references('optout_requests.id'))
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .execute();
      },
    },
    '0013-web-portal': {
      async up(db: Kysely<unknown>) {
        // ISP portal: API tokens (SHA-256 only; the token is shown once at issue) and the ISPs'
        // reports on their handling of notified findings (append-only history, latest wins).
        await db.schema
          .createTable('web_api_tokens')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('isp', 'text', (c) => c.notNull())
          .addColumn('label', 'text', (c) => c.notNull())
          .addColumn('sha256', 'text', (c) => c.notNull().unique())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('last_used_ms', 'bigint')
          .addColumn('revoked_ms', 'bigint')
          .addColumn('revoked_by', 'text')
          .execute();
        await db.schema.createIndex('web_api_tokens_isp').on('web_api_tokens').columns(['isp', 'id']).execute();
        await db.schema
          .createTable('web_case_reports')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('finding_id', 'bigint', (c) => c.notNull())
          .addColumn('isp', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('note', 'text')
          .addColumn('account_id', 'integer')
          .addColumn('account_name', 'text', (c) => c.notNull())
          .addColumn('at_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('web_case_reports_finding').on('web_case_reports').columns(['finding_id', 'id']).execute();
        await db.schema.createIndex('web_case_reports_isp').on('web_case_reports').columns(['isp', 'status', 'finding_id']).execute();
        // The portal's summary counts an ISP's findings by kind: a covering index keeps it an index scan.
        await db.schema.createIndex('findings_isp_kind').ifNotExists().on('findings').columns(['isp', 'kind']).execute();
      },
    },
    '0012-findings-facets': {
      async up(db: Kysely<unknown>) {
        // Facet columns for the dashboard's filters and charts (src/store/finding-facets.ts), each
        // with an index ending in id so a filtered list is a keyset walk of one index.
        for (const column of ['device_type', 'vendor', 'model', 'protocol', 'month']) {
          await db.schema.alterTable('findings').addColumn(column, 'text').execute();
        }
        for (const [name, columns] of [
          ['findings_kind_id', ['kind', 'id']],
          ['findings_type_id', ['device_type', 'id']],
          ['findings_vendor_id', ['vendor', 'id']],
          ['findings_model_id', ['model', 'id']],
          ['findings_port_id', ['port', 'id']],
          ['findings_month_id', ['month', 'id']],
          ['findings_observed', ['observed_at']],
        ] as const) {
          await db.schema.createIndex(name).on('findings').columns([...columns]).execute();
        }
        // The device page (/ops/devices/:ip) reads every stage's rows of one address across surveys.
        for (const table of ['observations', 'identifications', 'access_results', 'vuln_matches'] as const) {
          await db.schema.createIndex(`${table}_ip_num`).on(table).columns(['ip_num']).execute();
        }
        // Counts per facet combination (src/store/finding-facets.ts rollups), kept by record() in
        // the same transaction: the charts and the sudden-change rule read these small tables
        // instead of counting a million rows.
        const { facetsOf, rollupKeyOf, rollupRows, rollups } = await import('./finding-facets.js');
        for (const [table, cols] of Object.entries(rollups)) {
          let t = db.schema.createTable(table);
          for (const c of cols) t = t.addColumn(c, 'text', (b) => b.notNull());
          await t.addColumn('n', 'bigint', (b) => b.notNull()).addPrimaryKeyConstraint(`${table}_pk`, [...cols] as never).execute();
        }
        // Backfill from the JSON body in JS, the same code record() uses: PostgreSQL's json
        // operators refuse the \u0000 a hostile banner may have left in a body.
        const tdb = db as unknown as Kysely<import('./schema.js').Database>;
        const keys: import('./finding-facets.js').RollupKey[] = [];
        let after = 0;
        for (;;) {
          const rows = await tdb.selectFrom('findings').select(['id', 'kind', 'isp', 'period', 'body']).where('id', '>', after).orderBy('id').limit(1000).execute();
          if (rows.length === 0) break;
          const values = rows.map((r) => {
            const body = JSON.parse(r.body) as { device?: { type?: string | null; vendor?: string | null; model?: string | null }; protocol?: string | null };
            const f = facetsOf({ device: { type: null, vendor: null, model: null, firmware: null, ...body.device } as never, protocol: body.protocol ?? null, period: r.period });
            keys.push(rollupKeyOf(r.kind, r.isp, f));
            return sql`(${Number(r.id)}, ${f.device_type}, ${f.vendor}, ${f.model}, ${f.protocol}, ${f.month})`;
          });
          await sql`update findings set device_type = v.column2, vendor = v.column3, model = v.column4, protocol = v.column5, month = v.column6 from (values ${sql.join(values)}) as v where findings.id = cast(v.column1 as bigint)`.execute(db);
          after = Number(rows.at(-1)!.id);
        }
        for (const [table, all] of Object.entries(rollupRows(keys))) {
          for (let i = 0; i < all.length; i += 500) await tdb.insertInto(table as 'findings_rollup_isp').values(all.slice(i, i + 500) as never).execute();
        }
      },
    },
    '0018-share': {
      async up(db: Kysely<unknown>) {
        // Sharing C&C lists (src/share/): the TAXII collections this ISP serves and the STIX object
        // versions in them (every version kept, in the order added: `seq` is the paging key, and
        // date_added never goes backwards within a collection), the STIX objects received from
        // other ISPs (one row per STIX id, the newest `modified` wins), and the pull cursors.
        await db.schema
          .createTable('share_collections')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('alias', 'text', (c) => c.unique())
          .addColumn('title', 'text', (c) => c.notNull())
          .addColumn('description', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('created_ms', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('share_objects')
          .addColumn('seq', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('collection_id', 'text', (c) => c.notNull().references('share_collections.id'))
          .addColumn('stix_id', 'text', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('version', 'text', (c) => c.notNull())
          .addColumn('spec_version', 'text', (c) => c.notNull())
          .addColumn('date_added_ms', 'bigint', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addUniqueConstraint('share_objects_version', ['collection_id', 'stix_id', 'version'])
          .execute();
        await db.schema.createIndex('share_objects_added').on('share_objects').columns(['collection_id', 'date_added_ms', 'seq']).execute();
        await db.schema
          .createTable('share_received')
          .addColumn('stix_id', 'text', (c) => c.primaryKey())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('modified', 'text', (c) => c.notNull())
          .addColumn('created_by_ref', 'text')
          .addColumn('source', 'text', (c) => c.notNull())
          .addColumn('received_ms', 'bigint', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('share_received_type').on('share_received').columns(['type', 'stix_id']).execute();
        await db.schema
          .createTable('share_cursors')
          .addColumn('source', 'text', (c) => c.primaryKey())
          .addColumn('added_after', 'text')
          .addColumn('pulled_ms', 'bigint', (c) => c.notNull())
          .addColumn('objects', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0017-flows': {
      async up(db: Kysely<unknown>) {
        // C&C candidates from flow detection, one per endpoint (ip:port/proto): the latest score
        // and evidence, and the liveness state the scheduler keeps (status, dead streak, next
        // check). Every check is kept in flow_liveness (the history an analyst and STIX read).
        await db.schema
          .createTable('flow_candidates')
          .addColumn('id', serial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('ip', 'text', (c) => c.notNull())
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('proto', 'text', (c) => c.notNull())
          .addColumn('score', 'double precision', (c) => c.notNull())
          .addColumn('first_seen', 'text', (c) => c.notNull())
          .addColumn('last_seen', 'text', (c) => c.notNull())
          .addColumn('clients', 'integer', (c) => c.notNull())
          .addColumn('known_bad_clients', 'integer', (c) => c.notNull())
          .addColumn('evidence', 'text', (c) => c.notNull())
          .addColumn('window_from', 'text', (c) => c.notNull())
          .addColumn('window_to', 'text', (c) => c.notNull())
          .addColumn('detected_at', 'text', (c) => c.notNull())
          .addColumn('updated_at', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('dead_streak', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('checks', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_check_at', 'text')
          .addColumn('last_alive_at', 'text')
          .addColumn('next_check_at', 'text', (c) => c.notNull())
          .addUniqueConstraint('flow_candidates_endpoint', ['ip_num', 'port', 'proto'])
          .execute();
        await db.schema.createIndex('flow_candidates_next_check').on('flow_candidates').columns(['next_check_at']).execute();
        await db.schema
          .createTable('flow_liveness')
          .addColumn('id', bigSerial, (c) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
          .addColumn('candidate_id', 'integer', (c) => c.notNull().references('flow_candidates.id'))
          .addColumn('at', 'text', (c) => c.notNull())
          .addColumn('alive', 'integer', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('ms', 'double precision')
          .execute();
        await db.schema.createIndex('flow_liveness_candidate').on('flow_liveness').columns(['candidate_id', 'id']).execute();
      },
    },
    '0020-remediation-keys': {
      async up(db: Kysely<unknown>) {
        // One row per finding key (ip_num, kind, port): the first month it was found in (as
        // year × 12 + month − 1), how many findings it had in that month, and a bit per later
        // month it was found again (bit i: first_month + i; 52 bits). Kept by record(), so the
        // remediation chart reads the first month's keys from one index instead of joining
        // findings to itself (src/store/web-stats.ts remediation()).
        await db.schema
          .createTable('findings_remediation_keys')
          .addColumn('ip_num', 'bigint', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('port', 'integer', (c) => c.notNull())
          .addColumn('first_month', 'integer', (c) => c.notNull())
          .addColumn('first_n', 'integer', (c) => c.notNull())
          .addColumn('months', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('findings_remediation_keys_pk', ['ip_num', 'kind', 'port'])
          .execute();
        // Covering: the chart groups one first month's keys by their months mask, index only.
        await db.schema.createIndex('findings_remediation_keys_first').on('findings_remediation_keys').columns(['first_month', 'months', 'first_n']).execute();
        const { remediationBackfill } = await import('./remediation-keys.js');
        await sql.raw(remediationBackfill).execute(db);
      },
    },
  };
}
