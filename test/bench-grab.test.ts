/**
 * bench/grab's sample and scoring rules (bench/grab-score.ts): which devices it samples, what
 * counts as right for iotclean and for nmap -sV, and reading nmap's real -oX shape. No processes.
 */
import { describe, expect, it } from 'vitest';
import type { GroundTruthDevice } from '../src/lab/ground-truth.js';
import { createRng } from '../src/core/rng.js';
import {
  expectationOf,
  hostIdentification,
  iotcleanSoftwareRight,
  nmapSoftwareRight,
  parseNmapXml,
  pickDevices,
  scoreIotclean,
  scoreNmap,
  softwareOf,
  vendorMatches,
  type DeviceRow,
  type NmapPort,
} from '../bench/grab-score.js';

function device(o: { id: string; profile: string; vendor: string; type?: GroundTruthDevice['type']; ports?: readonly number[]; identity?: string }): GroundTruthDevice {
  const d: GroundTruthDevice = {
    id: o.id,
    ip: `127.70.0.${o.id.replace(/\D/g, '') || '1'}`,
    ispId: 'isp',
    profile: o.profile,
    type: o.type ?? 'router',
    vendor: o.vendor,
    model: 'm',
    behaviour: 'normal',
    weak: false,
    credentials: [],
    services: (o.ports ?? [80]).map((port) => ({ port, boundPort: port, protocol: 'http', auth: 'none' })),
  };
  return o.identity ? ({ ...d, identity: o.identity } as GroundTruthDevice) : d;
}

const row = (o: Partial<DeviceRow>): DeviceRow => ({ ip: '127.70.0.1', port: 80, protocol: 'http', type: null, vendor: null, product: null, version: null, confidence: 0.9, rule: 'r', ...o });
const port = (o: Partial<NmapPort>): NmapPort => ({ port: 80, state: 'open', cpe: [], ...o });

describe('vendorMatches', () => {
  it.each([
    ['TP-LINK', 'TP-Link Technologies', true],
    ['Hikvision', 'HIKVISION', true],
    ['ZTE', 'ZTE Corporation', true],
    ['Synology', 'Synology DiskStation httpd', true],
    ['ZTE', 'Huawei', false],
    ['Hikvision', null, false],
    ['Dahua', '', false],
    ['Ubiquiti', 'Ubiquiti Networks', true],
    ['Huawei', 'hua', true], // a claim contained in the truth counts when it has three letters or more
    ['Huawei', 'hu', false],
  ])('%s vs %s → %s', (truth, claim, expected) => expect(vendorMatches(truth, claim)).toBe(expected));
});

describe('expectationOf', () => {
  it('uses the ground truth identity when present, else the vendor', () => {
    expect(expectationOf(device({ id: 'd1', profile: 'p', vendor: '(tarpit)' }))).toBe('unknown');
    expect(expectationOf(device({ id: 'd1', profile: 'p', vendor: 'Generic' }))).toBe('ambiguous');
    expect(expectationOf(device({ id: 'd1', profile: 'p', vendor: 'ZTE' }))).toBe('known');
    expect(expectationOf(device({ id: 'd1', profile: 'p', vendor: 'ZTE', identity: 'ambiguous' }))).toBe('ambiguous');
  });
});

describe('pickDevices', () => {
  const lab = Array.from({ length: 60 }, (_, i) => device({ id: `d${i + 1}`, profile: `p${i % 6}`, vendor: 'V', ports: i % 2 ? [22, 80] : [23] }));

  it('covers every profile before repeating one, stops once the endpoints are reached, and is seeded', () => {
    const picked = pickDevices(lab, 9, 's');
    expect(new Set(picked.slice(0, 6).map((d) => d.profile)).size).toBe(6);
    const count = picked.reduce((n, d) => n + d.services.length, 0);
    expect(count).toBeGreaterThanOrEqual(9);
    expect(count - picked.at(-1)!.services.length).toBeLessThan(9);
    expect(pickDevices(lab, 9, 's').map((d) => d.id)).toEqual(picked.map((d) => d.id));
    expect(pickDevices(lab, 200, 's')).toHaveLength(60); // the whole lab, each device once
    expect(new Set(pickDevices(lab, 200, 's').map((d) => d.id)).size).toBe(60);
  });
});

