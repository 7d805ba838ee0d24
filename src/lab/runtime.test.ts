import { connect, createServer, type Server } from 'node:net';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildLab } from './population.js';
import { groundTruth } from './ground-truth.js';
import { labPorts, startLabInProcess, type LabHandle } from './runtime.js';
import { isIotcleanError } from '../core/errors.js';
import { copyPortable } from './portable-copy.js';

const network = '127.78.0.0/16';

/** Resolve 'open' when the port accepts, or the error code when it refuses. */
function tryConnect(ip: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, ip);
    s.setTimeout(3000, () => {
      s.destroy();
      resolve('timeout');
    });
    s.once('connect', () => {
      s.destroy();
      resolve('open');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

describe('lab runtime, 30 devices in process', () => {
  let lab: LabHandle;
  beforeAll(async () => {
    const mix = Object.fromEntries(
      ['zte-zxhn-h108n', 'huawei-hg8245h', 'hikvision-ds-2cd2032', 'xiongmai-nbd8004', 'sercomm-ad1018', 'synology-ds216j', 'busybox-nas-dropbear', 'honeypot-cowrie', 'tarpit', 'garbage-sender', 'endless-banner', 'dahua-ipc-hfw1320s'].map((id) => [id, 1]),
    );
    lab = await startLabInProcess({ seed: 'runtime', devices: 30, network, mix });
  });
  afterAll(async () => lab?.close());

  it('accepts a connection on every ground-truth port', async () => {
    const truth = groundTruth(lab.plan, lab.portMap);
    const targets = truth.devices.flatMap((d) => d.services.map((s) => ({ ip: d.ip, port: s.boundPort })));
    expect(targets.length).toBe(lab.listeners);
    const results = await Promise.all(targets.map((t) => tryConnect(t.ip, t.port)));
    expect(results.every((r) => r === 'open')).toBe(true);
  });

  it('refuses ports a device does not list, and addresses without a device', async () => {
    const d = lab.plan.devices[0];
    expect(d).toBeDefined();
    const listed = new Set(d?.profile.services.map((s) => lab.portMap[String(s.port)]));
    const unlisted = [2323, 8443, 21, 443].find((p) => !listed.has(p)) ?? 2323;
    expect(await tryConnect(d?.ip ?? '', unlisted)).toBe('ECONNREFUSED');
    const used = new Set(lab.plan.devices.map((x) => x.ip));
    const empty = ['127.78.250.7', '127.78.250.8'].find((ip) => !used.has(ip)) ?? '127.78.250.9';
    expect(await tryConnect(empty, lab.portMap['80'] ?? 80)).toBe('ECONNREFUSED');
  });

  it('writes a ground truth with real and bound ports, credentials and behaviour', () => {
    const truth = groundTruth(lab.plan, lab.portMap);
    expect(truth.devices).toHaveLength(30);
    const d = truth.devices[0];
    expect(Object.keys(d ?? {}).sort()).toEqual(['behaviour', 'credentials', 'firmware', 'id', 'identity', 'ip', 'ispId', 'model', 'profile', 'services', 'type', 'vendor', 'vulnerabilities', 'weak'].sort());
    for (const dev of truth.devices) {
      expect(dev.identity).toBe(lab.plan.devices.find((x) => x.id === dev.id)?.profile.identity ?? 'known');
      for (const s of dev.services) {
        expect(s.boundPort).toBe(lab.portMap[String(s.port)]);
        expect(Object.keys(s).sort()).toEqual(['auth', 'boundPort', 'port', 'protocol', 'software']);
      }
    }
    expect(JSON.parse(JSON.stringify(truth))).toEqual(truth);
  });
});

describe('port map', () => {
  it('moves a port to a high port for the whole lab when asked to', async () => {
    const lab = await startLabInProcess({ seed: 'remap', devices: 8, network: '127.78.0.0/16', mix: { 'huawei-hg8245h': 1 }, remap: [80], portBase: 47_100 });
    try {
      expect(lab.portMap['80']).toBeGreaterThanOrEqual(47_100);
      expect(lab.portMap['7547']).toBe(7547); // not asked to move, and bindable without root
      for (const d of lab.plan.devices) {
        expect(await tryConnect(d.ip, lab.portMap['80'] ?? 0)).toBe('open');
        expect(await tryConnect(d.ip, 80)).toBe('ECONNREFUSED');
      }
    } finally {
      await lab.close();
    }
  });

  it('maps a port that something else already holds on the first lab address', async () => {
    const plan = buildLab({ seed: 'taken', devices: 6, network: '127.78.0.0/16', mix: { 'sercomm-ad1018': 1 } });
    const first = plan.devices[0]?.ip ?? '';
    expect(labPorts(plan.devices)).toEqual([8080]);
    const squatter: Server = createServer((s) => s.destroy());
    await new Promise<void>((r) => squatter.listen(8080, first, r));
    try {
      const lab = await startLabInProcess({ plan, portBase: 47_200 });
      try {
        const mapped = lab.portMap['8080'] ?? 0;
        expect(mapped).toBeGreaterThanOrEqual(47_200);
        expect(groundTruth(plan, lab.portMap).devices.every((d) => d.services[0]?.boundPort === mapped)).toBe(true);
        for (const d of plan.devices) expect(await tryConnect(d.ip, mapped)).toBe('open');
      } finally {
        await lab.close();
      }
    } finally {
      await new Promise<void>((r) => squatter.close(() => r()));
    }
  });

  // Run as root, drop to nobody in a child: low ports then fail with EACCES, as for any user. The
  // child runs a compiled copy of port-map.ts in a fresh world-readable folder and a minimal
  // environment, so it never enters the checkout (which may be 0700) nor resolves a package there.
  describe.skipIf(process.getuid?.() !== 0)('as an unprivileged user', () => {
    let dir: string | undefined;
    afterEach(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    });

    it('maps low ports to high ports when binding them is not allowed', async () => {
      dir = mkdtempSync(join(tmpdir(), 'iotclean-nonroot-'));
      const root = fileURLToPath(new URL('../..', import.meta.url));
      const portMap = copyPortable(fileURLToPath(new URL('./port-map.ts', import.meta.url)), root, join(dir, 'copy'));
      const probe = join(dir, 'probe.mjs');
      // The child also binds every mapped port, to show the map it chose is usable by that user.
      writeFileSync(
        probe,
        `import { createServer } from 'node:net';\n` +
          `import { decidePortMap } from ${JSON.stringify(pathToFileURL(portMap).href)};\n` +
          "const ip = '127.78.0.1';\n" +
          'const map = await decidePortMap(ip, [23, 80, 7547], { portBase: 47300 });\n' +
          'const bound = [];\n' +
          'for (const port of Object.values(map)) {\n' +
          '  const s = createServer();\n' +
          "  await new Promise((ok, fail) => { s.once('error', fail); s.listen(port, ip, ok); });\n" +
          '  bound.push(port);\n' +
          '  await new Promise((ok) => s.close(ok));\n' +
          '}\n' +
          'console.log(JSON.stringify({ map, bound, uid: process.getuid() }));\n',
      );
      chmodSync(dir, 0o755);
      chmodSync(probe, 0o644);
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [probe],
          { uid: 65534, gid: 65534, cwd: dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: dir, IOTCLEAN_TEST_RUN: process.env['IOTCLEAN_TEST_RUN'] ?? '' }, timeout: 90_000 } /* a busy machine */,
          (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
      );
      const result = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { map: Record<string, number>; bound: number[]; uid: number };
      expect(result.uid).toBe(65534);
      const map = result.map;
      expect(map['23']).toBeGreaterThanOrEqual(47_300);
      expect(map['80']).toBeGreaterThanOrEqual(47_300);
      expect(map['23']).not.toBe(map['80']);
      expect(map['7547']).toBe(7547);
      expect(result.bound.sort()).toEqual(Object.values(map).sort());
    });
  });

  it('fails with E_LAB naming the address when a later bind collides', async () => {
    const plan = buildLab({ seed: 'collide', devices: 6, network: '127.78.0.0/16', mix: { 'sercomm-ad1018': 1 } });
    const last = plan.devices[plan.devices.length - 1]?.ip ?? '';
    const squatter: Server = createServer((s) => s.destroy());
    await new Promise<void>((r) => squatter.listen(8080, last, r));
    try {
      const err = await startLabInProcess({ plan }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isIotcleanError(err) && err.code).toBe('E_LAB');
      expect(String((err as Error).message)).toContain(`${last}:8080`);
      // Nothing of the failed lab is left listening.
      expect(await tryConnect(plan.devices[0]?.ip ?? '', 8080)).toBe('ECONNREFUSED');
    } finally {
      await new Promise<void>((r) => squatter.close(() => r()));
    }
  });
});
