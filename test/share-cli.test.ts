/** `iotclean share export | serve | pull` as users run them: ISP-A serves its list on loopback, ISP-B pulls it. */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateMispEvent } from '../src/share/misp.js';
import { openStore } from '../src/store/open.js';
import { sampleEntries, sampleNow, shiftedEntries } from '../src/share/test-support.js';
import { validateStixBundle } from '../src/share/validate.js';
import { runCli, startCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-share-cli-'));
const cands = join(dir, 'cands.jsonl');
// The CLI judges expiry by the wall clock: the fixture is moved so that its "now" is today.
writeFileSync(cands, shiftedEntries(sampleEntries(), Date.now() - sampleNow).map((e) => JSON.stringify(e)).join('\n') + '\n');
let server: ChildProcess | undefined;

async function stopServer(): Promise<void> {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGINT');
    await exited;
  }
}

afterAll(async () => {
  await stopServer();
  rmSync(dir, { recursive: true, force: true });
});

describe('iotclean share', () => {
  it('export writes a valid STIX bundle or MISP event; bad choices are refused by name', async () => {
    const stix = await runCli(['share', 'export', '--candidates', cands, '--identity', 'ISP-A']);
    expect(stix.code, stix.stderr).toBe(0);
    expect(validateStixBundle(JSON.parse(stix.stdout), { closed: true })).toEqual([]);
    expect(stix.stderr).toMatch(/3 of 3 candidate\(s\) shared \(1 expired\)/);
    const out = join(dir, 'event.json');
    const misp = await runCli(['share', 'export', '--candidates', cands, '--format', 'misp', '--misp-objects', '--out', out, '--json']);
    expect(misp.code, misp.stderr).toBe(0);
    expect(JSON.parse(misp.stdout)).toMatchObject({ file: out, shared: 3 });
    expect(validateMispEvent(JSON.parse(readFileSync(out, 'utf8')))).toEqual([]);
    const bad = await runCli(['share', 'export', '--candidates', cands, '--since', 'last week']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/E_ARGS --since/);
    const badTlp = await runCli(['share', 'export', '--candidates', cands, '--tlp', 'yellow']);
    expect(badTlp.code).toBe(2);
    expect(badTlp.stderr).toMatch(/E_ARGS --tlp "yellow" is not a TLP level/);
    const strict = await runCli(['share', 'export', '--candidates', cands, '--tlp', 'amber+strict', '--format', 'misp']);
    expect(strict.code, strict.stderr).toBe(0);
    expect(JSON.parse(strict.stdout).Event).toMatchObject({ distribution: '0', Tag: expect.arrayContaining([{ name: 'tlp:amber+strict' }]) });
    // Without --candidates: the candidates flows detect stored (store.flows), with their liveness.
    const db = join(dir, 'flows.db');
    const store = await openStore(db);
    await store.flows.upsert(sampleEntries().map((e) => e.candidate), '2026-11-20T00:00:00.000Z');
    await store.close();
    const stored = await runCli(['share', 'export', '--db', db, '--identity', 'ISP-A']);
    expect(stored.code, stored.stderr).toBe(0);
    expect(validateStixBundle(JSON.parse(stored.stdout), { closed: true })).toEqual([]);
    expect(stored.stderr).toMatch(/3 of 3 candidate\(s\) shared/);
    const empty = await runCli(['share', 'export', '--db', join(dir, 'none.db')]);
    expect(empty.stderr).toMatch(/0 of 0 candidate\(s\) shared/);
  }, 120_000);

  it('serve on loopback, pull from it with a token file, and a second pull gets nothing new', async () => {
    const token = 'isp-b-secret-token-0123456789';
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify({ tokens: [{ isp: 'ISP-B', token, read: ['c2'], write: ['inbox-isp-b'] }] }));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${token}\n`);
    try {
      server = startCli(['share', 'serve', '--port', '0', '--tokens', tokens, '--candidates', cands, '--identity', 'ISP-A', '--db', join(dir, 'a.db'), '--refresh', '0', '--json']);
      let stdout = '';
      let stderr = '';
      server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const info = await new Promise<{ discovery: string; collection: string }>((resolve, reject) => {
        server!.stdout!.on('data', (d: Buffer) => {
          stdout += d.toString();
          try {
            resolve(JSON.parse(stdout));
          } catch {
            /* not complete yet */
          }
        });
        server!.once('exit', (code) => reject(new Error(`share serve exited ${code}: ${stderr}`)));
      });
      expect(info.discovery).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/taxii2\/$/);
      const pull = await runCli(['share', 'pull', info.discovery, '--collection', info.collection, '--token-file', tokenFile, '--db', join(dir, 'b.db'), '--json']);
      expect(pull.code, pull.stderr).toBe(0);
      const r = JSON.parse(pull.stdout);
      expect(r).toMatchObject({ invalid: 0, updated: 0 });
      expect(r.added).toBe(r.objects);
      expect(r.objects).toBeGreaterThan(10);
      const again = JSON.parse((await runCli(['share', 'pull', info.discovery, '--collection', info.collection, '--token-file', tokenFile, '--db', join(dir, 'b.db'), '--json'])).stdout);
      expect(again).toMatchObject({ objects: 0, added: 0 });
      const received = await runCli(['share', 'received', '--db', join(dir, 'b.db'), '--all', '--json']);
      expect(received.code, received.stderr).toBe(0);
      const eps = JSON.parse(received.stdout) as { ip: string; port: number; proto: string; shared_by: string }[];
      expect(eps.map((e) => `${e.ip}:${e.port}/${e.proto}`).sort()).toEqual(['198.51.100.7:23/tcp', '203.0.113.10:4444/udp', '203.0.113.10:6667/tcp']);
      expect(new Set(eps.map((e) => e.shared_by))).toEqual(new Set(['ISP-A']));
      const wrong = join(dir, 'wrong');
      writeFileSync(wrong, 'not-the-token-at-all-0000\n');
      const denied = await runCli(['share', 'pull', info.discovery, '--collection', info.collection, '--token-file', wrong, '--db', join(dir, 'b.db')]);
      expect(denied.code).not.toBe(0);
      expect(denied.stderr).toMatch(/E_TAXII .*HTTP 401/);
    } finally {
      // The server belongs to this test: it stops here, even when an expectation failed.
      await stopServer();
    }
    expect(server.exitCode).toBe(0);
  }, 120_000);
});
