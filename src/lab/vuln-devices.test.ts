/**
 * The issue-8 devices (firmware vulnerabilities): the truth covers every CVE of the survey's NVD
 * data with an affected and a fixed firmware of one model, and a real in-process lab, grabbed by
 * the real grab runner and identified by the real identifier, names each device's model, firmware
 * and the CPE 2.3 names NVD uses for it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Observation } from '../core/records.js';
import { grabEndpoint } from '../grab/runner.js';
import { identifyObservations, loadIdentifier } from '../identify/index.js';
import type { ServiceName } from '../pipeline/services.js';
import { compileScope, defaultScope } from '../scope/index.js';
import { exposureFindings, loadExposurePlan } from '../vuln/exposure.js';
import { loadProfiles } from './profiles.js';
import { startLabInProcess, type LabHandle } from './runtime.js';
import type { DeviceProfile, LabDevice } from './types.js';

/** The CVEs of ../shared/data/nvd (read from there when present, so a new record is noticed). */
const knownCves = ['CVE-2014-8361', 'CVE-2017-17215', 'CVE-2020-10987', 'CVE-2020-25078', 'CVE-2020-8515', 'CVE-2021-33044', 'CVE-2021-35394', 'CVE-2021-36260', 'CVE-2023-1389'];
const nvdDir = '/work/shared/data/nvd';
const surveyCves = existsSync(nvdDir)
  ? readdirSync(nvdDir)
      .filter((f) => /^CVE-\d{4}-\d+\.json$/.test(f))
      .map((f) => f.replace(/\.json$/, ''))
      .sort()
  : knownCves;

const profiles = loadProfiles();
const withTruth = profiles.filter((p) => p.vulnerabilities !== undefined);

describe('vulnerability truth of the lab profiles', () => {
  it('covers every CVE with an affected and a not-affected device of the same model', () => {
    for (const cve of surveyCves) {
      const of = (status: string): DeviceProfile[] => withTruth.filter((p) => p.vulnerabilities?.[cve] === status);
      const affected = of('affected');
      const fixed = of('not-affected');
      expect(affected.length, `${cve}: affected device`).toBeGreaterThan(0);
      expect(fixed.length, `${cve}: fixed device`).toBeGreaterThan(0);
      const models = new Set(affected.map((p) => `${p.vendor}|${p.model}`));
      expect(fixed.some((p) => models.has(`${p.vendor}|${p.model}`)), `${cve}: a fixed firmware of an affected model`).toBe(true);
      for (const a of affected) for (const f of fixed.filter((x) => x.model === a.model)) expect(f.firmware, cve).not.toBe(a.firmware);
    }
  });

  it('has one device whose firmware cannot be ordered against its CVE, and some without weak credentials', () => {
    expect(withTruth.filter((p) => Object.values(p.vulnerabilities ?? {}).includes('unknown')).length).toBeGreaterThan(0);
    expect(withTruth.some((p) => p.weakCredentials.length === 0)).toBe(true);
    expect(withTruth.some((p) => p.weakCredentials.length > 0)).toBe(true);
  });
});

