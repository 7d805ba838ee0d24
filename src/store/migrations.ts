/**
 * Schema migrations, in order. Each runs once per database (Kysely's migrator keeps the log), so
 * adding a stage's tables is adding one entry here. Written with the schema builder so the same
 * migration serves SQLite and PostgreSQL; `dialect` covers the few differences.
 */
import type { Kysely, Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

export function migrations(dialect: Dialect): Record<string, Migration> {
  const serial = dialect === 'postgres' ? 'serial' : 'integer';
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
  };
}
