/**
 * The scope guard as a capability: only scopes built by src/scope/ open sockets, probers and
 * connections refuse anything else, and the connection object keeps its limits against real
 * loopback peers (refusing, silent, endless, closing, TLS, slow). Which files may import socket
 * modules at all is test/imports.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../src/core/errors.js';
import { parseIpv4 } from '../src/core/ip.js';
import { runDiscovery } from '../src/discover/engine.js';
import { openConnection, type ConnectionLimits } from '../src/scope/connection.js';
import { classifyErrno, errnoTable } from '../src/scope/errno.js';
import { createProber, probeOutcomeOf, ProbeOutcome } from '../src/scope/guard.js';
import { compileScope, defaultScope, isCompiledScope, parseScope, restrictScope, reviveScope, type CompiledScope } from '../src/scope/scope.js';
import { caught } from './caught.js';

const loopback = compileScope(defaultScope());
const servers: net.Server[] = [];
const accepted = new Set<net.Socket>();
const children: ChildProcess[] = [];

/** A loopback server on 127.0.0.1 with the given connection handler; closed after each test. */
async function serve(onConnection: (s: net.Socket) => void, server: net.Server = net.createServer()): Promise<number> {
  server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (s: net.Socket) => {
    accepted.add(s);
    s.on('error', () => {});
    s.on('close', () => accepted.delete(s));
    onConnection(s);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  // A server socket that never reads would not notice our close: end them all here.
  for (const s of accepted) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

/** A port on 127.0.0.1 with nothing listening (bound then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}


describe('a compiled scope is a capability', () => {
  const fake = { source: 'fake', spec: defaultScope(), ranges: [], included: [], size: 2 ** 32, allows: () => true, addressAt: () => 0 } as unknown as CompiledScope;

  it('a hand-made look-alike is refused by the prober, the connection and the engine', async () => {
    expect(isCompiledScope(fake)).toBe(false);
    expect(caught(() => createProber(fake, () => {})).code).toBe('E_SCOPE_DENIED');
    await expect(openConnection(fake, '127.0.0.1', 80)).rejects.toMatchObject({ code: 'E_SCOPE_DENIED' });
    const run = runDiscovery({ scope: fake, targetRanges: [{ start: 0x7f000001, end: 0x7f000001 }], ports: [1], seed: 1, shard: { index: 0, count: 1 }, rate: 0, concurrency: 1, timeoutMs: 100, retries: 0, workers: 1, onBatch: () => {} });
    await expect(run).rejects.toMatchObject({ code: 'E_SCOPE_DENIED' });
  });

  it('a copy of a real scope is not a scope, and a real one cannot be changed', () => {
    const copy = { ...loopback } as CompiledScope;
    expect(isCompiledScope(loopback)).toBe(true);
    expect(isCompiledScope(copy)).toBe(false);
    expect(caught(() => createProber(copy, () => {})).code).toBe('E_SCOPE_DENIED');
    expect(() => Object.assign(loopback, { allows: () => true })).toThrow(TypeError);
    expect(() => (loopback.spec.includes as unknown as unknown[]).push({ start: 0, end: 0xffffffff })).toThrow(TypeError);
    expect(loopback.allows(parseIpv4('10.0.0.1')!)).toBe(false);
  });

  it('reviveScope gives back the same allowed set from the spec, never a wider one', () => {
    const s = compileScope(parseScope('include 127.1.0.0/16\nexclude 127.1.2.0/24\nallow-reserved 127.0.0.0/8\n', 'a.scope'));
    const narrowed = restrictScope(s, ['127.1.0.0/22', '127.1.9.9']);
    for (const c of [s, narrowed]) {
      const revived = reviveScope(structuredClone(c.spec)); // as a worker thread receives it
      expect(isCompiledScope(revived)).toBe(true);
      expect(revived.ranges).toEqual(c.ranges);
      expect(revived.size).toBe(c.size);
    }
    expect(narrowed.allows(parseIpv4('127.1.2.5')!)).toBe(false); // exclusions survive restriction
    expect(reviveScope(structuredClone(narrowed.spec)).allows(parseIpv4('127.1.9.9')!)).toBe(true);
    expect(caught(() => reviveScope({ includes: 'all' } as never)).code).toBe('E_SCOPE_FILE');
  });
});

describe('one error classification', () => {
  it('maps raw libuv statuses and net.Socket codes through the same table', () => {
    for (const [name, cls] of Object.entries(errnoTable)) {
      expect(classifyErrno(name)).toBe(cls);
      const n = (osConstants.errno as Record<string, number>)[name];
      if (n !== undefined) expect(classifyErrno(-n)).toBe(cls);
    }
    expect(classifyErrno('ENOTAREALCODE')).toBe('unknown');
    expect(classifyErrno(undefined)).toBe('unknown');
  });

  it('only local resource exhaustion is a local error; unreachable targets are outcomes', () => {
    for (const code of ['ENETUNREACH', 'EHOSTUNREACH', 'EACCES', 'EPERM', 'EINVAL']) expect(probeOutcomeOf(code)).toBe(ProbeOutcome.Unreachable);
    for (const code of ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL', 'EAGAIN']) expect(probeOutcomeOf(code)).toBe(ProbeOutcome.LocalError);
    expect(probeOutcomeOf(-osConstants.errno.ECONNREFUSED)).toBe(ProbeOutcome.Closed);
  });
});

describe('createProber', () => {
  it.each(['raw', 'net'] as const)('reports open and closed and refuses out-of-scope targets (%s engine)', async (engine) => {
    const port = await serve((s) => s.end('hello\r\n'));
    const results = new Map<number, [number, boolean]>();
    let pending = 2;
    await new Promise<void>((resolve) => {
      const prober = createProber(
        compileScope(parseScope('127.0.0.1\nallow-reserved 127.0.0.0/8\n', 'one.scope')),
        (slot, outcome, sent) => {
          results.set(slot, [outcome, sent]);
          if (--pending === 0) resolve();
        },
        engine,
      );
      expect(prober.engine).toBe(engine);
      expect(prober.probe(0, parseIpv4('127.0.0.1')!, port)).toBe(true);
      expect(prober.probe(1, parseIpv4('127.0.0.1')!, 1)).toBe(true);
      expect(prober.probe(2, parseIpv4('127.0.0.2')!, port)).toBe(false); // outside the one-address scope
    });
    expect(results.get(0)).toEqual([ProbeOutcome.Open, true]);
    expect(results.get(1)).toEqual([ProbeOutcome.Closed, true]);
    expect(results.has(2)).toBe(false);
  });
});

describe('openConnection', () => {
  const limits: ConnectionLimits = { connectTimeoutMs: 5000, firstByteTimeoutMs: 400, idleTimeoutMs: 400, deadlineMs: 10_000, maxBytes: 4096 };
  const line = (b: Buffer) => {
    const i = b.indexOf('\r\n');
    return i < 0 ? -1 : i + 2;
  };

  it('reads a banner line by line, then reports the peer closing', async () => {
    const port = await serve((s) => s.end('hello\r\nworld\r\n'));
    const r = await openConnection(loopback, '127.0.0.1', port, limits);
    if (r.status !== 'success') throw new Error(r.error);
    const c = r.connection;
    expect(Object.keys(c)).not.toContain('socket');
    expect((await c.readUntil(line)).data.toString()).toBe('hello\r\n');
    expect(await c.readUntil(line)).toMatchObject({ status: 'success', data: Buffer.from('world\r\n') });
    const last = await c.read();
    expect(last.status).toBe('connection-closed');
    expect(last.data.length).toBe(0);
    expect((await c.write('x')).status).toBe('connection-closed');
    c.close();
  });

  it('readBytes waits across chunks and leaves the rest buffered', async () => {
    const port = await serve((s) => {
      s.write('ab');
      setTimeout(() => s.end('cd'), 50);
    });
    const r = await openConnection(loopback, '127.0.0.1', port, limits);
    if (r.status !== 'success') throw new Error(r.error);
    expect((await r.connection.readBytes(3)).data.toString()).toBe('abc');
    expect(await r.connection.read()).toMatchObject({ status: 'success', data: Buffer.from('d') });
    expect((await r.connection.read()).status).toBe('connection-closed');
    r.connection.close();
  });

  it('a closed port is connection-refused', async () => {
    const r = await openConnection(loopback, '127.0.0.1', await closedPort(), limits);
    expect(r.status).toBe('connection-refused');
  });

  it.each(['10.0.0.1', '127.1', '0x7f.0.0.1', 'localhost', '::1', '127.0.0.1 '])('refuses %s as blocklisted-target, sending nothing', async (host) => {
    expect(await openConnection(loopback, host, 80, limits)).toMatchObject({ status: 'blocklisted-target' });
  });

  it('an excluded address is blocklisted-target and the server sees no connection', async () => {
    let connections = 0;
    const port = await serve((s) => {
      connections++;
      s.destroy();
    });
    const scope = compileScope(parseScope('include 127.0.0.0/24\nexclude 127.0.0.1\nallow-reserved 127.0.0.0/8\n', 'test.scope'));
    const r = await openConnection(scope, '127.0.0.1', port, limits);
    expect(r).toMatchObject({ status: 'blocklisted-target' });
    const probe = await openConnection(loopback, '127.0.0.1', port, limits); // the server does count
    if (probe.status === 'success') probe.connection.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(connections).toBe(1);
  });

  it('a silent peer makes reads end io-timeout (first byte), and the connection stays usable', async () => {
    let got = '';
    const port = await serve((s) => s.on('data', (d) => (got += d.toString()) && s.write('pong')));
    const r = await openConnection(loopback, '127.0.0.1', port, limits);
    if (r.status !== 'success') throw new Error(r.error);
    expect(await r.connection.read()).toMatchObject({ status: 'io-timeout', limit: 'first-byte-timeout' });
    expect((await r.connection.write('ping')).status).toBe('success');
    expect((await r.connection.readBytes(4)).data.toString()).toBe('pong');
    expect(got).toBe('ping');
    r.connection.close();
  });

  it('an endless sender is cut at the byte cap, keeping exactly the first bytes', async () => {
    const pattern = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const port = await serve((s) => {
      let n = 0;
      const push = () => {
        // Bounded: at most 10 MB, and it stops when we close.
        while (n < 10_000 && !s.destroyed && s.write(pattern)) n++;
        if (n < 10_000 && !s.destroyed) s.once('drain', push);
      };
      push();
    });
    const r = await openConnection(loopback, '127.0.0.1', port, limits);
    if (r.status !== 'success') throw new Error(r.error);
    const res = await r.connection.readUntil(() => -1); // never satisfied
    expect(res).toMatchObject({ status: 'protocol-error', limit: 'byte-cap' });
    expect(res.data.length).toBe(limits.maxBytes);
    expect(res.data.equals(Buffer.concat(Array.from({ length: 5 }, () => pattern)).subarray(0, limits.maxBytes))).toBe(true);
    expect(r.connection.bytesReceived).toBe(limits.maxBytes);
    r.connection.close();
  });

  it('a slow drip is ended by the total deadline even though each byte comes within the idle timeout', async () => {
    const port = await serve((s) => {
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('.')), 50);
      s.on('close', () => clearInterval(t));
    });
    const r = await openConnection(loopback, '127.0.0.1', port, { ...limits, idleTimeoutMs: 5000, firstByteTimeoutMs: 5000, deadlineMs: 600 });
    if (r.status !== 'success') throw new Error(r.error);
    const res = await r.connection.readUntil(() => -1);
    expect(res).toMatchObject({ status: 'io-timeout', limit: 'deadline' });
    expect(res.data.length).toBeGreaterThan(0);
    expect((await r.connection.write('x')).status).toBe('io-timeout');
  });

  it('a handshake nobody answers is connection-timeout', async () => {
    // A full accept queue makes Linux drop SYNs (python3 holds the listener and fills its queue).
    const holder = spawn(
      'python3',
      ['-c', "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\np=s.getsockname()[1]\nc=[socket.socket() for _ in range(4)]\nfor x in c: x.setblocking(False); x.connect_ex(('127.0.0.1',p))\ntime.sleep(0.3)\nprint(p,flush=True)\ntime.sleep(30)"],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(holder);
    const port = Number(await new Promise<string>((r) => holder.stdout!.once('data', (d: Buffer) => r(d.toString()))));
    const r = await openConnection(loopback, '127.0.0.1', port, { ...limits, connectTimeoutMs: 300 });
    expect(r).toMatchObject({ status: 'connection-timeout', limit: 'connect-timeout' });
  });

  describe.skipIf(spawnSync('openssl', ['version']).status !== 0)('TLS (needs openssl to make a certificate; skipped otherwise)', () => {
    let dir = '';
    let key = '';
    let cert = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'iotclean-tls-'));
      const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '2', '-subj', '/CN=ipcam-test/O=Lab Devices'], { timeout: 20_000 });
      expect(r.status, r.stderr?.toString()).toBe(0);
      key = readFileSync(join(dir, 'k.pem'), 'utf8');
      cert = readFileSync(join(dir, 'c.pem'), 'utf8');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('speaks TLS to a self-signed device and gives its certificate as data', async () => {
      const port = await serve((s) => s.end('HTTP/1.0 200 OK\r\n\r\n'), tls.createServer({ key, cert }));
      const r = await openConnection(loopback, '127.0.0.1', port, limits, { tls: true });
      if (r.status !== 'success') throw new Error(r.error);
      const t = r.connection.tls!;
      expect(t.authorized).toBe(false);
      expect(t.protocol).toMatch(/^TLSv1\.[23]$/);
      expect(t.peerCertificate?.subject).toContain('CN=ipcam-test');
      expect(t.peerCertificate?.subject).toContain('O=Lab Devices');
      expect(t.peerCertificate?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(Buffer.from(t.peerCertificate!.der, 'base64').length).toBeGreaterThan(100);
      expect((await r.connection.readUntil(line)).data.toString()).toBe('HTTP/1.0 200 OK\r\n');
      r.connection.close();
    });

    it('a plaintext peer on a TLS connection is protocol-error', async () => {
      const port = await serve((s) => s.end('SSH-2.0-dropbear\r\n'.repeat(20)));
      const r = await openConnection(loopback, '127.0.0.1', port, limits, { tls: true });
      expect(r.status).toBe('protocol-error');
    });
  });
});
