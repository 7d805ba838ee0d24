import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CatalogueEntry, Identification, Observation } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { IotcleanError } from '../core/errors.js';
import { loadProfiles } from '../lab/profiles.js';
import { loadIdentifier } from '../identify/load.js';
import { httpFields, mqttFields, observation, profileObservation, telnetFields } from '../identify/test-support.js';
import { endOfLifeFindings, exposedServiceFindings, exposureFindings, loadExposurePlan, openAdminReason, parseExposurePlan, unauthenticatedAdminFindings } from './exposure.js';
import { checkFinding } from '../findings/schema.js';

const plan = loadExposurePlan();
const ip = '127.80.1.1';

function host(over: Partial<Identification> = {}): Identification {
  return {
    kind: 'identification',
    id: 7,
    surveyId: 1,
    endpointId: null,
    ip,
    port: null,
    protocol: null,
    type: 'router',
    vendor: 'ZTE',
    product: 'ZXHN H108N',
    version: null,
    device: { vendor: 'ZTE', product: 'ZXHN H108N', version: null },
    os: null,
    service: null,
    cpe: [],
    confidence: 0.9,
    rule: 'r',
    rules: ['r'],
    catalogue: null,
    identifiedAt: '2026-12-01T00:00:00.000Z',
    ...over,
  };
}

function at(o: Observation, over: Partial<Observation> = {}): Observation {
  return { ...o, ip, observedAt: '2026-12-01T10:00:00.000Z', ...over };
}

describe('the exposure plan', () => {
  it('loads the default plan: every entry has ports, a reason and a severity', () => {
    expect(plan.entries.length).toBeGreaterThanOrEqual(10);
    for (const id of ['telnet', 'tr069-cwmp', 'dahua-dvr-37777', 'xiongmai-dvrip-34567', 'hikvision-sdk-8000', 'adb', 'mqtt-anonymous', 'realtek-miniigd-52869']) {
      expect(plan.entries.map((e) => e.id)).toContain(id);
    }
  });

  it('refuses bad plans with E_PLAN_FILE naming the field', () => {
    const bad = (data: unknown): IotcleanError => {
      try {
        parseExposurePlan(data, 'x.yaml');
      } catch (e) {
        return e as IotcleanError;
      }
      throw new Error('accepted');
    };
    const entry = { id: 'telnet', ports: [23], service: 'telnet', severity: 'high', reason: 'clear-text logins' };
    expect(bad({ version: '1', entries: [{ ...entry, severity: 'urgent' }] }).message).toMatch(/field entries\.0\.severity/);
    expect(bad({ version: '1', entries: [{ ...entry, prot: 1 }] }).message).toMatch(/entries\.0/);
    expect(bad({ version: '1', entries: [entry, entry] }).message).toMatch(/appears twice/);
    expect(bad({ version: '1', entries: [{ ...entry, ports: [70000] }] }).code).toBe('E_PLAN_FILE');
    expect(bad({ entries: [entry] }).message).toMatch(/field version/);
    const dir = mkdtempSync(join(tmpdir(), 'iotclean-exposure-'));
    writeFileSync(join(dir, 'p.yaml'), 'version: "1"\nentries: [ {id: x\n');
    expect(() => loadExposurePlan(join(dir, 'p.yaml'))).toThrow(/not YAML/);
    expect(() => loadExposurePlan(join(dir, 'missing.yaml'))).toThrow(IotcleanError);
  });
});

