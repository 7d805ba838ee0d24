import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { authenticate, canRead, canWrite, parseAccess, sha256 } from './access.js';
import { fileCandidateSource } from './publish.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-share-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refused(f: () => unknown, message: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(IotcleanError);
    expect((e as IotcleanError).code).toBe('E_SHARE_FILE');
    expect((e as IotcleanError).message).toMatch(message);
    return;
  }
  throw new Error('not refused');
}

describe('tokens file', () => {
  const t = 'a-token-of-sixteen-chars';
  it('maps tokens (plain or hashed) to ISPs and grants by id, alias or *', () => {
    const table = parseAccess(JSON.stringify({ tokens: [{ isp: 'B', token: t, read: ['c2'] }, { isp: 'C', token_sha256: sha256('another-token-0000').toString('hex'), read: ['*'], write: ['inbox'] }] }), 'f');
    const b = authenticate(table, t)!;
    const c = authenticate(table, 'another-token-0000')!;
    expect([b.isp, c.isp]).toEqual(['B', 'C']);
    expect(authenticate(table, 'nope')).toBeUndefined();
    const col = { id: 'x', alias: 'c2' };
    expect([canRead(b, col), canWrite(b, col), canRead(b, { id: 'y', alias: null })]).toEqual([true, false, false]);
    expect([canRead(c, { id: 'y', alias: null }), canWrite(c, { id: 'z', alias: 'inbox' })]).toEqual([true, true]);
  });
  it('refuses bad files by name', () => {
    refused(() => parseAccess('{', 'f'), /not JSON/);
    refused(() => parseAccess('{"tokens":[]}', 'f'), /at least one ISP/);
    refused(() => parseAccess(JSON.stringify({ tokens: [{ isp: 'B', token: 'short' }] }), 'f'), /tokens.0.token: a token must be at least 16/);
    refused(() => parseAccess(JSON.stringify({ tokens: [{ isp: 'B' }] }), 'f'), /exactly one of token and token_sha256/);
    refused(() => parseAccess(JSON.stringify({ tokens: [{ isp: 'B', token: t }, { isp: 'C', token: t }] }), 'f'), /same token/);
    refused(() => parseAccess(JSON.stringify({ tokens: [{ isp: 'B', token: t, reed: [] }] }), 'f'), /reed|unrecognized/i);
  });
});

describe('candidates file', () => {
  it('reads flows detect output: camelCase or snake_case, alone or with liveness; skips other kinds', async () => {
    const f = join(dir, 'c.jsonl');
    writeFileSync(
      f,
      [
        { ip: '203.0.113.1', port: 23, proto: 'tcp', score: 0.9, first_seen: '2026-11-01T00:00:00Z', last_seen: '2026-11-02T00:00:00Z', clients: 3, known_bad_clients: 2, evidence: [], window: { from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z' } },
        { candidate: { ip: '203.0.113.2', port: 80, score: 0.7, firstSeen: '2026-11-01T00:00:00Z', lastSeen: '2026-11-02T00:00:00Z', clients: 1, knownBadClients: 1, window: { from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z' } }, liveness: [{ ip: '203.0.113.2', port: 80, at: '2026-11-03T00:00:00Z', alive: false }], valid_until: null },
        { kind: 'summary', candidates: 2 },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n'),
    );
    const got = [];
    for await (const e of (await fileCandidateSource(f)).list({})) got.push(e);
    expect(got.map((e) => [e.candidate.ip, e.candidate.knownBadClients, e.liveness.length])).toEqual([
      ['203.0.113.1', 2, 0],
      ['203.0.113.2', 1, 1],
    ]);
  });
  it('names the line of a bad candidate', async () => {
    const f = join(dir, 'bad.jsonl');
    writeFileSync(f, `${JSON.stringify({ ip: '203.0.113.1', port: 70000, score: 0.9 })}\n`);
    await expect(fileCandidateSource(f)).rejects.toMatchObject({ code: 'E_SHARE_FILE', where: { line: 1 } });
  });
});
