/**
 * Opening a store: where it lives (a SQLite file, the embedded default under ./data, or a
 * postgres:// URL for many users and workers), refusing mistaken locations before anything is
 * created, and bringing its schema up to date through the migrations.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { IotcleanError } from '../core/errors.js';
import { migrations, type Dialect } from './migrations.js';
import type { Database } from './schema.js';
import { createStore, type Store } from './store.js';

export const DEFAULT_DB = 'data/iotclean.db';

export interface OpenOptions {
  /**
   * For commands that only read: never create a database or a directory. A missing SQLite file
   * is an error naming it; an existing one is opened read-only (migrated first if it is older).
   */
  readonly readOnly?: boolean;
}

/** True when a --db location names a PostgreSQL server rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

/**
 * A location without its password, for messages: scheme://user:secret@host → scheme://user:***@host.
 * Greedy up to the last "@", so a password holding an unescaped "@" is hidden whole.
 */
export function redactLocation(location: string): string {
  return location.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^:/@]*):.*@/, '$1:***@');
}

/**
 * Refuse locations that are surely mistakes before anything is created: an empty one, and any URL
 * whose scheme is not PostgreSQL's (a typo such as postgress:// would otherwise become a SQLite
 * file whose path holds the password). SQLite `file:` URIs are refused too: better-sqlite3 takes
 * them as plain file names, so `file:x.db` would silently make a file called "file:x.db".
 */
export function checkLocation(location: string): void {
  if (location.trim() === '') {
    throw new IotcleanError('E_ARGS', '--db is empty', { hint: `give a SQLite file path (default ${DEFAULT_DB}) or a postgres:// URL` });
  }
  if (isPostgresUrl(location)) return;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(location)?.[1];
  if (scheme && (location.startsWith(`${scheme}://`) || scheme.toLowerCase() === 'file')) {
    throw new IotcleanError('E_ARGS', `--db ${redactLocation(location)}: unknown scheme "${scheme}:"`, {
      hint: 'use postgres://user:password@host/db (or postgresql://) for PostgreSQL, or a plain file path for SQLite',
    });
  }
}

/**
 * Open the store at a location: a SQLite file path (the embedded default) or a postgres:// URL
 * (many users and workers). Both get the same schema and the same queries.
 */
export async function openStore(location: string = DEFAULT_DB, options: OpenOptions = {}): Promise<Store> {
  checkLocation(location);
  return isPostgresUrl(location) ? openPostgres(location, options) : openSqlite(location, options);
}

/** Make sure a SQLite file can be opened without creating anything but the default data/ folder. */
function prepareSqlitePath(location: string, readOnly: boolean): void {
  if (location === ':memory:') return;
  const exists = (path: string) => {
    try {
      return statSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw storeError(location, `cannot use this database: ${(e as Error).message}`);
    }
  };
  const file = exists(location);
  if (file?.isDirectory()) throw storeError(location, 'cannot use this database: it is a folder', 'give the path of a database file');
  if (readOnly) {
    if (!file) throw new IotcleanError('E_NOT_FOUND', 'no database here (read-only commands never create one)', { file: location, hint: 'check --db; a survey (iotclean discover, demo or import) creates it' });
    return;
  }
  if (file) return;
  const parent = dirname(location);
  // Only the default folder is made, one level, so a mistaken path never grows a directory tree
  // (and Node's recursive mkdir never meets a /proc-like file system).
  if (resolve(location) === resolve(DEFAULT_DB)) {
    try {
      mkdirSync(parent);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw storeError(location, `cannot create the folder ${parent}: ${(e as Error).message}`);
    }
    return;
  }
  const dir = exists(parent);
  if (!dir) throw storeError(location, `cannot create the database: the folder ${parent} does not exist`, 'create the folder first, or check the path');
  if (!dir.isDirectory()) throw storeError(location, `cannot create the database: ${parent} is not a folder`);
}

function storeError(location: string, message: string, hint = 'check the path and its permissions, or pass another --db'): IotcleanError {
  return new IotcleanError('E_STORE', message, { file: location, hint });
}

