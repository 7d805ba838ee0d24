/**
 * The scope guard is the single place where outbound sockets are opened: tested by trying to get
 * past it, and by checking that no other module opens a socket itself.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../src/core/errors.js';
import { parseIpv4 } from '../src/core/ip.js';
import { connectGuarded, createProber, ProbeOutcome } from '../src/scope/guard.js';
import { compileScope, defaultScope, parseScope } from '../src/scope/scope.js';
import { repoRoot } from './helpers.js';

const loopback = compileScope(defaultScope());
let server: net.Server;
let port: number;

beforeAll(async () => {
  server = net.createServer((s) => s.on('error', () => {}).end('hello\r\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('connectGuarded', () => {
  it('connects inside the scope', async () => {
    const sock = connectGuarded(loopback, '127.0.0.1', port, { timeoutMs: 2000 });
    const data = await new Promise<string>((resolve, reject) => {
      sock.once('data', (d) => resolve(d.toString()));
      sock.once('error', reject);
    });
    sock.destroy();
    expect(data).toBe('hello\r\n');
  });

  it.each(['10.0.0.1', '192.168.1.1', '8.8.8.8', '0x7f.1', '2130706433', '0177.0.0.1', '127.1', '::ffff:10.0.0.1', '::1', 'localhost', 'example.com', ' 127.0.0.1', '127.0.0.1.'])(
    'refuses %s before any packet is sent',
    (host) => {
      expect(() => connectGuarded(loopback, host, port)).toThrow(IotcleanError);
    },
  );

  it('refuses an excluded address inside an included range', () => {
    const scope = compileScope(parseScope('include 127.0.0.0/24\nexclude 127.0.0.1\nallow-reserved 127.0.0.0/8\n', 'test.scope'));
    expect(() => connectGuarded(scope, '127.0.0.1', port)).toThrow(/outside the authorised scope/);
  });
});

describe('createProber', () => {
  it('reports open and closed and refuses out-of-scope targets', async () => {
    for (const engine of ['raw', 'net'] as const) {
      const results = new Map<number, number>();
      let pending = 2;
      const done = new Promise<void>((resolve) => {
        const prober = createProber(
          compileScope(parseScope('127.0.0.1\nallow-reserved 127.0.0.0/8\n', 'one.scope')),
          (slot, outcome) => {
            results.set(slot, outcome);
            if (--pending === 0) resolve();
          },
          engine,
        );
        expect(prober.engine).toBe(engine);
        expect(prober.probe(0, parseIpv4('127.0.0.1')!, port)).toBe(true);
        expect(prober.probe(1, parseIpv4('127.0.0.1')!, 1)).toBe(true);
        expect(prober.probe(2, parseIpv4('127.0.0.2')!, port)).toBe(false); // outside the one-address scope
      });
      await done;
      expect(results.get(0)).toBe(ProbeOutcome.Open);
      expect(results.get(1)).toBe(ProbeOutcome.Closed);
      expect(results.has(2)).toBe(false);
    }
  });
});

describe('no module but the guard opens outbound sockets', () => {
  const outbound = /\bnet\.connect\(|createConnection\(|new\s+(net\.)?Socket\(|process\s*\)?\.binding\(|tls\.connect\(|dgram\.createSocket\(|\bhttps?\.(request|get)\(|\bfetch\(|new\s+Client\(/;
  function files(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
    });
  }
  it('finds outbound socket calls only in src/scope/guard.ts', () => {
    const offenders = files(join(repoRoot, 'src'))
      .filter((f) => outbound.test(readFileSync(f, 'utf8')))
      .map((f) => relative(repoRoot, f));
    expect(offenders).toEqual(['src/scope/guard.ts']);
  });
});