describe('exposed-service findings', () => {
  it('telnet on 23 is a high finding with the reason; refused or HTTP-on-23 is not', () => {
    const telnet = at(observation('telnet', telnetFields('BusyBox', 'login: '), { port: 23 }), { id: 41 });
    const [f, ...rest] = exposedServiceFindings(host(), [telnet], plan, { planVersion: '2026.12-2' });
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'exposed-service', ip, port: 23, protocol: 'telnet', severity: 'high', period: '2026-12', planVersion: '2026.12-2', isp: null, prefixOwner: null, held: 'no-isp' });
    expect((f?.details['extra'] as Record<string, unknown>)['entry']).toBe('telnet');
    expect(String(f?.details['reason'])).toMatch(/Mirai/);
    expect(checkFinding(f).kind).toBe('exposed-service');
    expect(f?.evidence).toEqual([{ record: 'observation', id: 41 }, { record: 'identification', id: 7 }]);
    expect(f?.device).toEqual({ type: 'router', vendor: 'ZTE', model: 'ZXHN H108N', firmware: null });
    expect(exposedServiceFindings(host(), [at(telnet, { status: 'connection-refused', recognised: false })], plan)).toEqual([]);
    expect(exposedServiceFindings(host(), [at(observation('http', httpFields({ title: 'TL-WR841N' }), { port: 23 }))], plan)).toEqual([]);
  });

  it('an anonymous MQTT broker is a finding, one asking for a login is not', () => {
    const open = at(observation('mqtt', mqttFields('mosquitto version 1.4.15'), { port: 1883 }));
    const closed = at(observation('mqtt', { returnCode: 5, anonymous: false, brokerVersion: null }, { port: 1883 }));
    expect(exposedServiceFindings(host(), [open], plan).map((f) => (f.details['extra'] as Record<string, unknown>)['entry'])).toEqual(['mqtt-anonymous']);
    expect(exposedServiceFindings(host(), [closed], plan)).toEqual([]);
  });

  it('binary control ports count when open, 8000 only on a Hikvision device, TR-069 when it speaks HTTP', () => {
    const silent = (port: number): Observation => at(observation('generic', { text: '', bytes: 0 }, { port, recognised: false }), { status: 'io-timeout' });
    const found = exposedServiceFindings(host(), [silent(5555), silent(37777), silent(34567), silent(8000)], plan);
    expect(found.map((f) => [f.port, (f.details['extra'] as Record<string, unknown>)['entry'], f.severity])).toEqual([
      [5555, 'adb', 'critical'],
      [34567, 'xiongmai-dvrip-34567', 'high'],
      [37777, 'dahua-dvr-37777', 'high'],
    ]);
    const hik = host({ vendor: 'Hikvision', device: { vendor: 'Hikvision', product: 'DS-2CD2032-I', version: null }, type: 'camera' });
    expect(exposedServiceFindings(hik, [silent(8000)], plan).map((f) => (f.details['extra'] as Record<string, unknown>)['entry'])).toEqual(['hikvision-sdk-8000']);
    const cwmp = at(observation('http', httpFields({ status: 401, server: 'RomPager/4.07 UPnP/1.0', realm: 'HuaweiHomeGateway' }), { port: 7547 }));
    expect(exposedServiceFindings(host(), [cwmp], plan).map((f) => [f.protocol, f.severity])).toEqual([['http', 'medium']]);
    expect(exposedServiceFindings(host(), [silent(7547)], plan)).toEqual([]);
    // Another host's observations are not this host's.
    expect(exposedServiceFindings(host(), [{ ...silent(5555), ip: '127.80.1.2' }], plan)).toEqual([]);
  });
});

describe('unauthenticated admin pages', () => {
  it('an open dashboard is one; a login form, a 401, a login wording or a bare status banner is not', () => {
    const dashboard = '<h2>System Status</h2><a href="/wireless.htm">Wireless Settings</a> <a href="/reboot.htm">Reboot</a> <a href="/logout">Logout</a>';
    expect(openAdminReason(httpFields({ body: dashboard }) as never)).toMatch(/admin controls/);
    expect(openAdminReason(httpFields({ status: 401, realm: 'x', body: dashboard }) as never)).toBeNull();
    expect(openAdminReason(httpFields({ body: `${dashboard}<input type="password" name="p">` }) as never)).toBeNull();
    expect(openAdminReason(httpFields({ body: dashboard, loginForm: { action: '/l', method: 'post', fields: [{ name: 'p', type: 'password' }] } }) as never)).toBeNull();
    expect(openAdminReason(httpFields({ body: `${dashboard}<p>Please log in</p>` }) as never)).toBeNull();
    expect(openAdminReason(httpFields({ body: '<h1>Camera</h1><table><tr><td>Firmware</td><td>1.0</td></tr></table>' }) as never)).toBeNull();
    expect(openAdminReason(httpFields({ body: '<script>var status="wireless reboot";</script><h1>Welcome</h1>' }) as never)).toBeNull();
    expect(openAdminReason(httpFields({ body: '<h1>管理画面</h1><a>無線設定</a><a>再起動</a>' }) as never)).toMatch(/admin controls/);
    expect(openAdminReason(httpFields({ body: '<h1>ログイン</h1><p>設定</p><p>再起動</p>' }) as never)).toBeNull();
  });

  it('of every lab profile, only the open-admin router is flagged (the script-title camera is not)', () => {
    const flagged: string[] = [];
    for (const p of loadProfiles()) {
      const obs = p.services.map((s) => profileObservation(p, s, ip)).filter((o): o is Observation => o !== null);
      if (unauthenticatedAdminFindings(host(), obs).length > 0) flagged.push(p.id);
    }
    expect(flagged).toEqual(['netis-wf2419-open-admin']);
  });
});

