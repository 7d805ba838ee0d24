import { describe, expect, it } from 'vitest';
import type { Identification, Observation } from '../core/records.js';
import { createRng } from '../core/rng.js';
import { loadProfiles } from '../lab/profiles.js';
import type { RuleMatch, RuleSource } from './source.js';
import { createIdentifier } from './engine.js';
import { loadIdentifier } from './load.js';
import { vendorKey } from './names.js';
import { httpFields, observation, profileObservation, rtspFields, sshFields, telnetFields } from './test-support.js';

const fixed = (): string => '2026-01-01T00:00:00.000Z';
const { identifier, report } = loadIdentifier({ now: fixed });

/** Identify each observation as its own endpoint, then merge the host. */
function host(observations: readonly Observation[]): { host: Identification; endpoints: Identification[] } {
  return identifier.mergeHost(observations.map((o) => identifier.identifyEndpoint([o])));
}

/** A rule source answering from a table, for combination tests. */
function tableSource(name: string, table: Record<string, { params: Record<string, string>; confidence: number }>): RuleSource {
  return {
    name,
    keys: new Set(Object.keys(table).map((k) => k.split('|')[0] ?? '')),
    match(input): RuleMatch | undefined {
      const hit = table[`${input.key}|${input.text}`];
      return hit && { rule: `${name}:t:${input.text}`, source: name, key: input.key, params: hit.params, confidence: hit.confidence };
    },
  };
}

describe('loadIdentifier', () => {
  it('loads the own rules and the catalogue and reports them', () => {
    expect(report.sources[0]?.name).toBe('iotclean');
    expect(report.sources[0]?.rules).toBeGreaterThan(40);
    expect(report.catalogueEntries).toBeGreaterThan(30);
    expect(report.warnings).toEqual([]);
  });
});

describe('every lab profile is identified from the observations the grab would make', () => {
  for (const profile of loadProfiles()) {
    // Lab ground truth: 'known' devices name their maker; 'ambiguous' ones only some software;
    // 'unknown' ones nothing. Profiles from before the field mark the awkward ones with "(...)".
    const identity =
      (profile as { readonly identity?: string }).identity ??
      (profile.vendor.startsWith('(') ? 'unknown' : profile.vendor === 'Generic' ? 'ambiguous' : 'known');
    it(`${profile.id}: ${identity === 'known' ? `${profile.type} by ${profile.vendor}` : `${identity}: no maker claimed`}`, () => {
      const ip = '127.60.1.1';
      const obs = profile.services.map((s) => profileObservation(profile, s, ip)).filter((o): o is Observation => o !== null);
      const merged = obs.length > 0 ? host(obs) : null;
      if (identity !== 'known') {
        // No maker is claimed (an OS from an SSH banner or a web server is not a device); a type,
        // when one is given (a realm saying "NAS"), is the right one; an unknown box gets none.
        expect(merged?.host.vendor ?? null).toBeNull();
        expect(merged?.host.device?.vendor ?? null).toBeNull();
        const type = merged?.host.type ?? null;
        if (identity === 'unknown') expect(type).toBeNull();
        else if (type !== null) expect(type).toBe(profile.type);
        return;
      }
      expect(merged).not.toBeNull();
      const h = merged!.host;
      expect(h.type).toBe(profile.type);
      expect(vendorKey(h.vendor)).toBe(vendorKey(profile.vendor));
      expect(h.confidence).toBeGreaterThan(0.5);
      for (const e of merged!.endpoints) {
        expect(vendorKey(e.vendor)).toBe(vendorKey(profile.vendor));
        expect(e.type).toBe(profile.type);
      }
    });
  }

  it('names the model and its catalogue entry where the banners say it', () => {
    const byId = new Map(loadProfiles().map((p) => [p.id, p]));
    for (const id of ['tplink-td-w8960n', 'zte-zxhn-h108n', 'huawei-hg8245h', 'synology-ds216j']) {
      const p = byId.get(id)!;
      const obs = p.services.map((s) => profileObservation(p, s, '127.60.2.1')).filter((o): o is Observation => o !== null);
      const h = host(obs).host;
      expect(h.product, id).toBe(p.model);
      expect(h.catalogue?.model, id).toBe(p.model);
      expect(h.cpe[0], id).toMatch(/^cpe:2\.3:h:/);
    }
  });

  it('keeps each endpoint’s service and gives it the host’s device (dropbear on 22, the web UI names the router)', () => {
    const p = loadProfiles().find((x) => x.id === 'ubiquiti-airos-m5')!;
    const obs = p.services.map((s) => profileObservation(p, s, '127.60.3.1')).filter((o): o is Observation => o !== null);
    const { host: h, endpoints } = host(obs);
    const ssh = endpoints.find((e) => e.protocol === 'ssh')!;
    expect(ssh.service).toEqual({ vendor: 'Dropbear SSH Project', product: 'Dropbear SSH', version: '2019.78' });
    expect(ssh.device).toEqual(h.device);
    expect(ssh.vendor).toBe('Ubiquiti');
    expect(ssh.cpe).toContain('cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2019.78:*:*:*:*:*:*:*');
    expect(ssh.rules).toContain('iotclean:services:dropbear-ssh');
  });
});

