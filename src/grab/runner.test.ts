/**
 * The runner: the protocol is found regardless of port (telnet on 8080, HTTP on 23, SSH on 2323,
 * silence, garbage), and the runner owns the connection (raw capture cap, bounded reconnects,
 * a module that throws or hangs, abort, scope refusal).
 */
import type * as net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { conformanceLimits } from '../../test/grab-conformance.js';
import { closedPort, ftpHandler, hostile, mqttHandler, serveHttp, serveRaw, serveSsh, telnetHandler, type TestServer } from '../../test/grab-servers.js';
import { createRng } from '../core/rng.js';
import { connectionStatuses } from '../scope/connection.js';
import { compileScope, defaultScope, restrictScope } from '../scope/scope.js';
import { grabModule, grabModules, moduleForPort, moduleForService } from './index.js';
import type { GrabModule } from './module.js';
import { grabEndpoint, grabLimits, grabWith, maxAttempts, maxReconnects, nextModule, rawCapBytes, silentOrder } from './runner.js';

const scope = compileScope(defaultScope());
const limits = conformanceLimits;
const servers: TestServer[] = [];
afterAll(async () => void (await Promise.all(servers.map((s) => s.close()))));
async function keep<T extends TestServer>(s: Promise<T>): Promise<T> {
  const server = await s;
  servers.push(server);
  return server;
}

describe('registry', () => {
  it('maps services and ports to modules; every module name matches its key', () => {
    for (const [key, m] of Object.entries(grabModules)) expect(m.name).toBe(key);
    expect(moduleForService('telnet')).toBe('telnet');
    expect(moduleForService('http')).toBe('http');
    expect(moduleForService('unknown')).toBeNull();
    expect(moduleForPort(22)).toBe('ssh');
    expect(moduleForPort(1883)).toBe('mqtt');
    expect(moduleForPort(4567)).toBeNull();
    expect(grabModule('no-such')).toBeUndefined();
    expect(grabModule('toString')).toBeUndefined();
  });

  it('survey limits are tighter than the guard defaults', () => {
    expect(grabLimits.deadlineMs).toBeLessThanOrEqual(10_000);
    expect(grabLimits.maxBytes).toBe(256 * 1024);
  });
});

describe('nextModule', () => {
  const stub = (name: string, recognise?: (b: Buffer) => boolean): GrabModule => ({
    name,
    description: 'stub',
    defaultPorts: [],
    tls: false,
    ...(recognise ? { recognise } : {}),
    grab: async () => ({ status: 'success', recognised: true, fields: {} }),
  });
  const registry = { ...grabModules, http: stub('http'), https: stub('https'), rtsp: stub('rtsp', (b) => b.toString().startsWith('RTSP/')) };

  it('first bytes pick the module that recognises them, or a signature for one without recognise()', () => {
    expect(nextModule(Buffer.from('SSH-2.0-x\r\n'), new Set(['telnet']), registry)).toBe('ssh');
    expect(nextModule(Buffer.of(255, 251, 1), new Set(['http']), registry)).toBe('telnet');
    expect(nextModule(Buffer.from('220 ready\r\n'), new Set(), registry)).toBe('ftp');
    expect(nextModule(Buffer.from('HTTP/1.0 400 Bad Request\r\n'), new Set(['telnet']), registry)).toBe('http');
    expect(nextModule(Buffer.from('RTSP/1.0 200 OK\r\n'), new Set(['http']), registry)).toBe('rtsp');
  });

  it('unrecognised bytes end with generic once; silence walks the client-first list', () => {
    expect(nextModule(Buffer.from([1, 2, 3]), new Set(['telnet']), registry)).toBe('generic');
    expect(nextModule(Buffer.from([1, 2, 3]), new Set(['telnet', 'generic']), registry)).toBeNull();
    expect(nextModule(Buffer.alloc(0), new Set(['telnet']), registry)).toBe('http');
    expect(nextModule(Buffer.alloc(0), new Set(['telnet', 'http', 'https']), registry)).toBe('rtsp');
    expect(nextModule(Buffer.alloc(0), new Set(['telnet', ...silentOrder]), registry)).toBeNull();
    // Names missing from the registry are skipped.
    expect(nextModule(Buffer.alloc(0), new Set(['telnet']), grabModules)).toBe(silentOrder.find((n) => grabModule(n)) ?? null);
  });
});

