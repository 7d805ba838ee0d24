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
  };
}