describe('identifyEndpoint', () => {
  it('a bare service stays a service: lighttpd without a title gives no device', () => {
    const id = identifier.identifyEndpoint([observation('http', httpFields({ server: 'lighttpd/1.4.59' }))]);
    expect(id.service).toEqual({ vendor: 'lighttpd', product: 'lighttpd', version: '1.4.59' });
    expect(id.device).toBeNull();
    expect(id.type).toBeNull();
    expect([id.vendor, id.product, id.version]).toEqual(['lighttpd', 'lighttpd', '1.4.59']);
    expect(id.cpe).toEqual(['cpe:2.3:a:lighttpd:lighttpd:1.4.59:*:*:*:*:*:*:*']);
    expect(id.protocol).toBe('http');
  });

  it('unknown stays unknown: nothing matched gives nulls, confidence 0 and no rule', () => {
    const id = identifier.identifyEndpoint([observation('http', httpFields({ server: 'Apache', title: 'Welcome', body: '<p>hello</p>' }))]);
    expect(id).toMatchObject({ type: null, vendor: null, product: null, version: null, device: null, os: null, service: null, confidence: 0, rule: null, rules: [], cpe: [], catalogue: null });
    const none = identifier.identifyEndpoint([observation('ssh', sshFields('SSH-2.0-dropbear_2019.78'), { recognised: false })]);
    expect(none.service).toBeNull();
    expect(none.protocol).toBeNull();
  });

  it('HTML and script in a title is only text: it matches nothing and is not interpreted', () => {
    const title = '<script>alert(document.cookie)</script><img src=x onerror=alert(1)>';
    const id = identifier.identifyEndpoint([observation('http', httpFields({ title, body: `<title>${title}</title>` }))]);
    expect(id.device).toBeNull();
    expect(id.vendor).toBeNull();
    // A model name inside a script tag is still read as the text it is.
    const tricky = identifier.identifyEndpoint([observation('http', httpFields({ title: '<script>x</script>Aterm WG2600HP' }))]);
    expect(tricky.product).toBe('Aterm WG2600HP');
  });

  it('Japanese devices: model, type, catalogue with release year', () => {
    const id = identifier.identifyEndpoint([observation('http', httpFields({ title: 'Aterm WG2600HP', server: 'lighttpd' }))]);
    expect(id).toMatchObject({ type: 'router', vendor: 'NEC', product: 'Aterm WG2600HP' });
    expect(id.catalogue?.releaseYear).toBe(2014);
    expect(id.cpe[0]).toBe('cpe:2.3:h:nec:aterm_wg2600hp:*:*:*:*:*:*:*:*');
    const yamaha = identifier.identifyEndpoint([observation('telnet', telnetFields('RTX1210 Rev.14.01.38 (Fri Jul 10 09:34:01 2020)\r\n', 'Password:'))]);
    expect(yamaha).toMatchObject({ type: 'router', vendor: 'Yamaha', product: 'RTX1210', version: '14.01.38' });
    expect(yamaha.device?.version).toBeNull();
    expect(yamaha.os?.version).toBe('14.01.38');
  });

  it('telnet option negotiation names BusyBox telnetd, with no version (the protocol has none)', () => {
    const id = identifier.identifyEndpoint([observation('telnet', telnetFields('', '(none) login: '))]);
    expect(id.service).toEqual({ vendor: 'BusyBox', product: 'BusyBox telnetd', version: null });
    const netkit = identifier.identifyEndpoint([observation('telnet', telnetFields('', 'login: ', { do: ['terminal-type', 'terminal-speed', 'echo'], will: ['echo'] }))]);
    expect(netkit.service).toBeNull();
  });
});

