/**
 * The lab's lock-out record: the login rules record each lock period and the refusals during it,
 * the lab handle and the shards' files give it back, and lockoutProblems names what a polite survey
 * must never do (re-lock a device as soon as it recovers, keep trying it while locked).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkLoginWith, createDeviceState, createServiceContext, refuseIfLocked } from './context.js';
import { clearLockouts, lockoutFile, lockoutProblems, lockoutsOf, maxLockPeriods, readLockouts, writeLockouts, type DeviceLockouts } from './lockouts.js';
import { loadProfiles } from './profiles.js';
import { readGroundTruth } from './ground-truth.js';
import { labDown, labStatus, labUp, startLabInProcess, type LabHandle } from './runtime.js';
import type { LabDevice } from './types.js';

const profiles = new Map(loadProfiles().map((p) => [p.id, p]));
const tplink = profiles.get('tplink-td-w8960n')!;
const strong = { username: 'admin', password: 'Strong-Pass-9x' };

function device(id: string, ip: string, over: Partial<LabDevice['profile']> = {}): LabDevice {
  return { id, ip, ispId: 't', profile: { ...tplink, ...over }, weak: false, credentials: [strong] };
}

describe('the lock record of the login rules', () => {
  it('records one period when the device locks, counts refusals, and a new period after it recovers', () => {
    const d = device('d1', '127.86.0.1');
    const state = createDeviceState();
    let now = 1_000_000;
    const fail = (): boolean => checkLoginWith(d, state, 'admin', () => false, now);
    for (let i = 0; i < 4; i++) fail();
    expect(state.lockPeriods).toEqual([]);
    fail(); // the 5th failure locks it
    const window = tplink.lockoutSeconds! * 1000;
    expect(state.lockPeriods).toEqual([{ lockedAt: now, until: now + window, refused: 0 }]);
    now += 1000;
    // The right pair is refused too while locked, and counted; so is a refused connection.
    expect(checkLoginWith(d, state, strong.username, (c) => c.password === strong.password, now)).toBe(false);
    expect(refuseIfLocked({ device: d, state }, now)).toBe(true);
    expect(state.lockPeriods?.[0]?.refused).toBe(2);
    now += window;
    expect(refuseIfLocked({ device: d, state }, now)).toBe(false);
    for (let i = 0; i < 5; i++) fail();
    expect(state.lockPeriods).toHaveLength(2);
    expect(state.lockPeriods?.[0]?.refused).toBe(2);
    expect(state.lockPeriods?.[1]).toEqual({ lockedAt: now, until: now + window, refused: 0 });
  });

  it('records nothing for devices without lock-out, and keeps at most maxLockPeriods periods', () => {
    const normal = device('n', '127.86.0.2', { behaviour: 'normal' });
    const s1 = createDeviceState();
    for (let i = 0; i < 20; i++) checkLoginWith(normal, s1, 'admin', () => false, 5);
    expect(s1.lockPeriods).toEqual([]);
    expect(lockoutsOf([{ device: normal, state: s1 }], 300)).toEqual([]);

    const d = device('d2', '127.86.0.3', { lockoutAfter: 1, lockoutSeconds: 1 });
    const s2 = createDeviceState();
    for (let i = 0; i < maxLockPeriods + 5; i++) checkLoginWith(d, s2, 'admin', () => false, i * 10_000);
    const [rec] = lockoutsOf([{ device: d, state: s2 }], 300);
    expect(rec?.periods).toHaveLength(maxLockPeriods);
    expect(rec?.dropped).toBe(5);
    expect(rec).toMatchObject({ deviceId: 'd2', ip: '127.86.0.3', profile: 'tplink-td-w8960n', lockoutAfter: 1, lockoutSeconds: 1 });
  });

  it('a service context counts through the same state', () => {
    const d = device('d3', '127.86.0.4');
    const state = createDeviceState();
    const web = createServiceContext(d, tplink.services[1]!, state, () => 42);
    for (let i = 0; i < 7; i++) web.checkLogin('admin', `x${i}`);
    expect(state.lockPeriods).toEqual([{ lockedAt: 42, until: 42 + tplink.lockoutSeconds! * 1000, refused: 2 }]);
  });
});

describe('lockoutProblems', () => {
  const base: DeviceLockouts = { deviceId: 'dev-1', ip: '127.86.1.1', profile: 'p', lockoutAfter: 5, lockoutSeconds: 10, periods: [], dropped: 0 };
  it('passes a device never locked, or locked once with few refusals, or again a window after it recovered', () => {
    expect(lockoutProblems([base])).toEqual([]);
    expect(lockoutProblems([{ ...base, periods: [{ lockedAt: 0, until: 10_000, refused: 3 }] }])).toEqual([]);
    expect(lockoutProblems([{ ...base, periods: [{ lockedAt: 0, until: 10_000, refused: 0 }, { lockedAt: 20_000, until: 30_000, refused: 1 }] }])).toEqual([]);
  });
  it('names a device locked again within a window of recovering', () => {
    const p = lockoutProblems([{ ...base, periods: [{ lockedAt: 0, until: 10_000, refused: 0 }, { lockedAt: 12_000, until: 22_000, refused: 0 }] }]);
    expect(p).toEqual(['dev-1 (p, 127.86.1.1): locked again 2000 ms after lock #1 ended, within its 10 s window']);
  });
  it('names a device tried too often while locked (the limit is adjustable)', () => {
    const rec = { ...base, periods: [{ lockedAt: 0, until: 10_000, refused: 4 }] };
    expect(lockoutProblems([rec])).toEqual(['dev-1 (p, 127.86.1.1): 4 attempts refused while locked (lock #1), more than 3']);
    expect(lockoutProblems([rec], { maxRefused: 4 })).toEqual([]);
  });
  it('names a lock longer than the window, and periods too many to keep', () => {
    expect(lockoutProblems([{ ...base, periods: [{ lockedAt: 0, until: 10_001, refused: 0 }] }])[0]).toMatch(/lasted 10001 ms, longer than its 10 s window/);
    expect(lockoutProblems([{ ...base, dropped: 2 }])[0]).toMatch(/locked more than/);
  });
});

describe('the record files of a sharded lab', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iotclean-lockouts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('merges the shards\' files by address, skips unreadable ones, and clears them', () => {
    const a: DeviceLockouts = { deviceId: 'b', ip: '127.86.0.10', profile: 'p', lockoutAfter: 5, lockoutSeconds: 60, periods: [], dropped: 0 };
    const b: DeviceLockouts = { ...a, deviceId: 'a', ip: '127.86.0.9', periods: [{ lockedAt: 1, until: 60_001, refused: 1 }] };
    writeLockouts(lockoutFile(dir, 0), [a]);
    writeLockouts(lockoutFile(dir, 1), [b]);
    writeFileSync(join(dir, 'lockouts-2.json'), '{"half');
    writeFileSync(join(dir, 'other.json'), '[1]');
    expect(readLockouts(dir)).toEqual([b, a]);
    clearLockouts(dir);
    expect(readLockouts(dir)).toEqual([]);
    expect(readLockouts(join(dir, 'missing'))).toEqual([]);
  });
});

describe('the lab handle', () => {
  const net = `127.86.${10 + (process.pid % 200)}`;
  const locking = device('lk', `${net}.5`, { lockoutSeconds: 600 });
  const other = device('ok', `${net}.6`, { behaviour: 'normal' });
  let lab: LabHandle;
  beforeAll(async () => {
    lab = await startLabInProcess({ plan: { seed: 'lockouts', network: `${net}.0/24`, weakShare: 0, isps: [], ispRows: [], devices: [locking, other] }, remap: [23, 80] });
  }, 60_000);
  afterAll(async () => lab?.close());

  it('gives the lock periods of its lock-out devices, with refused connections counted', async () => {
    expect(lab.lockouts()).toEqual([expect.objectContaining({ deviceId: 'lk', periods: [] })]);
    const port = lab.portMap['23']!;
    // Three wrong logins per connection (busybox login), so two connections lock it at the 5th.
    const wrong = 'admin\r\nw1\r\nadmin\r\nw2\r\nadmin\r\nw3\r\n';
    await telnetSession(locking.ip, port, wrong);
    const second = await telnetSession(locking.ip, port, wrong);
    expect(second).toMatch(/Too many failed login attempts/);
    const third = await telnetSession(locking.ip, port, 'admin\r\nx\r\n');
    expect(third).toMatch(/Too many failed login attempts/);
    const [rec] = lab.lockouts();
    expect(rec?.periods).toHaveLength(1);
    expect(rec?.periods[0]?.until).toBe((rec?.periods[0]?.lockedAt ?? 0) + 600_000);
    // The third connection was refused as a whole (the second ended at the locking failure).
    expect(rec?.periods[0]?.refused).toBe(1);
    expect(lockoutProblems(lab.lockouts())).toEqual([]);
  }, 60_000);
});

describe('a lab in shard processes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iotclean-lockouts-up-'));
  });
  afterAll(async () => {
    if (labStatus(dir).running) await labDown(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each shard\'s record to the lab folder, final after lab down', async () => {
    // A stale file of an earlier run is removed by lab up.
    writeLockouts(lockoutFile(dir, 7), [{ deviceId: 'old', ip: '127.87.0.1', profile: 'p', lockoutAfter: 1, lockoutSeconds: 1, periods: [], dropped: 0 }]);
    await labUp({ dir, seed: 'lockouts-up', devices: 4, network: '127.87.0.0/16', mix: { 'tplink-td-w8960n': 1 }, maxListenersPerShard: 4, remap: [23, 80] });
    const truth = readGroundTruth(dir);
    const first = truth.devices[0]!;
    expect(readLockouts(dir).map((r) => r.deviceId)).toEqual(truth.devices.map((d) => d.id));
    const port = first.services.find((s) => s.port === 23)!.boundPort;
    for (let i = 0; i < 3; i++) await telnetSession(first.ip, port, 'admin\r\nw1\r\nadmin\r\nw2\r\nadmin\r\nw3\r\n');
    await labDown(dir);
    const rec = readLockouts(dir).find((r) => r.deviceId === first.id);
    expect(rec?.periods).toHaveLength(1);
    expect(rec?.periods[0]?.refused).toBe(1);
    expect(readLockouts(dir).filter((r) => r.deviceId !== first.id).every((r) => r.periods.length === 0)).toBe(true);
  }, 120_000);
});

/** One telnet connection: send `lines`, read until the server closes (bounded), return what it said. */
function telnetSession(ip: string, port: number, lines: string): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const s = createConnection({ host: ip, port });
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, 10_000);
    s.on('data', (c: Buffer) => {
      size += c.length;
      if (size < 64 * 1024) chunks.push(c);
    });
    s.on('connect', () => s.write(lines));
    s.on('close', done);
    s.on('error', done);
  });
}
