/**
 * The telnet access module against the lab's telnet service, one device per lab profile with a
 * telnet login: the grab's observation must make the module apply, a weak pair placed late in the
 * list is found (and only that pair), a strong device gives no-weak-credential, the honeypot says
 * weak (the runner's accepts-any re-check handles it), the lock-out device gives locked-out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { grabWith } from '../../grab/runner.js';
import { telnetModule } from '../../grab/telnet/index.js';
import { loadProfiles } from '../../lab/profiles.js';
import { startLabInProcess, type LabHandle } from '../../lab/runtime.js';
import type { DeviceProfile, LabCredential, LabDevice } from '../../lab/types.js';
import type { Credential } from '../module.js';
import { telnetAccess } from './index.js';
import { loopbackContext } from './test-context.js';

// 127.71.1.0/24: this file's own addresses (the telnet access tests use 127.71.0.0/16).
const net = '127.71.1';
const telnetProfiles = loadProfiles().filter((p) => p.services.some((s) => s.protocol === 'telnet' && s.auth === 'telnet-login'));

interface Case {
  readonly profile: DeviceProfile;
  readonly device: LabDevice;
  readonly port: number;
  /** The list tried, and the entry that must be found (null: none). */
  readonly list: readonly Credential[];
  readonly expected: 'weak-credential' | 'no-weak-credential' | 'locked-out';
  readonly entry: string | null;
}

/** Eight entries, the device's pair (when given) at `at` (1-based). */
function list(pair: LabCredential | null, at: number): Credential[] {
  const out: Credential[] = [];
  for (let n = 1; n <= 8; n++) {
    if (pair && n === at) out.push({ id: `e${n}`, ...pair });
    else out.push({ id: `e${n}`, username: n % 2 ? (pair?.username ?? 'root') : 'admin', password: `wrong-${n}#$>` });
  }
  return out;
}

const cases: Case[] = telnetProfiles.map((profile, n) => {
  const service = profile.services.find((s) => s.protocol === 'telnet' && s.auth === 'telnet-login')!;
  const weak = profile.weakCredentials.at(-1) ?? null;
  const honeypot = profile.behaviour === 'honeypot';
  const lockout = profile.behaviour === 'lockout';
  const credentials: LabCredential[] = weak ? [weak] : [{ username: 'admin', password: 'N0t-In-Any-List!' }];
  const device: LabDevice = { id: `t-${n}`, ip: `${net}.${n + 10}`, ispId: 'test', profile, weak: weak !== null, credentials };
  const at = lockout ? 8 : 7;
  const l = list(weak, at);
  const expected = honeypot ? 'weak-credential' : lockout ? 'locked-out' : weak ? 'weak-credential' : 'no-weak-credential';
  const entry = honeypot ? 'e1' : !lockout && weak ? `e${at}` : null;
  return { profile, device, port: service.port, list: l, expected, entry };
});

/** Awkward lab devices on telnet ports: they must end the run cleanly, never as weak. */
const awkwardIds = ['tarpit', 'trickle-banner', 'huge-banner', 'endless-banner', 'garbage-sender', 'tplink-tl-wr841n-http-on-23'];
const awkward = loadProfiles()
  .filter((p) => awkwardIds.includes(p.id))
  .map((profile, n) => {
    const device: LabDevice = { id: `a-${n}`, ip: `${net}.${n + 100}`, ispId: 'test', profile, weak: false, credentials: [] };
    const port = profile.services.find((s) => s.port === 23 || s.port === 2323)!.port;
    return { profile, device, port };
  });

let lab: LabHandle;
beforeAll(async () => {
  const devices = [...cases.map((c) => c.device), ...awkward.map((a) => a.device)];
  lab = await startLabInProcess({ plan: { seed: 'telnet-access', network: `${net}.0/24`, weakShare: 1, isps: [], ispRows: [], devices } });
});
afterAll(async () => lab?.close());

const bound = (port: number): number => lab.portMap[String(port)] ?? port;

describe('telnet access against the lab', () => {
  it('covers every kind of lab telnet device', () => {
    expect(cases.length).toBeGreaterThanOrEqual(6);
    expect(cases.some((c) => c.profile.behaviour === 'honeypot')).toBe(true);
    expect(cases.some((c) => c.profile.behaviour === 'lockout')).toBe(true);
    expect(cases.some((c) => c.expected === 'no-weak-credential')).toBe(true);
  });

  it.each(cases.map((c) => [c.profile.id, c] as const))('%s', async (_id, c) => {
    const port = bound(c.port);
    const observation = await grabWith({ scope: compileScope(defaultScope()), ip: c.device.ip, port }, telnetModule);
    const target = { ip: c.device.ip, port, observations: [observation] };
    expect(telnetAccess.applies(target)).toBe(true);
    const ctx = loopbackContext(c.device.ip, port);
    const v = await telnetAccess.run(target, c.list, ctx);
    expect(v.verdict, JSON.stringify(v, null, 1)).toBe(c.expected);
    expect(v.entry).toBe(c.entry);
    // Never a success for any entry but the expected one.
    const successes = v.attempts.filter((a) => a.outcome === 'success').map((a) => a.entry);
    expect(successes).toEqual(c.entry ? [c.entry] : []);
    if (c.expected === 'weak-credential' && c.entry) {
      // Tries in list order, every earlier one a failure: nothing skipped, nothing repeated.
      expect(v.attempts.map((a) => a.entry)).toEqual(c.list.slice(0, Number(c.entry.slice(1))).map((e) => e.id));
      // 3 tries per connection (busybox login), so several connections were needed.
      if (Number(c.entry.slice(1)) > 3) expect(ctx.opened()).toBeGreaterThan(1);
    }
    if (c.expected === 'no-weak-credential') expect(v.attempts).toHaveLength(8);
    if (c.expected === 'locked-out') {
      // Stopped at the failure that locked it (lockoutAfter), not later.
      expect(v.attempts.length).toBeLessThanOrEqual(c.profile.lockoutAfter ?? 5);
      expect(v.attempts.at(-1)?.outcome).toBe('locked-out');
    }
  }, 60_000);

  it('does not apply to an endpoint whose telnet grab saw no prompt', () => {
    expect(telnetAccess.applies({ ip: '127.71.1.1', port: 23, observations: [] })).toBe(false);
  });
});

describe('telnet access against the lab\'s awkward devices', () => {
  it('covers them all', () => expect(awkward.map((a) => a.profile.id).sort()).toEqual([...awkwardIds].sort()));

  it.each(awkward.map((a) => [a.profile.id, a] as const))('%s ends cleanly within the limits, never weak', async (_id, a) => {
    const port = bound(a.port);
    const ctx = loopbackContext(a.device.ip, port, { firstByteTimeoutMs: 2000, idleTimeoutMs: 1500, deadlineMs: 8000 });
    const v = await telnetAccess.run({ ip: a.device.ip, port, observations: [] }, list({ username: 'root', password: 'root' }, 1), ctx);
    expect(['error', 'unsupported']).toContain(v.verdict);
    expect(v.entry).toBeNull();
    expect(v.attempts.some((x) => x.outcome === 'success')).toBe(false);
    expect(v.reason).toBeTruthy();
  }, 60_000);
});