describe('scoreIotclean', () => {
  const zte = device({ id: 'd1', profile: 'zte', vendor: 'ZTE', type: 'router' });

  it('a known device needs type and vendor', () => {
    expect(scoreIotclean(zte, [row({ type: 'router', vendor: 'ZTE' })]).correct).toBe(true);
    expect(scoreIotclean(zte, [row({ type: 'camera', vendor: 'ZTE' })]).correct).toBe(false);
    expect(scoreIotclean(zte, [row({ type: 'router', vendor: 'Huawei' })])).toMatchObject({ correct: false, wrongHighConfidence: true });
    expect(scoreIotclean(zte, [row({ type: 'router', vendor: 'Huawei', confidence: 0.3 })])).toMatchObject({ correct: false, wrongHighConfidence: false });
    expect(scoreIotclean(zte, []).correct).toBe(false);
  });

  it('merges a host: the host row when printed, else the most confident row that claims a device', () => {
    const service = row({ port: 22, type: null, vendor: 'Dropbear SSH Project', confidence: 1 });
    const web = row({ port: 80, type: 'router', vendor: 'ZTE', confidence: 0.7 });
    expect(hostIdentification([service, web])).toBe(web);
    expect(scoreIotclean(zte, [service, web]).correct).toBe(true);
    expect(hostIdentification([service, web, row({ port: null, type: 'router', vendor: 'Huawei' })])?.vendor).toBe('Huawei');
  });

  it('an unknown device is right only while no device is claimed', () => {
    const tarpit = device({ id: 'd2', profile: 'tarpit', vendor: '(tarpit)', type: 'other' });
    expect(scoreIotclean(tarpit, [row({})]).correct).toBe(true);
    expect(scoreIotclean(tarpit, [row({ type: 'server', vendor: 'OpenBSD', product: 'OpenSSH' })]).correct).toBe(true);
    expect(scoreIotclean(tarpit, [row({ type: 'camera', vendor: 'Hikvision' })])).toMatchObject({ correct: false, wrongHighConfidence: true });
  });

  it('an ambiguous device is right with no device claimed or the right type', () => {
    const generic = device({ id: 'd3', profile: 'g', vendor: 'Generic', type: 'nas' });
    expect(scoreIotclean(generic, [row({ product: 'lighttpd' })]).correct).toBe(true);
    expect(scoreIotclean(generic, [row({ type: 'nas', vendor: 'Synology' })]).correct).toBe(true);
    expect(scoreIotclean(generic, [row({ type: 'camera' })]).correct).toBe(false);
  });
});

describe('scoreNmap', () => {
  const hik = device({ id: 'd1', profile: 'hik', vendor: 'Hikvision', type: 'camera' });

  it('a known device is right when the vendor is named anywhere nmap printed, on an open port', () => {
    expect(scoreNmap(hik, [port({ product: 'Hikvision IP camera httpd', devicetype: 'webcam' })]).correct).toBe(true);
    expect(scoreNmap(hik, [port({ product: 'lighttpd' }), port({ port: 554, cpe: ['cpe:/h:hikvision:ds-2cd2032-i'] })]).correct).toBe(true);
    expect(scoreNmap(hik, [port({ product: 'Hikvision IP camera httpd', state: 'filtered' })]).correct).toBe(false);
    expect(scoreNmap(hik, [port({ name: 'http', product: 'Boa httpd' })]).correct).toBe(false);
    expect(scoreNmap(hik, []).correct).toBe(false);
  });

  it('unknown and ambiguous devices: judged by the device type nmap claims', () => {
    const tarpit = device({ id: 'd2', profile: 'tarpit', vendor: '(tarpit)', type: 'other' });
    expect(scoreNmap(tarpit, [port({ name: 'tcpwrapped' })]).correct).toBe(true);
    expect(scoreNmap(tarpit, [port({ product: 'OpenSSH', devicetype: 'general purpose' })]).correct).toBe(true);
    expect(scoreNmap(tarpit, [port({ product: 'x', devicetype: 'webcam' })]).correct).toBe(false);
    const generic = device({ id: 'd3', profile: 'g', vendor: 'Generic', type: 'nas' });
    expect(scoreNmap(generic, [port({ devicetype: 'storage-misc' })]).correct).toBe(true);
    expect(scoreNmap(generic, [port({ devicetype: 'webcam' })]).correct).toBe(false);
  });
});

