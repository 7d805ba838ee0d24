import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readGroundTruth, type GroundTruthDevice } from './ground-truth.js';
import { labApplyOwnerActions, labDown, labStatus, labUp, startLabInProcess, type LabHandle } from './runtime.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-owners-'));
let inProcess: LabHandle | undefined;

afterAll(async () => {
  await inProcess?.close();
  if (labStatus(dir).running) await labDown(dir);
  rmSync(dir, { recursive: true, force: true });
});

/** HTTP status of a Basic login to a device's web UI with its first lab credential. */
function basicLogin(ip: string, port: number, username: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: ip, port, path: '/', headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` }, timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function basicPort(d: GroundTruthDevice): number {
  const s = d.services.find((x) => x.auth === 'http-basic');
  if (!s) throw new Error(`${d.id} has no Basic login`);
  return s.boundPort;
}

describe("owners' actions on a running lab", () => {
  it('a changed password refuses the weak pair in every shard, a factory reset brings it back', async () => {
    // One profile with a Basic login, all weak, in several shards.
    await labUp({ dir, seed: 'owners', devices: 6, network: '127.83.0.0/16', mix: { 'goahead-camera': 1 }, weakShare: 1, maxListenersPerShard: 6 });
    try {
      await ownersScenario();
    } finally {
      await labDown(dir);
    }
  }, 120_000);

  async function ownersScenario(): Promise<void> {
    const state = labStatus(dir).state!;
    expect(state.shards.length).toBeGreaterThanOrEqual(2);
    const devices = readGroundTruth(dir).devices.filter((d) => d.services.some((s) => s.auth === 'http-basic'));
    expect(devices.length).toBeGreaterThanOrEqual(3);
    const [a, b, c] = [devices[0]!, devices[devices.length - 1]!, devices[1]!];
    const login = (d: GroundTruthDevice) => basicLogin(d.ip, basicPort(d), d.credentials[0]!.username, d.credentials[0]!.password);
    for (const d of [a, b, c]) expect(await login(d), `${d.id} before`).toBe(200);

    expect(await labApplyOwnerActions(dir, [{ ip: a.ip, action: 'change-password' }, { ip: b.ip, action: 'change-password' }])).toBe(2);
    expect(await login(a)).toBe(401);
    expect(await login(b)).toBe(401);
    expect(await login(c), 'a device whose owner did nothing').toBe(200);

    expect(await labApplyOwnerActions(dir, [{ ip: a.ip, action: 'factory-reset' }])).toBe(1);
    expect(await login(a), 'reset to the weak defaults').toBe(200);
    expect(await login(b), 'an earlier generation is kept').toBe(401);
  }

  it('applies to an in-process lab directly', async () => {
    inProcess = await startLabInProcess({ seed: 'owners-in', devices: 2, network: '127.84.0.0/16', mix: { 'goahead-camera': 1 }, weakShare: 1 });
    const d = inProcess.plan.devices[0]!;
    const port = inProcess.portMap[String(d.profile.services.find((s) => s.auth === 'http-basic')!.port)]!;
    const cred = d.credentials[0]!;
    expect(await basicLogin(d.ip, port, cred.username, cred.password)).toBe(200);
    expect(inProcess.applyOwnerActions([{ ip: d.ip, action: 'change-password' }, { ip: '127.84.255.254', action: 'change-password' }])).toBe(1);
    expect(await basicLogin(d.ip, port, cred.username, cred.password)).toBe(401);
  }, 60_000);
});