describe('protocol found regardless of port', () => {
  it('telnet on 8080 planned as http', async () => {
    const s = await keep(serveRaw(telnetHandler(), 8080));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: 8080, service: 'http', limits });
    const last = obs[obs.length - 1]!;
    expect(last.module).toBe('telnet');
    expect(last.recognised).toBe(true);
    expect(last.fields['loginPrompt']).toBe(true);
    expect(obs.filter((o) => o.recognised)).toHaveLength(1);
    expect(obs.length).toBeLessThanOrEqual(maxAttempts);
  });

  it('http (node:http) on 23 planned as telnet', async () => {
    const s = await keep(serveHttp(23));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: 23, service: 'telnet', limits });
    expect(obs[0]).toMatchObject({ module: 'telnet', recognised: false });
    if (grabModule('http')) {
      expect(obs[obs.length - 1]).toMatchObject({ module: 'http', recognised: true });
    } else {
      // Before the http module is merged: a client-first module made the server answer HTTP, so
      // detection has the bytes that will pick 'http' once it is registered.
      expect(obs.some((o) => Buffer.from(o.raw, 'base64').toString('latin1').startsWith('HTTP/1.1 '))).toBe(true);
      expect(obs.every((o) => !o.recognised)).toBe(true);
    }
  });

  it('ssh on 2323 planned as telnet', async () => {
    const s = await keep(serveSsh({ ident: 'dropbear_2017.75' }, 2323));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: 2323, service: 'telnet', limits });
    expect(obs.map((o) => [o.module, o.recognised])).toEqual([
      ['telnet', false],
      ['ssh', true],
    ]);
    expect(obs[1]!.fields['software']).toBe('dropbear_2017.75');
  });

  it('ftp on an unplanned port: first bytes, then the module that recognises them', async () => {
    const s = await keep(serveRaw(ftpHandler()));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'unknown', limits });
    expect(obs.map((o) => [o.module, o.recognised])).toEqual([
      ['generic', false],
      ['ftp', true],
    ]);
  });

  it('mqtt on its usual port with no service given', async () => {
    const s = await keep(serveRaw(mqttHandler(5), 1883));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: 1883, limits });
    expect(obs.map((o) => [o.module, o.recognised])).toEqual([['mqtt', true]]);
  });

  it('a silent port: one client-first module after the planned one, then it stops (a tarpit)', async () => {
    const s = await keep(serveRaw(hostile.silent));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'telnet', limits });
    const expected = ['telnet', ...silentOrder.filter((n) => grabModule(n)).slice(0, 1)];
    expect(obs.map((o) => o.module)).toEqual(expected);
    expect(obs.every((o) => !o.recognised && o.bytesReceived === 0)).toBe(true);
  });

  it('a port that accepts and closes at once: the client-first list is walked, bounded', async () => {
    const s = await keep(serveRaw(hostile.close));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'telnet', limits });
    expect(obs.map((o) => o.module)).toEqual(['telnet', ...silentOrder.filter((n) => grabModule(n))].slice(0, maxAttempts));
    expect(obs.every((o) => !o.recognised && o.status === 'connection-closed')).toBe(true);
  });

  it('garbage: ends with generic, which keeps the bytes', async () => {
    const s = await keep(serveRaw(hostile.garbage));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'ssh', limits });
    expect(obs[0]!.module).toBe('ssh');
    const last = obs[obs.length - 1]!;
    expect(last.module).toBe('generic');
    expect(last.fields['bytes']).toBe(1024);
    expect(obs.every((o) => !o.recognised)).toBe(true);
  });

  it('a refused port: one observation, no other module tried', async () => {
    const { ip, port } = await closedPort();
    const obs = await grabEndpoint({ scope, ip, port, service: 'telnet', limits });
    expect(obs.map((o) => [o.module, o.status])).toEqual([['telnet', 'connection-refused']]);
  });

  it('a target outside the scope: blocklisted-target and no connection', async () => {
    const s = await keep(serveRaw(telnetHandler()));
    const narrow = restrictScope(scope, ['127.63.0.1/32']);
    const obs = await grabEndpoint({ scope: narrow, ip: s.ip, port: s.port, service: 'telnet', limits });
    expect(obs.map((o) => o.status)).toEqual(['blocklisted-target']);
    expect(s.accepted()).toBe(0);
  });
});

