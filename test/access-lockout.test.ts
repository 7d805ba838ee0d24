/**
 * Every access module against the lab's lock-out devices (issue 7: "lock-out devices not locked
 * for longer than their window"). A device with a strong password is tried with 20 wrong pairs on
 * each kind of login (telnet, SSH, HTTP Basic, Digest, form): the verdict must be `locked-out`,
 * never `no-weak-credential` (which would claim the whole list was refused), and the module must
 * stop soon after the lock. The lab's own lock record (src/lab/lockouts.ts) is the judge: one lock
 * period per device and at most 3 refusals while locked. The modules run with their production
 * defaults (SSH's back-off included), observed first by the real grab stage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpBasicAccess, httpDigestAccess, httpFormAccess } from '../src/access/http/index.js';
import { grabbedTarget } from '../src/access/http/test-support.js';
import type { AccessModule, AccessTarget, Credential } from '../src/access/module.js';
import { sshAccess } from '../src/access/ssh/index.js';
import { telnetAccess } from '../src/access/telnet/index.js';
import { loopbackContext } from '../src/access/telnet/test-context.js';
import { grabWith } from '../src/grab/runner.js';
import { sshModule } from '../src/grab/ssh/index.js';
import { telnetModule } from '../src/grab/telnet/index.js';
import { lockoutProblems } from '../src/lab/lockouts.js';
import { loadProfiles } from '../src/lab/profiles.js';
import { startLabInProcess, type LabHandle } from '../src/lab/runtime.js';
import type { DeviceProfile, LabAuth, LabDevice } from '../src/lab/types.js';
import { compileScope, defaultScope } from '../src/scope/scope.js';

// 127.88.0.0/16 is this file's (one /24 per process, so parallel runs do not meet).
const net = `127.88.${1 + (process.pid % 250)}`;
const profiles = new Map(loadProfiles().map((p) => [p.id, p]));
const strong = { username: 'admin', password: 'Qv7#strong-Lab-Pass' };
const scope = compileScope(defaultScope());

/** 20 wrong pairs over the user names lists mix. */
const wrong: Credential[] = Array.from({ length: 20 }, (_, i) => ({ id: `w${i + 1}`, username: ['admin', 'root', 'support', 'user'][i % 4]!, password: `wrong-${i + 1}` }));

interface Case {
  readonly name: string;
  readonly module: AccessModule;
  readonly auth: LabAuth;
  readonly device: LabDevice;
}

function lockoutDevice(n: number, profileId: string, over: Partial<DeviceProfile> = {}): LabDevice {
  const base = profiles.get(profileId);
  if (!base) throw new Error(`no profile ${profileId}`);
  // The lab's own lock-out model where it has one (TD-W8960N: 5 failures, 600 s), else the same rule.
  const profile: DeviceProfile = { ...base, behaviour: 'lockout', lockoutAfter: base.lockoutAfter ?? 5, lockoutSeconds: base.lockoutSeconds ?? 600, ...over };
  return { id: `lk-${n}`, ip: `${net}.${n}`, ispId: 'test', profile, weak: false, credentials: [strong] };
}

const cases: Case[] = [
  { name: 'telnet (TD-W8960N)', module: telnetAccess, auth: 'telnet-login', device: lockoutDevice(10, 'tplink-td-w8960n') },
  { name: 'HTTP Basic (TD-W8960N)', module: httpBasicAccess, auth: 'http-basic', device: lockoutDevice(11, 'tplink-td-w8960n') },
  { name: 'SSH (dropbear NAS)', module: sshAccess, auth: 'ssh', device: lockoutDevice(12, 'busybox-nas-dropbear') },
  { name: 'HTTP Digest (AD1018)', module: httpDigestAccess, auth: 'http-digest', device: lockoutDevice(13, 'sercomm-ad1018') },
  { name: 'HTTP form (ZXHN H108N)', module: httpFormAccess, auth: 'http-form', device: lockoutDevice(14, 'zte-zxhn-h108n') },
];
/** One TD-W8960N tried on telnet and then on HTTP: the lock is per device, across its services. */
const shared = lockoutDevice(20, 'tplink-td-w8960n');

