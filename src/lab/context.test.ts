import { describe, expect, it } from 'vitest';
import { createDeviceState, createServiceContext, isLockedOut } from './context.js';
import { loadProfiles } from './profiles.js';
import type { LabDevice } from './types.js';

const profiles = new Map(loadProfiles().map((p) => [p.id, p]));

function device(profileId: string): LabDevice {
  const profile = profiles.get(profileId);
  if (!profile) throw new Error(profileId);
  return { id: 'd', ip: '127.80.0.1', ispId: 'x', profile, weak: false, credentials: [{ username: 'admin', password: 'S3cret-pass' }] };
}

describe('device login rules', () => {
  it('accepts only the device credentials', () => {
    const d = device('zte-zxhn-h108n');
    const ctx = createServiceContext(d, d.profile.services[0]!, createDeviceState());
    expect(ctx.checkLogin('admin', 'S3cret-pass')).toBe(true);
    expect(ctx.checkLogin('admin', 'admin')).toBe(false);
    expect(ctx.checkLogin('root', 'S3cret-pass')).toBe(false);
  });

  it('a honeypot accepts any pair', () => {
    const d = device('honeypot-cowrie');
    const ctx = createServiceContext(d, d.profile.services[0]!, createDeviceState());
    for (const [u, p] of [['root', 'xc3511'], ['x', ''], ['admin', 'S3cret-pass'], ['zz', 'qq']] as const) expect(ctx.checkLogin(u, p)).toBe(true);
  });

  it('locks out after N failures across all services of the device, then recovers', () => {
    const d = device('tplink-td-w8960n');
    let now = 1_000_000;
    const state = createDeviceState();
    const telnet = createServiceContext(d, d.profile.services[0]!, state, () => now);
    const web = createServiceContext(d, d.profile.services[1]!, state, () => now);
    const n = d.profile.lockoutAfter ?? 5;
    for (let i = 0; i < n; i++) expect((i % 2 ? telnet : web).checkLogin('admin', `wrong${i}`)).toBe(false);
    expect(isLockedOut(telnet, now)).toBe(true);
    expect(telnet.checkLogin('admin', 'S3cret-pass')).toBe(false);
    expect(web.checkLogin('admin', 'S3cret-pass')).toBe(false);
    now += (d.profile.lockoutSeconds ?? 300) * 1000 + 1;
    expect(isLockedOut(web, now)).toBe(false);
    expect(web.checkLogin('admin', 'S3cret-pass')).toBe(true);
  });
});