/** What identification must say of each device: model, firmware and NVD's CPE names. */
const expected: Readonly<Record<string, { readonly product: string | null; readonly version: string; readonly cpe: readonly string[] }>> = {
  'dlink-dir-605l-fw206': { product: 'DIR-605L', version: '2.06', cpe: ['cpe:2.3:h:dlink:dir-605l:b1:*:*:*:*:*:*:*', 'cpe:2.3:o:dlink:dir-605l_firmware:2.06:*:*:*:*:*:*:*'] },
  'dlink-dir-605l-fw213': { product: 'DIR-605L', version: '2.13', cpe: ['cpe:2.3:h:dlink:dir-605l:b1:*:*:*:*:*:*:*', 'cpe:2.3:o:dlink:dir-605l_firmware:2.13:*:*:*:*:*:*:*'] },
  'huawei-hg532-customised': { product: 'HG532', version: 'V100R001C01B016', cpe: ['cpe:2.3:h:huawei:hg532:-:*:*:*:*:*:*:*', 'cpe:2.3:o:huawei:hg532_firmware:v100r001c01b016:*:*:*:*:*:*:*'] },
  'huawei-hg532-fixed': { product: 'HG532', version: 'V100R001C01B020SPC300', cpe: ['cpe:2.3:h:huawei:hg532:-:*:*:*:*:*:*:*', 'cpe:2.3:o:huawei:hg532_firmware:v100r001c01b020spc300:*:*:*:*:*:*:*'] },
  'tenda-ac15-v15-03-05-19': { product: 'AC15', version: 'V15.03.05.19_multi', cpe: ['cpe:2.3:h:tenda:ac15:-:*:*:*:*:*:*:*', 'cpe:2.3:o:tenda:ac15_firmware:15.03.05.19:*:*:*:*:*:*:*'] },
  'tenda-ac15-v15-03-05-20': { product: 'AC15', version: 'V15.03.05.20_multi', cpe: ['cpe:2.3:h:tenda:ac15:-:*:*:*:*:*:*:*', 'cpe:2.3:o:tenda:ac15_firmware:15.03.05.20:*:*:*:*:*:*:*'] },
  'dlink-dcs-2530l-fw10505': { product: 'DCS-2530L', version: '1.05.05', cpe: ['cpe:2.3:h:dlink:dcs-2530l:-:*:*:*:*:*:*:*', 'cpe:2.3:o:dlink:dcs-2530l_firmware:1.05.05:*:*:*:*:*:*:*'] },
  'dlink-dcs-2530l-fw10601': { product: 'DCS-2530L', version: '1.06.01', cpe: ['cpe:2.3:h:dlink:dcs-2530l:-:*:*:*:*:*:*:*', 'cpe:2.3:o:dlink:dcs-2530l_firmware:1.06.01:*:*:*:*:*:*:*'] },
  'draytek-vigor2960-fw131-beta': { product: 'Vigor2960', version: '1.3.1_Beta', cpe: ['cpe:2.3:h:draytek:vigor2960:-:*:*:*:*:*:*:*', 'cpe:2.3:o:draytek:vigor2960_firmware:1.3.1:beta:*:*:*:*:*:*'] },
  'draytek-vigor2960-fw151': { product: 'Vigor2960', version: '1.5.1', cpe: ['cpe:2.3:h:draytek:vigor2960:-:*:*:*:*:*:*:*', 'cpe:2.3:o:draytek:vigor2960_firmware:1.5.1:*:*:*:*:*:*:*'] },
  'dahua-ipc-hdw3441t-2021-01': { product: 'IPC-HDW3441T-ZS', version: '2.800.0000000.16.R.210107', cpe: ['cpe:2.3:h:dahuasecurity:ipc-hx3xxx:-:*:*:*:*:*:*:*', 'cpe:2.3:o:dahuasecurity:ipc-hx3xxx_firmware:2.800.0000000.16.r.210107:*:*:*:*:*:*:*'] },
  'dahua-ipc-hdw3441t-2021-07': { product: 'IPC-HDW3441T-ZS', version: '2.800.0000000.30.R.210728', cpe: ['cpe:2.3:h:dahuasecurity:ipc-hx3xxx:-:*:*:*:*:*:*:*', 'cpe:2.3:o:dahuasecurity:ipc-hx3xxx_firmware:2.800.0000000.30.r.210728:*:*:*:*:*:*:*'] },
  'dahua-ipc-hdw3441t-undated': { product: 'IPC-HDW3441T-ZS', version: '2.800.0000000.29.R', cpe: ['cpe:2.3:h:dahuasecurity:ipc-hx3xxx:-:*:*:*:*:*:*:*', 'cpe:2.3:o:dahuasecurity:ipc-hx3xxx_firmware:2.800.0000000.29.r:*:*:*:*:*:*:*'] },
  'hikvision-ds-2cd2046g2-v5553': { product: 'DS-2CD2046G2-IU/SL', version: 'V5.5.53 build 200605', cpe: ['cpe:2.3:h:hikvision:ds-2cd2046g2-iu\\/sl:-:*:*:*:*:*:*:*', 'cpe:2.3:o:hikvision:ds-2cd2046g2-iu\\/sl_firmware:5.5.53_build_200605:*:*:*:*:*:*:*'] },
  'hikvision-ds-2cd2046g2-v55800': { product: 'DS-2CD2046G2-IU/SL', version: 'V5.5.800 build 210628', cpe: ['cpe:2.3:h:hikvision:ds-2cd2046g2-iu\\/sl:-:*:*:*:*:*:*:*', 'cpe:2.3:o:hikvision:ds-2cd2046g2-iu\\/sl_firmware:5.5.800_build_210628:*:*:*:*:*:*:*'] },
  'tplink-archer-ax21-1-1-3': { product: 'Archer AX21', version: '1.1.3 Build 20221125', cpe: ['cpe:2.3:h:tp-link:archer_ax21:-:*:*:*:*:*:*:*', 'cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.3_build_20221125:*:*:*:*:*:*:*'] },
  'tplink-archer-ax21-1-1-4': { product: 'Archer AX21', version: '1.1.4 Build 20230219', cpe: ['cpe:2.3:h:tp-link:archer_ax21:-:*:*:*:*:*:*:*', 'cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.4_build_20230219:*:*:*:*:*:*:*'] },
  // A white-label router: the SDK is known, the maker is not.
  'realtek-jungle-sdk-3-4-11': { product: null, version: '3.4.11', cpe: ['cpe:2.3:a:realtek:rtl819x_jungle_software_development_kit:3.4.11:*:*:*:*:*:*:*'] },
  'realtek-jungle-sdk-3-4-14c': { product: null, version: '3.4.14c', cpe: ['cpe:2.3:a:realtek:rtl819x_jungle_software_development_kit:3.4.14c:*:*:*:*:*:*:*'] },
};