describe('combining matches', () => {
  const s1 = tableSource('one', {
    'html_title|A': { params: { 'hw.vendor': 'Acme', 'hw.product': 'R1', 'hw.device': 'Broadband Router' }, confidence: 0.9 },
    'html_title|B': { params: { 'hw.vendor': 'Bolt', 'hw.product': 'C9', 'hw.device': 'IP Camera' }, confidence: 0.6 },
    'html_title|A2': { params: { 'hw.vendor': 'ACME Inc.', 'hw.version': '2' }, confidence: 0.5 },
    'html_title|E': { params: { 'hw.vendor': 'Bolt' }, confidence: 0.9 },
    'html_title|D': { params: { 'hw.vendor': 'Acme', 'hw.product': 'Home Router' }, confidence: 0.95 },
    'html_title|R7': { params: { 'hw.vendor': 'Acme', 'hw.product': 'R7' }, confidence: 0.8 },
  });
  const engine = createIdentifier({ sources: [s1], now: fixed });
  const title = (t: string, port = 80): Observation => observation('http', httpFields({ title: t }), { port });

  it('maps Recog hw.device values onto device types', () => {
    expect(engine.identifyEndpoint([title('A')]).type).toBe('router');
    expect(engine.identifyEndpoint([title('B')]).type).toBe('camera');
  });

  it('agreeing evidence raises confidence by noisy-OR: 1 − (1 − 0.9)(1 − 0.5) = 0.95', () => {
    const id = engine.identifyEndpoint([title('A'), title('A2')]);
    expect(id.confidence).toBeCloseTo(0.95, 3);
    expect(id.device).toEqual({ vendor: 'Acme', product: 'R1', version: '2' });
    expect(id.rule).toBe('one:t:A');
    expect(id.rules).toEqual(['one:t:A', 'one:t:A2']);
  });

  it('conflicting makers: the stronger wins, the conflict lowers confidence: 0.9 × (1 − 0.6/2) = 0.63', () => {
    const id = engine.identifyEndpoint([title('B'), title('A')]);
    expect(id.vendor).toBe('Acme');
    expect(id.type).toBe('router');
    expect(id.confidence).toBeCloseTo(0.63, 3);
    expect(id.rules).toEqual(['one:t:B', 'one:t:A']);
  });

  it('a rule matching several inputs, or the same device on two ports, counts once', () => {
    const twice = engine.identifyEndpoint([title('A'), title('A', 8080)]);
    expect(twice.confidence).toBe(0.9);
    expect(twice.rules).toEqual(['one:t:A']);
    const h = engine.mergeHost([engine.identifyEndpoint([title('A', 80)]), engine.identifyEndpoint([title('A', 81)])]).host;
    expect(h.confidence).toBe(0.9);
  });

  it('a descriptive product contradicts no model, and the model is kept; two models of one maker do contradict', () => {
    const id = engine.identifyEndpoint([title('D'), title('A')]);
    expect(id.device).toEqual({ vendor: 'Acme', product: 'R1', version: null });
    expect(id.confidence).toBeCloseTo(1 - 0.05 * 0.1, 3);
    const two = engine.identifyEndpoint([title('A'), title('R7')]);
    expect(two.product).toBe('R1');
    expect(two.confidence).toBeCloseTo(0.9 * (1 - 0.8 / 2), 3);
  });

  it('an equal-strength contradiction halves confidence; the earlier match wins the tie', () => {
    const id = engine.identifyEndpoint([title('A'), title('E')]);
    expect(id.vendor).toBe('Acme');
    expect(id.confidence).toBeCloseTo(0.495, 3);
  });

  it('mergeHost: the device decided across ports; conflicting endpoints lower it', () => {
    const a = engine.identifyEndpoint([title('A', 80)]);
    const b = engine.identifyEndpoint([title('B', 8080)]);
    const plain = identifier.identifyEndpoint([observation('ssh', sshFields('SSH-2.0-dropbear_2019.78'), { port: 22 })]);
    const { host: h, endpoints } = engine.mergeHost([plain, b, a]);
    expect(h.port).toBeNull();
    expect(h.protocol).toBeNull();
    expect(h.vendor).toBe('Acme');
    expect(h.type).toBe('router');
    expect(h.confidence).toBeCloseTo(0.63, 3);
    expect(endpoints.map((e) => e.vendor)).toEqual(['Acme', 'Acme', 'Acme']);
    expect(endpoints[0]?.service?.product).toBe('Dropbear SSH');
    expect(endpoints[1]?.type).toBe('router');
    // Every endpoint stays at its own port.
    expect(endpoints.map((e) => e.port)).toEqual([22, 8080, 80]);
  });

  it('mergeHost with no device anywhere leaves the host unknown and the endpoints unchanged', () => {
    const plain = identifier.identifyEndpoint([observation('ssh', sshFields('SSH-2.0-OpenSSH_9.2p1 Debian-2'), { port: 22 })]);
    const { host: h, endpoints } = identifier.mergeHost([plain]);
    expect(h).toMatchObject({ type: null, vendor: null, device: null, confidence: 0, rule: null });
    expect(h.os?.vendor).toBe('Debian');
    expect(endpoints[0]).toBe(plain);
  });

  it('a type-only claim (realm "DVR") gives the type without a maker', () => {
    const id = identifier.identifyEndpoint([observation('http', httpFields({ realm: 'DVR', status: 401 }))]);
    expect(id.type).toBe('dvr');
    expect(id.vendor).toBeNull();
    expect(id.rule).toBe('iotclean:cameras:dvr-realm');
  });

  it('a type-only host is as sure as its type rule, not as the service beside it', () => {
    const web = identifier.identifyEndpoint([observation('http', httpFields({ server: 'lighttpd/1.4.28', realm: 'NAS', status: 401 }), { port: 5000 })]);
    expect(web.confidence).toBe(0.9); // the flat fields are the service (lighttpd)
    const { host: h, endpoints } = identifier.mergeHost([web]);
    expect(h).toMatchObject({ type: 'nas', vendor: null, device: null, confidence: 0.5, rule: 'iotclean:nas:nas-realm' });
    expect(endpoints[0]?.type).toBe('nas');
  });

  it('a CPE template with a version the match lacks becomes ANY', () => {
    const src = tableSource('t', { 'http_header.server|S': { params: { 'service.vendor': 'V', 'service.product': 'P', 'service.cpe23': 'cpe:/a:v:p:{service.version}' }, confidence: 0.9 } });
    const id = createIdentifier({ sources: [src] }).identifyEndpoint([observation('http', httpFields({ server: 'S' }))]);
    expect(id.cpe).toEqual(['cpe:2.3:a:v:p:*:*:*:*:*:*:*:*']);
  });
});

