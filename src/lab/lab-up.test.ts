import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGroundTruth } from './ground-truth.js';
import { labDown, labStatus, labUp, type LabState } from './runtime.js';
import { isIotcleanError } from '../core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-lab-'));
const tlsDir = mkdtempSync(join(tmpdir(), 'iotclean-lab-tls-'));

/** SHA-256 fingerprint of the certificate a TLS server presents. */
function certificateOf(ip: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: ip, port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.setTimeout(10_000, () => s.destroy(new Error('timeout')));
    s.on('error', reject);
  });
}

function tryConnect(ip: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, ip);
    s.setTimeout(3000, () => (s.destroy(), resolve('timeout')));
    s.once('connect', () => (s.destroy(), resolve('open')));
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

afterAll(async () => {
  if (labStatus(dir).running) await labDown(dir);
  if (labStatus(tlsDir).running) await labDown(tlsDir);
});

describe('lab up / status / down', () => {
  it('starts detached shards, writes its files, refuses a second start and stops cleanly', async () => {
    const state = await labUp({ dir, seed: 'up', devices: 40, network: '127.82.0.0/16', maxListenersPerShard: 40 });
    expect(state.shards.length).toBeGreaterThanOrEqual(2);
    for (const s of state.shards) expect(s.listeners).toBeLessThanOrEqual(40);
    expect(state.listeners).toBe(state.shards.reduce((n, s) => n + s.listeners, 0));
    expect(state.devices).toBe(40);

    const onDisk = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LabState;
    expect(onDisk.pids).toEqual(state.pids);
    expect(readFileSync(state.ispTablePath, 'utf8').split('\n')[0]).toBe('prefix,isp_id,name,participating,parent');
    const truth = readGroundTruth(dir);
    expect(truth.devices).toHaveLength(40);
    expect(truth.devices.reduce((n, d) => n + d.services.length, 0)).toBe(state.listeners);

    const status = labStatus(dir);
    expect(status.running).toBe(true);
    expect(status.alive).toBe(state.pids.length);

    // Every shard serves its devices: try one service of the first and the last device.
    for (const d of [truth.devices[0], truth.devices[truth.devices.length - 1]]) {
      const s = d?.services[0];
      expect(await tryConnect(d?.ip ?? '', s?.boundPort ?? 0)).toBe('open');
    }

    const again = await labUp({ dir, seed: 'up', devices: 40, network: '127.82.0.0/16' }).catch((e: unknown) => e);
    expect(isIotcleanError(again) && again.code).toBe('E_LAB');

    const down = await labDown(dir);
    expect([...down.stopped].sort()).toEqual([...state.pids].sort());
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    expect(labStatus(dir).running).toBe(false);
    const d0 = truth.devices[0];
    expect(await tryConnect(d0?.ip ?? '', d0?.services[0]?.boundPort ?? 0)).toBe('ECONNREFUSED');
  });

  it('serves one default certificate per model from every shard (made once by the parent)', async () => {
    // Synology has 3 services: 6 listeners per shard gives two shards of two devices.
    const state = await labUp({ dir: tlsDir, seed: 'tls', devices: 4, network: '127.65.0.0/16', mix: { 'synology-ds216j': 1 }, maxListenersPerShard: 6 });
    expect(state.shards.length).toBe(2);
    const truth = readGroundTruth(tlsDir);
    const https = (d: (typeof truth.devices)[number] | undefined): number => d?.services.find((s) => s.protocol === 'https')?.boundPort ?? 0;
    const first = truth.devices[0];
    const last = truth.devices[truth.devices.length - 1];
    const a = await certificateOf(first?.ip ?? '', https(first));
    const b = await certificateOf(last?.ip ?? '', https(last));
    expect(a).toMatch(/^[0-9A-F:]{95}$/);
    expect(b).toBe(a);
    await labDown(tlsDir);
    // The served certificate is kept in the lab folder, for the next start (a fresh process reads it).
    const kept = Object.values(JSON.parse(readFileSync(join(tlsDir, 'certificates.json'), 'utf8')) as Record<string, { cert: string }>);
    expect(kept.map((c) => new X509Certificate(c.cert).fingerprint256)).toEqual([a]);
    // Started again in the same folder, the model keeps its certificate (kept in certificates.json).
    await labUp({ dir: tlsDir, seed: 'tls', devices: 4, network: '127.65.0.0/16', mix: { 'synology-ds216j': 1 }, maxListenersPerShard: 6 });
    expect(await certificateOf(first?.ip ?? '', https(first))).toBe(a);
    await labDown(tlsDir);
  }, 90_000);
});
