/** Test support for the store's tests: the back ends they run on, and statements on the PostgreSQL server they were given. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export async function pgQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Where a store test opens its store, per back end: `[label, location()]` for describe.each. */
export type StoreBackend = [string, () => Promise<string>];

/**
 * The back ends a repository's tests run on: SQLite in a temporary folder, and PostgreSQL in a
 * schema of its own when IOTCLEAN_TEST_POSTGRES names a server (skipped with a message otherwise).
 * With `fresh`, every location() is an empty database (a new file, the schema made anew);
 * otherwise the same one each time. Pass `cleanup` to afterAll: it removes both.
 */
export function storeBackends(name: string, options: { readonly fresh?: boolean } = {}): { readonly backends: StoreBackend[]; cleanup(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), `iotclean-${name}-`));
  const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
  const schema = `iotclean_${name.replace(/\W/g, '_')}_${process.pid}`;
  if (!pgUrl) console.log(`${name} store tests: PostgreSQL back end skipped (set IOTCLEAN_TEST_POSTGRES=postgres://... to run it)`);
  let n = 0;
  const backends: StoreBackend[] = [['sqlite', async () => join(dir, options.fresh ? `${name}-${n++}.db` : `${name}.db`)]];
  if (pgUrl) {
    backends.push([
      'postgres',
      async () => {
        if (options.fresh) await pgQuery(pgUrl, `drop schema if exists ${schema} cascade`);
        await pgQuery(pgUrl, `create schema if not exists ${schema}`);
        return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      },
    ]);
  }
  return {
    backends,
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
      if (pgUrl) await pgQuery(pgUrl, `drop schema if exists ${schema} cascade`);
    },
  };
}
