import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultProfilesDir, loadProfiles, parseProfile } from './profiles.js';
import { isIotcleanError } from '../core/errors.js';

function errorOf(fn: () => unknown): { code: string; text: string } {
  try {
    fn();
  } catch (e) {
    if (isIotcleanError(e)) return { code: e.code, text: e.format() };
    throw e;
  }
  throw new Error('expected an error');
}

const good = JSON.parse(readFileSync(join(defaultProfilesDir(), 'zte-zxhn-h108n.json'), 'utf8')) as Record<string, unknown>;

describe('device profiles', () => {
  it('loads every shipped profile, with the device kinds the lab needs', () => {
    const profiles = loadProfiles();
    const ids = profiles.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const has = (pred: (p: (typeof profiles)[number]) => boolean): boolean => profiles.some(pred);
    const svc = (p: (typeof profiles)[number], port: number, protocol: string, auth?: string): boolean =>
      p.services.some((s) => s.port === port && s.protocol === protocol && (auth === undefined || s.auth === auth));
    expect(has((p) => p.type === 'router' && svc(p, 23, 'telnet') && svc(p, 80, 'http'))).toBe(true);
    expect(has((p) => p.type === 'camera' && svc(p, 80, 'http', 'http-form') && svc(p, 554, 'rtsp'))).toBe(true);
    expect(has((p) => p.type === 'dvr' && svc(p, 80, 'http', 'http-basic') && svc(p, 81, 'http') && p.services.some((s) => s.port === 34567))).toBe(true);
    expect(has((p) => p.services.some((s) => s.auth === 'http-digest' && (s.port === 80 || s.port === 8080)))).toBe(true);
    expect(has((p) => svc(p, 22, 'ssh') && svc(p, 5000, 'http') && /dropbear/.test(p.services[0]?.banner?.['serverIdent'] ?? ''))).toBe(true);
    expect(has((p) => p.weakCredentials.length === 0 && svc(p, 23, 'telnet'))).toBe(true);
    expect(has((p) => p.behaviour === 'honeypot' && svc(p, 23, 'telnet') && svc(p, 22, 'ssh'))).toBe(true);
    expect(has((p) => p.behaviour === 'lockout' && (p.lockoutAfter ?? 0) > 0)).toBe(true);
    expect(has((p) => svc(p, 23, 'tarpit') && svc(p, 80, 'tarpit'))).toBe(true);
    expect(has((p) => svc(p, 23, 'garbage'))).toBe(true);
    expect(has((p) => svc(p, 8080, 'endless'))).toBe(true);
    expect(has((p) => svc(p, 7547, 'http'))).toBe(true);
  });

  it('names the file and the field of a bad profile', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotclean-profiles-'));
    const bad = structuredClone(good) as { services: { port: number }[] };
    (bad.services[1] as { port: number }).port = 70000;
    writeFileSync(join(dir, 'zte-zxhn-h108n.json'), JSON.stringify(bad));
    const err = errorOf(() => loadProfiles(dir));
    expect(err.code).toBe('E_LAB');
    expect(err.text).toContain('zte-zxhn-h108n.json');
    expect(err.text).toContain('services.1.port');
  });

  it('refuses an auth that does not fit the protocol, an unknown banner key and a missing lockout count', () => {
    const mismatch = structuredClone(good) as { services: { auth: string }[] };
    (mismatch.services[0] as { auth: string }).auth = 'http-basic';
    expect(errorOf(() => parseProfile(mismatch, 'x/zte-zxhn-h108n.json')).text).toContain('services.0.auth');

    const typo = structuredClone(good) as { services: { banner: Record<string, string> }[] };
    (typo.services[1] as { banner: Record<string, string> }).banner['titel'] = 'oops';
    expect(errorOf(() => parseProfile(typo, 'x/zte-zxhn-h108n.json')).text).toContain('services.1.banner.titel');

    const lockout = { ...structuredClone(good), behaviour: 'lockout' };
    expect(errorOf(() => parseProfile(lockout, 'x/zte-zxhn-h108n.json')).text).toContain('lockoutAfter');

    const extra = { ...structuredClone(good), colour: 'red' };
    expect(errorOf(() => parseProfile(extra, 'x/zte-zxhn-h108n.json')).code).toBe('E_LAB');
  });

  it('refuses a file whose id differs from its name, and a file that is not JSON', () => {
    expect(errorOf(() => parseProfile(good, 'x/other-name.json')).text).toContain('field id');
    const dir = mkdtempSync(join(tmpdir(), 'iotclean-profiles-'));
    writeFileSync(join(dir, 'broken.json'), '{ "id": ');
    const err = errorOf(() => loadProfiles(dir));
    expect(err.text).toContain('broken.json');
    expect(err.text).toContain('not JSON');
  });
});