describe('the runner owns the connection', () => {
  const fake = (grab: GrabModule['grab']): GrabModule => ({ name: 'fake', description: 'test', defaultPorts: [], tls: false, grab });

  it('keeps the first rawCapBytes read as raw, whatever the module read', async () => {
    const s = await keep(serveRaw((sock) => void sock.write(Buffer.alloc(20_000, 'R'))));
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits }, fake(async (conn) => {
      for (let n = 0; n < 20_000; ) n += (await conn.read()).data.length;
      return { status: 'success', recognised: true, fields: {} };
    }));
    expect(Buffer.from(obs.raw, 'base64')).toEqual(Buffer.alloc(rawCapBytes, 'R'));
    expect(obs.bytesReceived).toBe(20_000);
  });

  it('a module that throws: unknown-error with the error text', async () => {
    const s = await keep(serveRaw(hostile.silent));
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits }, fake(async () => {
      throw new Error('bug in a module');
    }));
    expect(obs).toMatchObject({ status: 'unknown-error', recognised: false, error: 'bug in a module' });
  });

  it('a module that never returns is ended by the runner', async () => {
    const s = await keep(serveRaw(hostile.silent));
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: { ...limits, deadlineMs: 300 } }, fake(() => new Promise(() => {})));
    expect(obs.status).toBe('io-timeout');
    expect(obs.error).toMatch(/did not finish/);
  });

  it('reconnects are bounded and every connection is closed afterwards', async () => {
    const open = new Set<net.Socket>();
    const s = await keep(serveRaw((sock) => {
      open.add(sock);
      sock.on('close', () => open.delete(sock));
    }));
    const results: string[] = [];
    await grabWith({ scope, ip: s.ip, port: s.port, limits }, fake(async (_conn, ctx) => {
      for (let i = 0; i < maxReconnects + 2; i++) results.push((await ctx.reconnect()).status);
      return { status: 'success', recognised: true, fields: {} };
    }));
    expect(results).toEqual([...Array(maxReconnects).fill('success'), 'unknown-error', 'unknown-error']);
    expect(s.accepted()).toBe(1 + maxReconnects);
    await expect.poll(() => open.size, { timeout: 10_000 }).toBe(0);
  });

  it('the endpoint budget clips attempts: no module is started without time left', async () => {
    const s = await keep(serveRaw(hostile.silent));
    // The first attempt waits its 500 ms first-byte timeout; 600 ms leaves too little for another.
    const obs = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'unknown', limits, budgetMs: 600 });
    expect(obs.map((o) => [o.module, o.status])).toEqual([['generic', 'io-timeout']]);
  });

  it('a 100 MB banner with the survey limits: every observation within the byte cap', async () => {
    const s = await keep(serveRaw(hostile.endless));
    const obs = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'telnet' });
    expect(obs.length).toBeLessThanOrEqual(maxAttempts);
    for (const o of obs) {
      expect(o.bytesReceived).toBeLessThanOrEqual(grabLimits.maxBytes);
      expect(Buffer.from(o.raw, 'base64').length).toBeLessThanOrEqual(rawCapBytes);
    }
    expect(obs[obs.length - 1]!.module).toBe('generic');
  });

  it('a module given up on cannot open connections afterwards', async () => {
    const s = await keep(serveRaw(hostile.silent));
    let late: string | undefined;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: { ...limits, deadlineMs: 300 } }, fake(async (_conn, ctx) => {
      await gate;
      late = (await ctx.reconnect()).status;
      return { status: 'success', recognised: true, fields: {} };
    }));
    expect(obs.status).toBe('io-timeout');
    release();
    await expect.poll(() => late, { timeout: 10_000 }).toBe('unknown-error');
    expect(s.accepted()).toBe(1);
  });

  it('an abort ends the grab and no further module is tried', async () => {
    const s = await keep(serveRaw(hostile.silent));
    const ac = new AbortController();
    const pending = grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'telnet', limits: { ...limits, firstByteTimeoutMs: 60_000, idleTimeoutMs: 60_000, deadlineMs: 60_000 }, signal: ac.signal });
    await expect.poll(() => s.accepted(), { timeout: 10_000 }).toBe(1);
    ac.abort();
    const obs = await pending;
    expect(obs.map((o) => [o.module, o.status, o.error])).toEqual([['telnet', 'unknown-error', 'aborted']]);
  });
});

describe('grabEndpoint on random peers (fuzz)', () => {
  it('always returns bounded observations with closed-set statuses, the recognised one last', async () => {
    const rnd = createRng('fuzz-runner');
    const prefixes = [Buffer.alloc(0), Buffer.from('SSH-2.0-x\r\n'), Buffer.of(255, 253, 1), Buffer.from('220-'), Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.from('login: '), Buffer.from('\x10\x02')];
    const fast = { ...limits, firstByteTimeoutMs: 200, idleTimeoutMs: 200, deadlineMs: 1_500 };
    const services = ['telnet', 'ssh', 'ftp', 'mqtt', 'unknown', 'http'] as const;
    for (let i = 0; i < 12; i++) {
      const payload = Buffer.concat([rnd.pick(prefixes), Buffer.from(Array.from({ length: rnd.int(2000) }, () => rnd.int(256)))]);
      const closeAfter = rnd.int(2) === 0;
      const s = await keep(serveRaw((sock) => {
        sock.write(payload);
        if (closeAfter) sock.end();
      }));
      const obs = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: rnd.pick(services), limits: fast });
      expect(obs.length).toBeGreaterThanOrEqual(1);
      expect(obs.length).toBeLessThanOrEqual(maxAttempts);
      for (const o of obs) {
        expect(connectionStatuses).toContain(o.status);
        expect(Buffer.from(o.raw, 'base64').length).toBeLessThanOrEqual(rawCapBytes);
        expect(() => JSON.stringify(o)).not.toThrow();
      }
      expect(obs.slice(0, -1).every((o) => !o.recognised)).toBe(true);
    }
  });
});