describe('end of life', () => {
  const entry = (endOfLife: string | null): CatalogueEntry => ({ vendor: 'D-Link', model: 'DIR-605L', type: 'router', releaseYear: null, endOfLife, supportUrl: 'https://support.dlink.com/', manual: null });
  const seen = [at(observation('http', httpFields({}), { port: 80 }), { observedAt: '2026-12-03T00:00:00.000Z' })];

  it('support ended before the observation: a host-level finding; after it, or unknown: none', () => {
    const [f, ...rest] = endOfLifeFindings(host({ catalogue: entry('2020-09-24') }), seen);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ kind: 'end-of-life', port: null, protocol: null, observedAt: '2026-12-03T00:00:00.000Z', period: '2026-12', severity: 'medium' });
    expect(f?.details).toMatchObject({ endOfLife: '2020-09-24', extra: { model: 'DIR-605L', supportUrl: 'https://support.dlink.com/' } });
    // The finding fits the harmonised schema once attributed (held here: no ISP table).
    expect(checkFinding(f).kind).toBe('end-of-life');
    expect(endOfLifeFindings(host({ catalogue: entry('2027-01-01') }), seen)).toEqual([]);
    expect(endOfLifeFindings(host({ catalogue: entry(null) }), seen)).toEqual([]);
    expect(endOfLifeFindings(host({ catalogue: null }), seen)).toEqual([]);
  });
});

describe('exposureFindings on identified lab profiles', () => {
  it('the open-admin router, a Realtek UPnP router and an open MQTT broker give the findings their ports call for', () => {
    const { identifier } = loadIdentifier();
    const byId = new Map(loadProfiles().map((p) => [p.id, p]));
    const kinds = (id: string): string[] => {
      const p = byId.get(id);
      if (!p) throw new Error(id);
      const obs = p.services.map((s) => profileObservation(p, s, ip)).filter((o): o is Observation => o !== null);
      const h = identifier.mergeHost(obs.map((o) => identifier.identifyEndpoint([o]))).host;
      return exposureFindings(h, obs, plan).map((f) => `${f.kind}:${f.port ?? '-'}`);
    };
    expect(kinds('netis-wf2419-open-admin')).toEqual(['unauthenticated-admin:80']);
    expect(kinds('dlink-dir-605l-fw206')).toEqual(['exposed-service:52869']);
    expect(kinds('dlink-dir-605l-fw213')).toEqual([]);
    expect(kinds('huawei-hg532-customised')).toEqual(['exposed-service:37215']);
    expect(kinds('mosquitto-open-broker')).toEqual(['exposed-service:1883']);
    expect(kinds('mqtt-broker-auth')).toEqual([]);
    expect(kinds('huawei-hg8245h')).toEqual(['exposed-service:23', 'exposed-service:7547']);
  });
});

describe('fuzz: random fields never throw', () => {
  it('2,000 seeded random observations and pages', { timeout: 60_000 }, () => {
    const rng = createRng('exposure-fuzz');
    const alphabet = ['<', '>', '/', 'input', 'type=password', 'status', 'wireless', 'reboot', 'login', '\u0000', '&amp;', '<script>', '<!--', ' ', 'ログイン', '設定', '"', "'"];
    const values: unknown[] = [null, 0, 200, 401, -1, 'x', true, [], {}, [{}], { action: null }];
    for (let i = 0; i < 2000; i++) {
      let body = '';
      const n = rng.int(200);
      for (let k = 0; k < n; k++) body += rng.pick(alphabet);
      const fields: Record<string, unknown> = { status: rng.pick([200, 401, 'x', null]), body: rng.int(4) === 0 ? rng.pick(values) : body, title: rng.pick(values), loginForm: rng.pick([null, {}, 'x']), wwwAuthenticate: rng.pick(values), anonymous: rng.pick(values) };
      const o = at(observation(rng.pick(['http', 'https', 'mqtt', 'telnet', 'generic', 'x']), fields, { port: rng.pick([23, 80, 1883, 5555, 7547, 8000, 52869, 1]), recognised: rng.int(2) === 0 }), {
        status: rng.pick(['success', 'io-timeout', 'connection-refused', 'protocol-error']),
      });
      const result = exposureFindings(host({ catalogue: rng.int(3) === 0 ? { vendor: 'v', model: 'm', type: 'router', releaseYear: null, endOfLife: rng.pick(['2000-01-01', '2999-01-01']), supportUrl: null, manual: null } : null }), [o], plan);
      expect(Array.isArray(result)).toBe(true);
    }
  });
});
