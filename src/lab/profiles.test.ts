import { mkdirSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { defaultProfilesDir, loadProfiles, parseProfile } from './profiles.js';
import { defaultMix } from './population.js';
import { faviconBytes } from './services/favicon.js';
import { isIotcleanError } from '../core/errors.js';
import type { DeviceProfile } from './types.js';

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

  it('has the Japanese models, the new protocols, ambiguous and unknown devices and the awkward cases issue 6 asks for', () => {
    const profiles = loadProfiles();
    const has = (pred: (p: DeviceProfile) => boolean): boolean => profiles.some(pred);
    const svc = (p: DeviceProfile, port: number, protocol: string, auth?: string): boolean =>
      p.services.some((s) => s.port === port && s.protocol === protocol && (auth === undefined || s.auth === auth));
    for (const vendor of ['NEC', 'Buffalo', 'I-O DATA', 'Yamaha', 'Panasonic', 'Sony']) expect(has((p) => p.vendor === vendor)).toBe(true);
    expect(has((p) => p.vendor === 'Yamaha' && svc(p, 23, 'telnet') && svc(p, 80, 'http'))).toBe(true);
    expect(has((p) => p.type === 'dvr' && p.vendor === 'Panasonic')).toBe(true);
    expect(has((p) => p.type === 'nas' && svc(p, 21, 'ftp', 'ftp-login'))).toBe(true);
    expect(has((p) => svc(p, 21, 'ftp') && (p.services[0]?.banner?.['greeting'] ?? '').includes('ProFTPD'))).toBe(true);
    expect(has((p) => svc(p, 1883, 'mqtt', 'none') && /^mosquitto version /.test(p.services[0]?.banner?.['version'] ?? ''))).toBe(true);
    expect(has((p) => svc(p, 1883, 'mqtt', 'mqtt-login'))).toBe(true);
    expect(has((p) => p.services.some((s) => s.protocol === 'https' && s.banner?.['certSubject'] !== undefined))).toBe(true);
    expect(has((p) => p.services.some((s) => s.banner?.['charset'] === 'Shift_JIS' && /[\u3040-\u30ff\u4e00-\u9fff]/.test(s.banner['title'] ?? '')))).toBe(true);
    expect(has((p) => p.services.some((s) => (s.banner?.['titleHtml'] ?? '').includes('<script>')))).toBe(true);
    // Protocols on ports that say otherwise (LZR): http on 23, telnet on 8080, ssh on 2323.
    expect(has((p) => svc(p, 23, 'http'))).toBe(true);
    expect(has((p) => svc(p, 8080, 'telnet'))).toBe(true);
    expect(has((p) => svc(p, 2323, 'ssh'))).toBe(true);
    expect(has((p) => p.identity === 'ambiguous' && svc(p, 80, 'http') && p.services[0]?.banner?.['title'] === '' && /^lighttpd/.test(p.services[0]?.banner?.['server'] ?? ''))).toBe(true);
    expect(has((p) => p.identity === 'ambiguous' && p.services.some((s) => s.banner?.['server'] === 'GoAhead-Webs'))).toBe(true);
    expect(has((p) => p.identity === 'unknown' && p.services.some((s) => s.protocol === 'http'))).toBe(true);
    // Every profile is in the default mix, so `npm start` meets it.
    for (const p of profiles) expect(defaultMix[p.id], p.id).toBeGreaterThan(0);
  });

  it('places every service on a port of the default survey plan (1883 is added with the mqtt service)', () => {
    const plan = parseYaml(readFileSync(join(defaultProfilesDir(), '../../../plans/default.yaml'), 'utf8')) as { ports: { port: number }[] };
    const planned = new Set(plan.ports.map((p) => p.port));
    const outside = new Set(loadProfiles().flatMap((p) => p.services.map((s) => s.port)).filter((port) => !planned.has(port)));
    expect([...outside].filter((port) => port !== 1883)).toEqual([]);
  });

  it('gives every known profile a banner no device of another vendor or type shows', () => {
    const profiles = loadProfiles();
    // Keys a grab records: headers, titles, realms, greetings, idents, certificate names.
    const visible = ['server', 'title', 'titleHtml', 'realm', 'heading', 'cookie', 'favicon', 'preLogin', 'serverIdent', 'greeting', 'version', 'certSubject', 'certIssuer', 'motd'];
    const values = (p: DeviceProfile): string[] =>
      p.services.flatMap((s) => visible.filter((k) => (s.banner?.[k] ?? '') !== '').map((k) => `${s.protocol}:${k}=${s.banner?.[k]}`));
    for (const p of profiles.filter((x) => (x.identity ?? 'known') === 'known')) {
      const others = new Set(profiles.filter((o) => o.vendor !== p.vendor || o.type !== p.type).flatMap(values));
      expect(values(p).filter((v) => !others.has(v)), p.id).not.toEqual([]);
    }
    // Unknown devices name nothing: no Server header, no title, no ident or greeting.
    for (const p of profiles.filter((x) => x.identity === 'unknown')) {
      for (const s of p.services) for (const k of ['server', 'serverIdent', 'greeting', 'title', 'realm']) expect(s.banner?.[k] ?? '', `${p.id} ${k}`).toBe('');
    }
  });

  it('says where the banners of every new profile come from', () => {
    const profiles = loadProfiles();
    const recent = profiles.filter((p) => p.source !== undefined);
    expect(recent.length).toBeGreaterThanOrEqual(17);
    for (const id of ['nec-aterm-wg2600hp3', 'buffalo-wsr-1166dhp', 'yamaha-rtx1210', 'sony-snc-ch110']) expect(profiles.find((p) => p.id === id)?.source).toBeTruthy();
  });

  it('refuses bad values of the new protocols and fields', () => {
    const base = (service: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => ({
      id: 'x',
      type: 'nas',
      vendor: 'V',
      model: 'M',
      firmware: '1',
      services: [service],
      weakCredentials: [],
      ...extra,
    });
    const text = (doc: unknown): string => errorOf(() => parseProfile(doc, 'p/x.json')).text;
    expect(text(base({ port: 21, protocol: 'ftp', auth: 'none' }))).toContain('services.0.auth');
    expect(text(base({ port: 21, protocol: 'ftp', auth: 'ftp-login', banner: { greeting: 'a\r\n230 fake' } }))).toContain('services.0.banner.greeting');
    expect(text(base({ port: 1883, protocol: 'mqtt', auth: 'http-basic' }))).toContain('services.0.auth');
    expect(text(base({ port: 1883, protocol: 'mqtt', auth: 'none', banner: { versoin: '1' } }))).toContain('services.0.banner.versoin');
    expect(text(base({ port: 443, protocol: 'https', auth: 'none', banner: { certSubject: 'not a name' } }))).toContain('services.0.banner.certSubject');
    expect(text(base({ port: 443, protocol: 'https', auth: 'none', banner: { certKey: 'dsa' } }))).toContain('services.0.banner.certKey');
    expect(text(base({ port: 80, protocol: 'http', auth: 'none', banner: { favicon: '../../etc/passwd.ico' } }))).toContain('services.0.banner.favicon');
    expect(text(base({ port: 80, protocol: 'http', auth: 'none', banner: { charset: 'EUC-JP' } }))).toContain('services.0.banner.charset');
    expect(text(base({ port: 80, protocol: 'http', auth: 'none', software: { product: 'x', build: '1' } }))).toContain('services.0.software');
    expect(text(base({ port: 80, protocol: 'http', auth: 'none' }, { identity: 'maybe' }))).toContain('identity');
    // Good values of the same fields pass.
    const ok = parseProfile(
      base({ port: 443, protocol: 'https', auth: 'http-form', banner: { certSubject: 'CN=a, O=B C, C=JP', certKey: 'ec', favicon: 'gen:x', charset: 'Shift_JIS', 'header:X-Frame-Options': 'DENY' }, software: { product: 'nginx' } }, { identity: 'ambiguous' }),
      'p/x.json',
    );
    expect(ok.identity).toBe('ambiguous');
    expect(ok.services[0]?.software).toEqual({ product: 'nginx' });
  });

  it('reads favicon files from the profiles folder\'s assets/, refusing a missing or huge one at load', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotclean-profiles-'));
    mkdirSync(join(dir, 'assets'));
    const doc = structuredClone(good) as { services: { banner: Record<string, string> }[] };
    (doc.services[1] as { banner: Record<string, string> }).banner['favicon'] = 'zte.ico';
    writeFileSync(join(dir, 'zte-zxhn-h108n.json'), JSON.stringify(doc));
    expect(errorOf(() => loadProfiles(dir)).text).toContain('favicon zte.ico is missing');
    writeFileSync(join(dir, 'assets', 'zte.ico'), Buffer.alloc(70_000));
    expect(errorOf(() => loadProfiles(dir)).text).toContain('has 70000 bytes');
    const icon = Buffer.from([0, 0, 1, 0, 1, 0, 16, 16, 0, 0]);
    writeFileSync(join(dir, 'assets', 'zte.ico'), icon);
    const [profile] = loadProfiles(dir);
    expect(profile?.assetsDir).toBe(join(dir, 'assets'));
    expect(faviconBytes('zte.ico', profile?.assetsDir).equals(icon)).toBe(true);
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
