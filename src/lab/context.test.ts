import { describe, expect, it } from 'vitest';
import { createDeviceState, createServiceContext, isLockedOut, unitService } from './context.js';
import { loadProfiles, parseProfile } from './profiles.js';
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

describe('per-unit banner values', () => {
  const d = device('dahua-ipc-hfw1320s');
  const rtsp = d.profile.services.find((s) => s.protocol === 'rtsp')!;
  it('fills {{serial}} per device, the same for the same device and different between devices', () => {
    const a = unitService(d, rtsp).banner?.['realm'] ?? '';
    expect(a).toMatch(/^Login to [0-9A-Z]{15}$/);
    expect(unitService(d, rtsp).banner?.['realm']).toBe(a);
    expect(unitService({ ...d, id: 'other', ip: '127.80.0.2' }, rtsp).banner?.['realm']).not.toBe(a);
    expect(createServiceContext(d, rtsp, createDeviceState()).service.banner?.['realm']).toBe(a);
  });

  it('fills {{mac}} and {{mac6}} with a locally administered address, leaves certificate names and plain banners alone', () => {
    const svc = { port: 443, protocol: 'https' as const, auth: 'none' as const, banner: { title: 'AP-{{mac6}} {{mac}}', certSubject: 'CN=x{{serial}}' } };
    const b = unitService(d, svc).banner ?? {};
    const m = /^AP-([0-9A-F]{6}) ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})$/.exec(b['title'] ?? '');
    expect(m).not.toBeNull();
    expect(m?.[2]?.replace(/:/g, '').slice(6).toUpperCase()).toBe(m?.[1]);
    expect(parseInt(m?.[2]?.slice(0, 2) ?? '0', 16) & 0x03).toBe(0x02);
    expect(b['certSubject']).toBe('CN=x{{serial}}');
    const plain = d.profile.services[0]!;
    expect(unitService(d, plain)).toBe(plain);
  });

  it('refuses an unknown placeholder in a profile', () => {
    const bad = structuredClone(d.profile) as unknown as { services: { banner?: Record<string, string> }[] };
    (bad.services[0]!.banner ??= {})['title'] = 'Cam {{serail}}';
    expect(() => parseProfile(bad, 'x/dahua-ipc-hfw1320s.json')).toThrow(/unknown placeholder \{\{serail\}\}/);
  });
});