describe('hostile input', () => {
  it('huge, NUL-filled and rule-prefix-repeating texts end, with bounded fields', { timeout: 60_000 }, () => {
    const nasty = [
      'A'.repeat(2_000_000),
      '\u0000'.repeat(100_000),
      'BUFFALO '.repeat(10_000),
      'Aterm '.repeat(10_000),
      'realm="'.repeat(10_000),
      'LAN DISK '.repeat(10_000),
      'Qwatch '.repeat(10_000),
      `${'a'.repeat(60)} - Synology DiskStatio`.repeat(200),
      'do=echo,'.repeat(5_000),
    ];
    for (const text of nasty) {
      const obs = [
        observation('http', httpFields({ server: text, title: text, body: text, headers: { 'www-authenticate': text, 'set-cookie': text } })),
        observation('telnet', { ...telnetFields(text, text), will: [text], do: [text] }),
        observation('rtsp', rtspFields(text, text)),
        observation('ssh', sshFields(`SSH-2.0-${text}`)),
      ];
      const id = identifier.identifyEndpoint(obs);
      expect(id.kind).toBe('identification');
      for (const v of [id.vendor, id.product, id.version]) expect((v ?? '').length).toBeLessThanOrEqual(4096);
    }
  });
});

describe('fuzz: random field values never throw and give well-formed identifications', () => {
  const rng = createRng('identify-fuzz');
  const alphabet = ['A', 'a', '0', ' ', '-', '/', '.', '"', '<', '>', '\u0000', '\r', '\n', '\u00ff', 'ア', '(', ')', '\\', '{', '}', 'Aterm ', 'WG', 'DS-', 'realm="', 'dropbear_', 'OpenSSH_', 'RTX', 'ZXHN ', 'login:'];
  const text = (max: number): string => {
    let s = '';
    const n = rng.int(max);
    for (let i = 0; i < n; i++) s += rng.pick(alphabet);
    return s;
  };
  const value = (): unknown => rng.pick([() => text(80), () => rng.int(1000) - 500, () => null, () => [text(10), 3], () => ({ x: text(5) }), () => undefined])();
  const modules = ['ssh', 'telnet', 'ftp', 'http', 'https', 'rtsp', 'mqtt', 'generic', 'nope'];

  it('2,000 random observations (seeded)', { timeout: 60_000 }, () => {
    for (let i = 0; i < 2000; i++) {
      const m = rng.pick(modules);
      let fields: object;
      switch (rng.int(3)) {
        case 0:
          fields = { ident: `SSH-2.0-${text(40)}`, banner: text(200), prompt: text(20), title: text(60), server: text(40), realm: text(30), brokerVersion: text(20), text: text(50), will: [text(8)], do: [text(8)] };
          break;
        case 1:
          fields = { headers: { server: text(30), 'www-authenticate': text(50), 'set-cookie': text(40) }, wwwAuthenticate: [{ scheme: text(6), realm: text(20) }], favicon: { md5: text(32), mmh3: rng.int(1e9) }, certificate: { subject: text(40), issuer: text(40) }, body: text(300) };
          break;
        default:
          fields = { ident: value(), banner: value(), prompt: value(), title: value(), server: value(), headers: value(), wwwAuthenticate: value(), favicon: value(), realm: value(), authSchemes: value() };
      }
      const o = observation(m, fields, { recognised: rng.int(4) !== 0, port: rng.int(65536) });
      const id = identifier.identifyEndpoint([o]);
      expect(id.kind).toBe('identification');
      expect(id.confidence).toBeGreaterThanOrEqual(0);
      expect(id.confidence).toBeLessThanOrEqual(1);
      for (const c of id.cpe) expect(c).toMatch(/^cpe:2\.3:[aho](?::(?:\\.|[^:\\])+){10}$/);
      if (id.device === null && id.service === null && id.os === null) expect(id.vendor).toBeNull();
      identifier.mergeHost([id, id]);
    }
  });
});

