/**
 * Several processes opening one new SQLite file at the same moment (a runner and the polls that
 * watch it) must all succeed: without a lock, two would create the same tables and one would fail.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = join(dir, 'open.mts');
writeFileSync(
  script,
  `import { openStore } from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, 'open.ts')).href)};
const s = await openStore(process.argv[2], { readOnly: process.argv[3] === 'ro' });
console.log(JSON.stringify(await s.surveys.list()));
await s.close();\n`,
);

function open(db: string, mode: 'rw' | 'ro'): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, db, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

describe('opening a new SQLite store from several processes at once', () => {
  it('every process gets a migrated store', async () => {
    for (let round = 0; round < 4; round++) {
      const db = join(dir, `new-${round}.db`);
      // An empty file is an empty SQLite database: the read-only opener finds it lacking every table.
      writeFileSync(db, '');
      const results = await Promise.all([open(db, 'rw'), open(db, 'rw'), open(db, 'ro'), open(db, 'rw')]);
      for (const r of results) {
        expect(r.code, r.out).toBe(0);
        expect(JSON.parse(r.out)).toEqual([]);
      }
    }
  }, 120_000);
});