async function openSqlite(location: string, options: OpenOptions): Promise<Store> {
  const readOnly = options.readOnly === true;
  prepareSqlitePath(location, readOnly);
  const connect = (ro: boolean): SQLite.Database => {
    try {
      const sqlite = new SQLite(location, ro ? { readonly: true, fileMustExist: true } : { fileMustExist: readOnly });
      // First: switching a new file to WAL needs a moment's exclusive lock another process may hold.
      sqlite.pragma(`busy_timeout = ${BUSY_MS}`);
      if (!ro) {
        // WAL + NORMAL: a committed transaction survives a killed process, which resume relies on.
        sqlite.pragma('journal_mode = WAL');
        sqlite.pragma('synchronous = NORMAL');
      }
      sqlite.pragma('foreign_keys = ON');
      return sqlite;
    } catch (e) {
      throw storeError(location, `cannot open the database: ${(e as Error).message}`);
    }
  };
  if (readOnly && location !== ':memory:') {
    // An existing store from an older version is brought up to date first; nothing new is created.
    const ro = new Kysely<Database>({ dialect: new SqliteDialect({ database: connect(true) }) });
    const pending = await pendingMigrations(ro, 'sqlite', location);
    if (pending === 0) return createStore(ro, 'sqlite');
    await ro.destroy();
    const raw = connect(false);
    const rw = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
    await migrateSqlite(raw, rw, location);
    await rw.destroy();
    return createStore(new Kysely<Database>({ dialect: new SqliteDialect({ database: connect(true) }) }), 'sqlite');
  }
  const raw = connect(false);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: raw }) });
  await migrateSqlite(raw, db, location);
  return createStore(db, 'sqlite');
}

async function openPostgres(url: string, options: OpenOptions): Promise<Store> {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  try {
    const client = await pool.connect();
    client.release();
  } catch (e) {
    await pool.end().catch(() => {});
    throw new IotcleanError('E_STORE', `cannot connect to ${redactLocation(url)}: ${(e as Error).message}`, {
      hint: 'check that the PostgreSQL server runs and the URL, user and database are right',
    });
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    // A read-only command must not turn an empty database into a store, nor need write rights
    // when the store is up to date (a reporting role may only read).
    const pending = options.readOnly ? await pendingMigrations(db, 'postgres', redactLocation(url)) : undefined;
    if (pending !== undefined && pending === Object.keys(migrations('postgres')).length) {
      throw new IotcleanError('E_NOT_FOUND', `no iotclean store in ${redactLocation(url)}`, { hint: 'check --db; a survey (iotclean discover, demo or import) creates it' });
    }
    if (pending !== 0) await migrate(db, 'postgres', redactLocation(url));
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return createStore(db, 'postgres');
}

function migrator(db: Kysely<Database>, dialect: Dialect, schema: string | undefined): Migrator {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  return new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
}

/** On PostgreSQL the migration log lives in the schema the connection works in (its search_path). */
async function migrationSchema(db: Kysely<Database>, dialect: Dialect): Promise<string | undefined> {
  return dialect === 'postgres' ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s : undefined;
}

/** How many migrations this database still lacks (all of them for an empty database). */
async function pendingMigrations(db: Kysely<Database>, dialect: Dialect, location: string): Promise<number> {
  try {
    const all = await migrator(db, dialect, await migrationSchema(db, dialect)).getMigrations();
    return all.filter((m) => m.executedAt === undefined).length;
  } catch (e) {
    throw new IotcleanError('E_STORE', `cannot read database ${location}: ${(e as Error).message}`, { file: location });
  }
}

const BUSY_MS = 5000;

/**
 * Kysely takes no lock for SQLite migrations (one connection per process), so two processes opening
 * a new file at once (a runner and a status poll) would both create the same tables. One write
 * transaction around the whole run makes the second wait, then find nothing left to do.
 */
async function migrateSqlite(raw: SQLite.Database, db: Kysely<Database>, location: string): Promise<void> {
  if (location === ':memory:') return migrate(db, 'sqlite', location);
  // Another process's migration of a large store may take longer than an ordinary write.
  raw.pragma('busy_timeout = 600000');
  try {
    raw.exec('begin immediate');
  } catch (e) {
    throw storeError(location, `cannot lock the database to bring it up to date: ${(e as Error).message}`);
  } finally {
    raw.pragma(`busy_timeout = ${BUSY_MS}`);
  }
  try {
    await migrate(db, 'sqlite', location);
    raw.exec('commit');
  } catch (e) {
    if (raw.inTransaction) raw.exec('rollback');
    throw e;
  }
}

async function migrate(db: Kysely<Database>, dialect: Dialect, location: string): Promise<void> {
  const { error } = await migrator(db, dialect, await migrationSchema(db, dialect)).migrateToLatest();
  if (error) {
    throw new IotcleanError('E_STORE', `cannot migrate database ${location}: ${(error as Error).message}`, {
      file: location,
    });
  }
}
