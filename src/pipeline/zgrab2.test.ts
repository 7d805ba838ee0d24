import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/helpers.js';
import type { IotcleanError } from '../core/errors.js';
import type { Observation } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { checkObservation } from '../core/schemas.js';
import { compileScope, defaultScope } from '../scope/scope.js';
import { openStore } from '../store/open.js';
import { importZgrab2File, parseZgrab2Line, type Zgrab2Target } from './zgrab2.js';

const fixture = join(repoRoot, 'test/fixtures/zgrab2/sample.jsonl');
const lines = readFileSync(fixture, 'utf8').split('\n');
const opts = { fallbackTime: '2026-12-01T00:00:00.000Z', surveyId: null };
const dir = mkdtempSync(join(tmpdir(), 'iotclean-zgrab2-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const targets = (line: string, port?: number) => parseZgrab2Line(line, { ...opts, ...(port ? { port } : {}) }) as Zgrab2Target[];

describe('zgrab2 lines', () => {
  it('maps ssh: ident, algorithms, and the host key fingerprint as OpenSSH writes it', () => {
    const [t] = targets(lines[0]!);
    expect(t!.endpoint).toMatchObject({ ip: '127.67.40.1', port: 22, source: 'zgrab2' });
    const o = t!.observations[0]!;
    expect(o).toMatchObject({ module: 'ssh', status: 'success', recognised: true, source: 'zgrab2', observedAt: '2026-11-30T01:00:00.000Z' });
    expect(o.fields).toMatchObject({
      ident: 'SSH-2.0-dropbear_2019.78',
      protoVersion: '2.0',
      software: 'dropbear_2019.78',
      kexAlgorithms: ['curve25519-sha256', 'diffie-hellman-group14-sha256'],
      hostKeyAlgorithms: ['ssh-ed25519', 'rsa-sha2-256'],
      ciphers: ['aes128-ctr', 'chacha20-poly1305@openssh.com'],
      hostKey: { algorithm: 'ssh-ed25519', sha256: 'SHA256:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg' },
    });
    expect((o.fields.zgrab2 as { server_id: unknown }).server_id).toBeDefined();
  });

  it('maps http (headers, title, auth realm, HTML kept as text) and telnet (banner, prompt, options) on one line', () => {
    const ts = targets(lines[1]!);
    expect(ts.map((t) => `${t.endpoint.ip}:${t.endpoint.port}`)).toEqual(['127.67.40.2:80', '127.67.40.2:23']);
    const http = ts[0]!.observations[0]!;
    expect(http.module).toBe('http');
    expect(http.fields).toMatchObject({
      status: 401,
      statusLine: '401 Unauthorized',
      server: 'lighttpd/1.4.59',
      title: 'AirStation',
      headers: { 'content-type': 'text/html', 'x-frame-options': 'SAMEORIGIN', 'www-authenticate': 'Basic realm="AirStation"' },
      wwwAuthenticate: [{ scheme: 'Basic', realm: 'AirStation', algorithm: null }],
      path: '/',
    });
    expect(http.fields.body).toContain('<script>alert(1)</script>');
    const telnet = ts[1]!.observations[0]!;
    expect(telnet.fields).toMatchObject({ prompt: 'login:', loginPrompt: true, passwordPrompt: false, will: ['Echo', 'Suppress Go Ahead'], do: ['Terminal Type'] });
    expect(Buffer.from(telnet.raw, 'base64').toString()).toContain('BusyBox v1.31.1');
  });

  it('maps failures onto the closed status set with their error, and the line\'s port when it has one', () => {
    const ftp = targets(lines[3]!)[0]!.observations[0]!;
    expect(ftp).toMatchObject({ module: 'ftp', status: 'io-timeout', recognised: false, port: 21 });
    expect(ftp.error).toContain('i/o timeout');
    const banner = targets(lines[6]!)[0]!;
    expect(banner.endpoint.port).toBe(9527);
    expect(banner.observations[0]!.fields).toMatchObject({ text: '\\x00\\x01garbage\\x00\\xc3\\xbf', bytes: 12 });
  });

  it('reports lines it cannot use: not JSON, no port for a banner scan (unless --port), unknown status', () => {
    expect(parseZgrab2Line(lines[2]!, opts)).toMatchObject({ problem: expect.stringMatching(/^not JSON/) });
    expect(parseZgrab2Line(lines[5]!, opts)).toMatchObject({ problem: expect.stringMatching(/no port for protocol "banner"/) });
    expect(targets(lines[5]!, 2000)[0]!.endpoint.port).toBe(2000);
    expect(parseZgrab2Line('{"ip":"127.0.0.1","data":{"ssh":{"status":"great"}}}', opts)).toMatchObject({ problem: expect.stringMatching(/unknown status/) });
    expect(parseZgrab2Line('   ', opts)).toBe('blank');
  });

  it('fuzz: mutated and random lines always give a result, never a throw, and every observation validates', () => {
    const rng = createRng('zgrab2-fuzz');
    const good = lines.filter((l) => l.startsWith('{'));
    for (let i = 0; i < 3000; i++) {
      let line: string;
      if (rng.int(4) === 0) {
        line = Array.from({ length: rng.int(300) }, () => String.fromCharCode(rng.int(256))).join('');
      } else {
        const chars = [...rng.pick(good)];
        for (let k = rng.int(8); k >= 0; k--) {
          const at = rng.int(chars.length);
          const op = rng.int(3);
          if (op === 0) chars.splice(at, 1);
          else if (op === 1) chars.splice(at, 0, rng.pick(['"', '{', '}', '[', ']', ',', ':', '0', 'null', '\\u0000', '-1', 'true']));
          else chars[at] = String.fromCharCode(rng.int(128));
        }
        line = chars.join('');
      }
      const r = parseZgrab2Line(line, { ...opts, surveyId: 1 });
      expect(r).toBeDefined();
      if (Array.isArray(r)) for (const t of r) for (const o of t.observations) checkObservation({ ...o, endpointId: 1 } satisfies Observation);
    }
  });
});

describe('zgrab2 file import', () => {
  it('stores a survey of the usable lines\' endpoints and observations, reporting bad lines by number', async () => {
    const store = await openStore(join(dir, 'import.db'));
    try {
      await store.plans.save({ digest: 'p', version: 'v', name: 'n', body: {} });
      const scope = compileScope(defaultScope());
      const errors: IotcleanError[] = [];
      const r = await importZgrab2File({ store, file: fixture, scope, targets: scope, planDigest: 'p', surveyTargets: [], onError: (e) => errors.push(e) });
      expect(r).toMatchObject({ lines: 7, endpoints: 5, observations: 5, errors: 2, outsideScope: 1 });
      expect(errors.map((e) => e.where.line)).toEqual([3, 6]);
      const eps = await store.endpoints.all(r.surveyId);
      expect(eps.map((e) => `${e.ip}:${e.port}`)).toEqual(['127.67.40.1:22', '127.67.40.2:23', '127.67.40.2:80', '127.67.40.3:21', '127.67.40.4:9527']);
      const obs: Observation[] = [];
      for await (const o of store.observations.list(r.surveyId)) obs.push(o);
      expect(obs.map((o) => o.endpointId)).toEqual(eps.map((e) => e.id));
      expect(new Set(obs.map((o) => o.source))).toEqual(new Set(['zgrab2']));
    } finally {
      await store.close();
    }
  });

  it('skips an over-long line and goes on', async () => {
    const file = join(dir, 'long.jsonl');
    writeFileSync(file, `${'x'.repeat((16 << 20) + 10)}\n${lines[0]}\n`);
    const store = await openStore(join(dir, 'long.db'));
    try {
      await store.plans.save({ digest: 'p', version: 'v', name: 'n', body: {} });
      const scope = compileScope(defaultScope());
      const errors: IotcleanError[] = [];
      const r = await importZgrab2File({ store, file, scope, targets: scope, planDigest: 'p', surveyTargets: [], onError: (e) => errors.push(e) });
      expect(r).toMatchObject({ endpoints: 1, observations: 1, errors: 1 });
      expect(errors[0]!.where.line).toBe(1);
    } finally {
      await store.close();
    }
  }, 30_000);
});
