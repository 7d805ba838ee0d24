/** `iotclean flows export` as a user runs it: the stored flows as CSV on stdout or into --out FILE. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-flows-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = fileURLToPath(new URL('./fixtures/flows/', import.meta.url));

describe('iotclean flows export', () => {
  it('writes the imported flows as CSV, the same on stdout and in --out FILE', async () => {
    const store = join(dir, 'store');
    const imp = await runCli(['flows', 'import', join(fixtures, 'nfdump-1.7.1.csv'), '--out', store]);
    expect(imp.code, imp.stderr).toBe(0);
    const r = await runCli(['flows', 'export', store]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('start_ms,end_ms,src,src_port,dst,dst_port,proto,packets,bytes,tcp_flags,exporter,sampling');
    expect(lines).toHaveLength(41);
    expect(lines.slice(1).every((l) => /^\d+,\d+,\d+,\d+,\d+,\d+,\d+,\d+,\d+,\d+,[^,]+,\d+$/.test(l))).toBe(true);
    const f = await runCli(['flows', 'export', store, '--out', join(dir, 'out.csv'), '--json']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout)).toMatchObject({ rows: 40 });
    expect(readFileSync(join(dir, 'out.csv'), 'utf8')).toBe(r.stdout);
    // A window after every flow: just the header.
    const none = await runCli(['flows', 'export', store, '--window', '2100-01-01..']);
    expect(none.stdout).toBe(`${lines[0]}\n`);
  });
});