const prefix = `127.81.${1 + (process.pid % 250)}`;
const exposureProfiles = ['netis-wf2419-open-admin', 'script-title-camera', 'mosquitto-open-broker'];
const devices: LabDevice[] = [...withTruth, ...exposureProfiles.map((id) => profiles.find((p) => p.id === id) as DeviceProfile)].map((profile, i) => ({
  id: `v-${i + 1}`,
  ip: `${prefix}.${i + 1}`,
  ispId: 'test',
  profile,
  weak: false,
  credentials: [{ username: 'admin', password: 'Vlab-Strong-9x#' }],
}));

describe('the issue-8 devices in a running lab, grabbed and identified', () => {
  let lab: LabHandle;
  beforeAll(async () => {
    lab = await startLabInProcess({ plan: { seed: 'vlab', network: `${prefix}.0/24`, weakShare: 0, isps: [], ispRows: [], devices } });
  }, 60_000);
  afterAll(async () => lab?.close());

  it('names each model, its firmware and NVD’s CPE names at host level', { timeout: 180_000 }, async () => {
    const scope = compileScope(defaultScope());
    const { identifier } = loadIdentifier();
    expect(Object.keys(expected).sort()).toEqual(withTruth.map((p) => p.id).sort());
    for (const d of devices.filter((x) => x.profile.vulnerabilities !== undefined)) {
      const observations: Observation[] = [];
      for (const s of d.profile.services) {
        const port = lab.portMap[String(s.port)] ?? s.port;
        observations.push(...(await grabEndpoint({ scope, ip: d.ip, port, service: s.protocol as ServiceName })));
      }
      const host = identifyObservations(identifier, observations).hosts[0];
      const want = expected[d.profile.id];
      expect(host, d.profile.id).toBeDefined();
      expect(want, d.profile.id).toBeDefined();
      expect(host?.type, d.profile.id).toBe(d.profile.type);
      expect(host?.product ?? null, d.profile.id).toBe(want?.product);
      expect(host?.version ?? host?.os?.version ?? null, d.profile.id).toBe(want?.version);
      expect(host?.cpe, d.profile.id).toEqual(want?.cpe);
      if (want?.product) expect(host?.catalogue?.model, d.profile.id).toBe(d.profile.model);
    }
  });

  it('exposure findings from real grabs: the open admin UI, the UPnP and MQTT ports, and no false positive on the script-title camera', { timeout: 120_000 }, async () => {
    const scope = compileScope(defaultScope());
    const { identifier } = loadIdentifier();
    const plan = loadExposurePlan();
    const findings = async (id: string): Promise<string[]> => {
      const d = devices.find((x) => x.profile.id === id) as LabDevice;
      const observations: Observation[] = [];
      for (const s of d.profile.services) {
        const port = lab.portMap[String(s.port)] ?? s.port;
        const service = (s.port === 52869 || s.port === 37215 ? 'upnp' : s.protocol) as ServiceName;
        observations.push(...(await grabEndpoint({ scope, ip: d.ip, port, service })));
      }
      const host = identifyObservations(identifier, observations).hosts[0];
      if (!host) throw new Error(id);
      // Ports as the device has them (the lab may publish a port elsewhere).
      const back = new Map(Object.entries(lab.portMap).map(([real, bound]) => [bound, Number(real)]));
      return exposureFindings(host, observations.map((o) => ({ ...o, port: back.get(o.port) ?? o.port })), plan).map((f) => `${f.kind}:${f.port ?? '-'}`);
    };
    expect(await findings('netis-wf2419-open-admin')).toEqual(['unauthenticated-admin:80']);
    expect(await findings('script-title-camera')).toEqual([]);
    expect(await findings('mosquitto-open-broker')).toEqual(['exposed-service:1883']);
    expect(await findings('dlink-dir-605l-fw206')).toEqual(['exposed-service:52869']);
    expect(await findings('huawei-hg532-customised')).toEqual(['exposed-service:37215']);
    expect(await findings('huawei-hg532-fixed')).toEqual([]);
  });
});
