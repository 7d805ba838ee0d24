/** Test support for the store's tests: one statement on the PostgreSQL server the tests were given. */
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