let lab: LabHandle;
beforeAll(async () => {
  const devices = [...cases.map((c) => c.device), shared];
  lab = await startLabInProcess({ plan: { seed: 'access-lockout', network: `${net}.0/24`, weakShare: 0, isps: [], ispRows: [], devices } });
}, 60_000);
afterAll(async () => lab?.close());

const bound = (port: number): number => lab.portMap[String(port)] ?? port;

/** The target as the grab stage records it for this service. */
async function observed(d: LabDevice, auth: LabAuth): Promise<AccessTarget> {
  const service = d.profile.services.find((s) => s.auth === auth);
  if (!service) throw new Error(`${d.profile.id} has no ${auth} service`);
  const port = bound(service.port);
  if (auth === 'telnet-login' || auth === 'ssh') {
    const obs = await grabWith({ scope, ip: d.ip, port }, auth === 'ssh' ? sshModule : telnetModule);
    return { ip: d.ip, port, observations: [obs] };
  }
  return grabbedTarget(d.ip, port, service.protocol === 'https' ? 'https' : 'http');
}

function lockRecord(d: LabDevice) {
  const rec = lab.lockouts().find((r) => r.deviceId === d.id);
  if (!rec) throw new Error(`no lock record for ${d.id}`);
  return rec;
}

describe('access modules against lock-out devices (strong password, 20 wrong pairs)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s: locked-out, stopping soon after the lock', async (_name, c) => {
    const target = await observed(c.device, c.auth);
    expect(c.module.applies(target), 'the module applies to what the grab saw').toBe(true);
    const v = await c.module.run(target, wrong, loopbackContext(target.ip, target.port));
    const rec = lockRecord(c.device);
    const detail = JSON.stringify({ verdict: v.verdict, reason: v.reason, attempts: v.attempts.map((a) => `${a.entry}:${a.outcome}`), lock: rec }, null, 1);
    expect(v.verdict, detail).toBe('locked-out');
    expect(v.entry).toBeNull();
    expect(v.attempts.some((a) => a.outcome === 'success')).toBe(false);
    // Far fewer tries than the list: the lock was met and the run ended there.
    expect(v.attempts.length, detail).toBeLessThanOrEqual(rec.lockoutAfter + 3);
    expect(rec.periods, detail).toHaveLength(1);
    expect(lockoutProblems([rec]), detail).toEqual([]);

    // Run again on the still-locked device (a survey's next round, or another of its services
    // locked it): the first answers already say so. SSH cannot tell a drop before its greeting
    // from a dead service when nothing answered in this run, so `error` is allowed there.
    const again = await c.module.run(target, wrong, loopbackContext(target.ip, target.port));
    const after = lockRecord(c.device);
    const detail2 = JSON.stringify({ verdict: again.verdict, reason: again.reason, attempts: again.attempts.map((a) => `${a.entry}:${a.outcome}`), lock: after }, null, 1);
    expect(c.auth === 'ssh' ? ['locked-out', 'error'] : ['locked-out'], detail2).toContain(again.verdict);
    expect(again.attempts.length, detail2).toBeLessThanOrEqual(2);
    expect(after.periods, detail2).toHaveLength(1);
    // This run's own refusals (the record counts both runs').
    expect((after.periods[0]?.refused ?? 0) - (rec.periods[0]?.refused ?? 0), detail2).toBeLessThanOrEqual(3);
  }, 120_000);

  it('a device locked on telnet is met locked on HTTP too, and left after one refusal or so', async () => {
    const t = await observed(shared, 'telnet-login');
    const first = await telnetAccess.run(t, wrong, loopbackContext(t.ip, t.port));
    expect(first.verdict).toBe('locked-out');
    const refusedBefore = lockRecord(shared).periods[0]?.refused ?? 0;
    const h = await observed(shared, 'http-basic');
    const second = await httpBasicAccess.run(h, wrong, loopbackContext(h.ip, h.port));
    const rec = lockRecord(shared);
    const detail = JSON.stringify({ second, rec }, null, 1);
    expect(second.verdict, detail).toBe('locked-out');
    expect(second.attempts.length, detail).toBeLessThanOrEqual(2);
    expect(rec.periods, detail).toHaveLength(1);
    expect((rec.periods[0]?.refused ?? 0) - refusedBefore, detail).toBeLessThanOrEqual(2);
    expect(lockoutProblems([rec]), detail).toEqual([]);
  }, 120_000);
});
