/**
 * The HTTP access modules against the lab's emulated devices (src/lab/services/http.ts), observed
 * first by the real grab stage: Basic, Digest (SHA-256 offered before MD5) and form logins with the
 * weak pair late in the list (found), a strong pair (not found), a honeypot (the control pair
 * already logs in: controlAccepted, never weak) and a lock-out device (locked-out, stopping at once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProfiles } from '../../lab/profiles.js';
import { startLabInProcess, type LabHandle } from '../../lab/runtime.js';
import type { DeviceProfile, LabDevice } from '../../lab/types.js';
import type { AccessModule } from '../module.js';
import { httpBasicAccess, httpDigestAccess, httpFormAccess } from './index.js';
import { accessContext, dictionary, grabbedTarget } from './test-support.js';

const net = `127.73.${1 + (process.pid % 50)}`;
const profiles = new Map(loadProfiles().map((p) => [p.id, p]));
const strong = { username: 'admin', password: 'Zq8#vL2!pW9x' };

function device(n: number, profileId: string, cred: { username: string; password: string }, override: Partial<DeviceProfile> = {}): LabDevice {
  const base = profiles.get(profileId);
  if (!base) throw new Error(profileId);
  return { id: `a-${n}`, ip: `${net}.${n}`, ispId: 'test', profile: { ...base, ...override }, weak: true, credentials: [cred] };
}

const basicWeak = device(10, 'huawei-hg8245h', { username: 'root', password: 'admin' });
const basicStrong = device(11, 'huawei-hg8245h', strong);
const basicHoneypot = device(12, 'huawei-hg8245h', strong, { behaviour: 'honeypot' });
const basicLockout = device(13, 'tplink-td-w8960n', strong); // lockout after 5, for 600 s
const digestWeak = device(20, 'sercomm-ad1018', { username: 'admin', password: 'password' });
const digestStrong = device(21, 'sercomm-ad1018', strong);
const digestHoneypot = device(22, 'sercomm-ad1018', strong, { behaviour: 'honeypot' });
const digestLockout = device(23, 'sercomm-ad1018', strong, { behaviour: 'lockout', lockoutAfter: 4, lockoutSeconds: 60 });
const formWeak = device(30, 'zte-zxhn-h108n', { username: 'admin', password: 'admin' });
const formStrong = device(31, 'zte-zxhn-h108n', strong);
const formHoneypot = device(32, 'zte-zxhn-h108n', strong, { behaviour: 'honeypot' });
const formLockout = device(33, 'zte-zxhn-h108n', strong, { behaviour: 'lockout', lockoutAfter: 4, lockoutSeconds: 60 });
const httpsWeak = device(40, 'iodata-wn-ax1167gr', { username: 'admin', password: 'password' });
const all = [httpsWeak, basicWeak, basicStrong, basicHoneypot, basicLockout, digestWeak, digestStrong, digestHoneypot, digestLockout, formWeak, formStrong, formHoneypot, formLockout];

let lab: LabHandle;
beforeAll(async () => {
  lab = await startLabInProcess({ plan: { seed: 'access-http', network: `${net}.0/24`, weakShare: 1, isps: [], ispRows: [], devices: all } });
}, 60_000);
afterAll(async () => lab?.close());

const port = (p: number): number => lab.portMap[String(p)] ?? p;

async function run(module: AccessModule, d: LabDevice, devicePort: number, list = dictionary(8, 7, d.credentials[0] ?? strong)) {
  const p = port(devicePort);
  const target = await grabbedTarget(d.ip, p);
  expect(module.applies(target)).toBe(true);
  const ctx = accessContext(d.ip, p);
  const verdict = await module.run(target, list, ctx);
  return { verdict, opened: ctx.opened() };
}

const cases: [string, AccessModule, LabDevice, LabDevice, LabDevice, LabDevice, number][] = [
  ['Basic', httpBasicAccess, basicWeak, basicStrong, basicHoneypot, basicLockout, 80],
  ['Digest (SHA-256, MD5)', httpDigestAccess, digestWeak, digestStrong, digestHoneypot, digestLockout, 8080],
  ['form', httpFormAccess, formWeak, formStrong, formHoneypot, formLockout, 80],
];

describe.each(cases)('%s against the lab', (_name, module, weak, strongDevice, honeypot, lockout, devicePort) => {
  it('finds the weak pair at #7 of 8, with every try recorded and connections kept alive', async () => {
    const { verdict, opened } = await run(module, weak, devicePort);
    expect(verdict).toMatchObject({ verdict: 'weak-credential', entry: 'e7' });
    // The random control pair first (audited like any try), then the list up to the weak pair.
    expect(verdict.attempts.map((a) => a.outcome)).toEqual(['failure', ...Array<string>(6).fill('failure'), 'success']);
    expect(verdict.attempts[0]!.entry).toBe('control:0');
    expect(verdict.attempts.slice(1).every((a) => a.entry.startsWith('e') && !('password' in a))).toBe(true);
    // 1 challenge/control + 7 tries on far fewer connections than requests.
    expect(opened).toBeLessThan(4);
  }, 60_000);

  it('does not find a strong pair', async () => {
    const { verdict } = await run(module, strongDevice, devicePort, dictionary(8, 0, strong));
    expect(verdict).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(verdict.controlAccepted).toBeUndefined();
    expect(verdict.attempts).toHaveLength(9);
    expect(verdict.attempts.every((a) => a.outcome === 'failure')).toBe(true);
  }, 60_000);

  it('never calls a honeypot weak: its control pair logs in too', async () => {
    const { verdict } = await run(module, honeypot, devicePort);
    expect(verdict).toMatchObject({ verdict: 'no-weak-credential', entry: null, controlAccepted: true });
  }, 60_000);

  it('stops at the lock-out', async () => {
    const { verdict } = await run(module, lockout, devicePort, dictionary(12, 0, strong));
    expect(verdict.verdict).toBe('locked-out');
    const limit = lockout.profile.lockoutAfter ?? 5;
    // The control counts as one failure; the try that meets the locked device is the last.
    expect(verdict.attempts.length).toBeLessThanOrEqual(limit);
    expect(verdict.attempts.at(-1)?.outcome).toBe('locked-out');
  }, 60_000);
});

describe('Basic over https', () => {
  it('logs in over TLS when the observation says https', async () => {
    const p = port(443);
    const target = await grabbedTarget(httpsWeak.ip, p, 'https');
    expect(target.observations.at(-1)?.fields['scheme']).toBe('https');
    const ctx = accessContext(httpsWeak.ip, p);
    const plain = { ...ctx, open: () => ctx.open({ tls: false }) };
    const v = await httpBasicAccess.run(target, dictionary(6, 4, { username: 'admin', password: 'password' }), ctx);
    expect(v).toMatchObject({ verdict: 'weak-credential', entry: 'e4' });
    // The same module forced onto plain TCP gets no HTTP answer from the TLS port.
    expect((await httpBasicAccess.run(target, dictionary(2, 0, strong), plain)).verdict).toBe('error');
  }, 60_000);
});

describe('every lab profile with an HTTP login', () => {
  const withHttp = [...profiles.values()].filter((p) => p.services.some((s) => s.auth === 'http-basic' || s.auth === 'http-digest' || s.auth === 'http-form'));
  const moduleFor = { 'http-basic': httpBasicAccess, 'http-digest': httpDigestAccess, 'http-form': httpFormAccess } as const;
  const net2 = `127.73.${60 + (process.pid % 50)}`;
  const cred = { username: 'support', password: 'support' };
  const devices = withHttp.map((p, i): LabDevice => ({ id: `p-${i}`, ip: `${net2}.${i + 1}`, ispId: 'test', profile: { ...p, behaviour: undefined }, weak: true, credentials: [cred] }));
  let lab2: LabHandle;
  beforeAll(async () => {
    lab2 = await startLabInProcess({ plan: { seed: 'access-http-all', network: `${net2}.0/24`, weakShare: 1, isps: [], ispRows: [], devices } });
  }, 60_000);
  afterAll(async () => lab2?.close());

  it('finds the weak pair at #3 of 4 on every HTTP login service of every profile', async () => {
    const results: string[] = [];
    for (const d of devices) {
      for (const s of d.profile.services) {
        if (s.auth !== 'http-basic' && s.auth !== 'http-digest' && s.auth !== 'http-form') continue;
        const p = lab2.portMap[String(s.port)] ?? s.port;
        const target = await grabbedTarget(d.ip, p, s.protocol === 'https' ? 'https' : 'http');
        const module = moduleFor[s.auth];
        const v = module.applies(target) ? await module.run(target, dictionary(4, 3, cred), accessContext(d.ip, p)) : { verdict: 'not-applied', entry: null, reason: '' };
        results.push(`${d.profile.id}:${s.port} ${s.auth} ${v.verdict} ${v.entry ?? ''} ${v.reason ?? ''}`.trim());
      }
    }
    expect(results.filter((r) => !/ weak-credential e3$/.test(r))).toEqual([]);
    expect(results.length).toBeGreaterThan(20);
  }, 120_000);
});