describe('deviceTypeOf', () => {
  it('maps Recog device values and passes iotclean types through; an unclassified kind is "other"', async () => {
    const { deviceTypeOf } = await import('./device-types.js');
    expect(deviceTypeOf('Broadband Router')).toBe('router');
    expect(deviceTypeOf('WAP')).toBe('access-point');
    expect(deviceTypeOf('IP Camera')).toBe('camera');
    expect(deviceTypeOf('DVR')).toBe('dvr');
    expect(deviceTypeOf('NAS')).toBe('nas');
    expect(deviceTypeOf('Multifunction Device')).toBe('printer');
    expect(deviceTypeOf('camera')).toBe('camera');
    expect(deviceTypeOf('Tape Library')).toBe('other');
    expect(deviceTypeOf('')).toBeNull();
    expect(deviceTypeOf(undefined)).toBeNull();
  });
});

describe('identifyObservations', () => {
  it('groups by endpoint and host: every module tried at a port is one endpoint, every ip one host', async () => {
    const { identifyObservations } = await import('./index.js');
    const a = '127.60.7.1';
    const b = '127.60.7.2';
    const out = identifyObservations(identifier, [
      observation('ssh', sshFields('SSH-2.0-dropbear_2019.78'), { ip: a, port: 22 }),
      observation('http', httpFields({ title: 'Aterm WG2600HP' }), { ip: a, port: 80 }),
      observation('generic', { text: 'x', bytes: 1 }, { ip: a, port: 80, recognised: false }),
      observation('http', httpFields({ server: 'nginx' }), { ip: b, port: 8080 }),
    ]);
    expect(out.hosts.map((h) => [h.ip, h.vendor])).toEqual([[a, 'NEC'], [b, null]]);
    expect(out.endpoints.map((e) => [e.ip, e.port, e.vendor, e.service?.product ?? null])).toEqual([
      [a, 22, 'NEC', 'Dropbear SSH'],
      [a, 80, 'NEC', null],
      [b, 8080, 'nginx', 'nginx'],
    ]);
  });
});