describe('service software per endpoint', () => {
  const dropbear = { product: 'dropbear', version: '2019.78' };

  it('reads the ground truth software when the lab records it', () => {
    const s = { port: 22, boundPort: 22, protocol: 'ssh', auth: 'ssh' } as const;
    expect(softwareOf(s)).toBeUndefined();
    expect(softwareOf({ ...s, software: null } as never)).toBeUndefined();
    expect(softwareOf({ ...s, software: dropbear } as never)).toEqual(dropbear);
  });

  it('iotclean: the service layer when printed, else the flat fields; the version must be equal', () => {
    expect(iotcleanSoftwareRight(dropbear, row({ product: 'Dropbear SSH', version: '2019.78' }))).toBe(true);
    expect(iotcleanSoftwareRight(dropbear, row({ product: 'Dropbear SSH', version: '2022.83' }))).toBe(false);
    expect(iotcleanSoftwareRight(dropbear, row({ product: 'DS-2CD2032-I', version: 'V5.4', service: { vendor: null, product: 'Dropbear SSH', version: '2019.78' } }))).toBe(true);
    expect(iotcleanSoftwareRight(dropbear, undefined)).toBe(false);
    expect(iotcleanSoftwareRight({ product: 'lighttpd' }, row({ product: 'lighttpd', version: null }))).toBe(true);
  });

  it("nmap: the product on an open port, the version's first word", () => {
    expect(nmapSoftwareRight(dropbear, port({ port: 22, product: 'Dropbear sshd', version: '2019.78' }))).toBe(true);
    expect(nmapSoftwareRight({ product: 'OpenSSH', version: '9.2p1' }, port({ product: 'OpenSSH', version: '9.2p1 Debian 2+deb12u10' }))).toBe(true);
    expect(nmapSoftwareRight(dropbear, port({ product: 'Dropbear sshd', version: '2019.78', state: 'closed' }))).toBe(false);
    expect(nmapSoftwareRight(dropbear, port({ product: 'OpenSSH', version: '2019.78' }))).toBe(false);
  });
});

// The shape nmap 7.93 writes with -sV -oX (trimmed from a real run against dropbear and lighttpd).
const nmapXml = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sV -Pn -n -p 22,80 -oX - 127.69.0.1 127.69.0.4" start="1796146242" version="7.93" xmloutputversion="1.05">
<host starttime="1796146242" endtime="1796146243"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="127.69.0.1" addrtype="ipv4"/>
<hostnames>
</hostnames>
<ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="ssh" product="Dropbear sshd" version="2022.83" extrainfo="protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:matt_johnston:dropbear_ssh_server:2022.83</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service></port>
<port protocol="tcp" portid="80"><state state="closed" reason="reset" reason_ttl="64"/><service name="http" method="table" conf="3"/></port>
</ports>
</host>
<host starttime="1796146242" endtime="1796146248"><status state="up" reason="user-set" reason_ttl="0"/>
<address addr="127.69.0.4" addrtype="ipv4"/>
<ports><extraports state="closed" count="1"><extrareasons reason="reset" count="1" proto="tcp" ports="22"/></extraports>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="http" product="lighttpd" version="1.4.69" method="probed" conf="10"><cpe>cpe:/a:lighttpd:lighttpd:1.4.69</cpe></service></port>
</ports>
</host>
<runstats><finished time="1796146248" timestr="Tue Dec  1 17:30:48 2026" summary="Nmap done at Tue Dec  1 17:30:48 2026; 2 IP addresses (2 hosts up) scanned in 6.26 seconds" elapsed="6.26" exit="success"/><hosts up="2" down="0" total="2"/>
</runstats>
</nmaprun>
`;

describe('parseNmapXml', () => {
  it('reads every host, port state, service attributes and CPEs', () => {
    const hosts = parseNmapXml(nmapXml);
    expect([...hosts.keys()]).toEqual(['127.69.0.1', '127.69.0.4']);
    expect(hosts.get('127.69.0.1')).toEqual([
      { port: 22, state: 'open', name: 'ssh', product: 'Dropbear sshd', version: '2022.83', extrainfo: 'protocol 2.0', cpe: ['cpe:/a:matt_johnston:dropbear_ssh_server:2022.83', 'cpe:/o:linux:linux_kernel'] },
      { port: 80, state: 'closed', name: 'http', cpe: [] },
    ]);
    expect(hosts.get('127.69.0.4')).toEqual([{ port: 80, state: 'open', name: 'http', product: 'lighttpd', version: '1.4.69', cpe: ['cpe:/a:lighttpd:lighttpd:1.4.69'] }]);
  });

  it('an empty run, a host without ports and garbage give no hosts or empty port lists, never a throw', () => {
    expect(parseNmapXml('<nmaprun></nmaprun>').size).toBe(0);
    expect(parseNmapXml('<nmaprun><host><address addr="127.69.0.9" addrtype="ipv4"/></host></nmaprun>').get('127.69.0.9')).toEqual([]);
    const rng = createRng('nmap-xml-fuzz');
    for (let i = 0; i < 300; i++) {
      const cut = nmapXml.slice(0, rng.int(nmapXml.length));
      const noise = Array.from({ length: rng.int(40) }, () => String.fromCharCode(rng.int(128))).join('');
      let hosts: Map<string, NmapPort[]> | undefined;
      try {
        hosts = parseNmapXml(cut + noise);
      } catch (e) {
        // fast-xml-parser may refuse broken XML with an Error; it must never be anything else.
        expect(e).toBeInstanceOf(Error);
        continue;
      }
      expect(hosts).toBeInstanceOf(Map);
    }
  });
});
