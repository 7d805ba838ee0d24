import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { loadVulnFiles } from './import/load.js';
import { buildIndex, matchCpes, type VulnIndex } from './match.js';
import type { CveRecord } from './types.js';

const shared = '/work/shared/data';
const haveShared = existsSync(`${shared}/nvd/CVE-2023-1389.json`);

function rec(id: string, over: Partial<CveRecord>): CveRecord {
  return { id, published: null, lastModified: null, description: '', configurations: [], affected: [], cvss: [], references: [], sources: ['test'], ...over };
}
const fwHw = (fw: string, hw: string, bounds: Record<string, string>, fwVersion = '*'): CveRecord['configurations'][number] => ({
  operator: 'AND',
  negate: false,
  nodes: [
    { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: `cpe:2.3:o:acme:${fw}:${fwVersion}:*:*:*:*:*:*:*`, ...bounds }] },
    { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: false, criteria: `cpe:2.3:h:acme:${hw}:-:*:*:*:*:*:*:*` }] },
  ],
});
const hw = (m: string): string => `cpe:2.3:h:acme:${m}:-:*:*:*:*:*:*:*`;
const fw = (m: string, v: string): string => `cpe:2.3:o:acme:${m}_firmware:${v}:*:*:*:*:*:*:*`;
const one = (idx: VulnIndex, cpes: string[]) => {
  const r = matchCpes(idx, cpes);
  expect(r).toHaveLength(1);
  return r[0]!;
};

describe('NVD configurations', () => {
  const idx = buildIndex([
    rec('CVE-2000-0001', { configurations: [fwHw('r1_firmware', 'r1', { versionStartIncluding: '1.0', versionEndExcluding: '1.1.4' })] }),
    rec('CVE-2000-0002', { configurations: [fwHw('r2_firmware', 'r2', { versionEndIncluding: '2.0' })] }),
  ]);
  it('firmware in range on the right hardware is affected, naming node and bound', () => {
    const v = one(idx, [hw('r1'), fw('r1', '1.1.3')]);
    expect(v.status).toBe('affected');
    expect(v.reason).toContain('configuration 0');
    expect(v.reason).toContain('< 1.1.4 (versionEndExcluding)');
    expect(v.cpe).toContain(fw('r1', '1.1.3'));
  });
  it('fixed firmware and firmware below the start are not affected', () => {
    expect(one(idx, [hw('r1'), fw('r1', '1.1.4')]).status).toBe('not-affected');
    expect(one(idx, [hw('r1'), fw('r1', '0.9')]).reason).toContain('>= 1.0');
    expect(one(idx, [hw('r1'), fw('r1', '0.9')]).status).toBe('not-affected');
  });
  it('the firmware applies only with its hardware', () => {
    expect(one(idx, [hw('r9'), fw('r1', '1.1.3')]).status).toBe('not-affected');
    const noHw = one(idx, [fw('r1', '1.1.3')]);
    expect(noHw.status).toBe('unknown');
    expect(noHw.reason).toContain('no hardware CPE identified');
  });
  it('unorderable, missing and NA versions give unknown', () => {
    expect(one(idx, [hw('r1'), fw('r1', 'V100R001C00SPC200')]).status).toBe('unknown');
    expect(one(idx, [hw('r1'), fw('r1', '*')]).status).toBe('unknown');
    expect(one(idx, [hw('r1')]).status).toBe('unknown');
  });
  it('negate and AND/OR follow Kleene logic; vulnerable:false alone never makes it affected', () => {
    const idx2 = buildIndex([
      rec('CVE-2000-0003', {
        configurations: [
          {
            operator: 'AND',
            negate: false,
            nodes: [
              { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:a:acme:web:*:*:*:*:*:*:*:*' }] },
              { operator: 'OR', negate: true, cpeMatch: [{ vulnerable: false, criteria: 'cpe:2.3:o:acme:safe_os:*:*:*:*:*:*:*:*' }] },
            ],
          },
        ],
      }),
      rec('CVE-2000-0004', { configurations: [{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: false, criteria: 'cpe:2.3:a:acme:lib:*:*:*:*:*:*:*:*' }] }] }] }),
    ]);
    // The OS is not identified: "not on safe_os" cannot be told.
    expect(one(idx2, ['cpe:2.3:a:acme:web:1.0']).status).toBe('unknown');
    expect(one(idx2, ['cpe:2.3:a:acme:web:1.0', 'cpe:2.3:o:acme:other_os:2']).status).toBe('affected');
    expect(one(idx2, ['cpe:2.3:a:acme:web:1.0', 'cpe:2.3:o:acme:safe_os:2']).status).toBe('not-affected');
    expect(one(idx2, ['cpe:2.3:a:acme:lib:1.0']).status).toBe('not-affected');
  });
  it('only candidate CVEs are considered, and garbage device CPEs are ignored', () => {
    expect(matchCpes(idx, ['cpe:2.3:h:other:thing:-'])).toEqual([]);
    expect(matchCpes(idx, ['not a cpe', 'cpe:2.3:o:acme:r2_firmware:1.9', hw('r2')]).map((v) => [v.cve, v.status])).toEqual([['CVE-2000-0002', 'affected']]);
  });
});

describe('CVE JSON 5 affected products', () => {
  const idx = buildIndex([
    rec('CVE-2001-0001', {
      affected: [{ from: 'cna', vendor: 'ACME Co., Ltd.', product: 'Router X', cpes: [], defaultStatus: 'unaffected', versions: [{ version: 'All versions prior to version 1.14 Build 20230219', status: 'affected' }] }],
    }),
    rec('CVE-2001-0002', {
      affected: [{ from: 'CISA-ADP', vendor: 'acme', product: 'cam', cpes: ['cpe:2.3:o:acme:cam_firmware:*:*:*:*:*:*:*:*'], defaultStatus: 'unknown', versions: [{ version: '0', lessThan: '5.5.800', status: 'affected', versionType: 'custom' }] }],
    }),
    rec('CVE-2001-0003', { affected: [{ from: 'cna', vendor: 'acme', product: 'nas', cpes: [], defaultStatus: 'unknown', versions: [{ version: 'customized versions', status: 'affected' }] }] }),
  ]);
  it('matches normalised vendor/product names and the given cpes with version ranges', () => {
    expect(one(idx, ['cpe:2.3:h:acme:router_x:-', 'cpe:2.3:o:acme:router_x_firmware:1.13']).status).toBe('affected');
    expect(one(idx, ['cpe:2.3:h:acme:router_x:-', 'cpe:2.3:o:acme:router_x_firmware:1.15']).status).toBe('not-affected');
    expect(one(idx, ['cpe:2.3:o:acme:cam_firmware:5.5.0']).status).toBe('affected');
    // Outside the range, defaultStatus "unknown" decides.
    expect(one(idx, ['cpe:2.3:o:acme:cam_firmware:5.5.800']).status).toBe('unknown');
    expect(one(idx, ['cpe:2.3:o:acme:cam_firmware:5.5.800']).reason).toContain('defaultStatus unknown');
  });
  it('free text without a pattern is unknown', () => {
    const v = one(idx, ['cpe:2.3:o:acme:nas_firmware:1.0']);
    expect(v.status).toBe('unknown');
    expect(v.reason).toContain('free text');
  });
});

describe.skipIf(!haveShared)('the shared NVD records', async () => {
  const data = haveShared ? await loadVulnFiles([`${shared}/nvd`, `${shared}/cve5`]) : undefined;
  const idx = buildIndex(data?.records.values() ?? []);
  const dev = (vendor: string, model: string, version: string, rev = '-') => [`cpe:2.3:h:${vendor}:${model}:${rev}:*:*:*:*:*:*:*`, `cpe:2.3:o:${vendor}:${model}_firmware:${version.replace(/ /g, '\\ ')}:*:*:*:*:*:*:*`];
  const status = (cve: string, cpes: string[]) => matchCpes(idx, cpes).find((v) => v.cve === cve)?.status;
  it.each<[string, string[], string[]]>([
    ['CVE-2023-1389', dev('tp-link', 'archer_ax21', '1.1.3 Build 20221115'), dev('tp-link', 'archer_ax21', '1.1.4 Build 20230219')],
    ['CVE-2014-8361', dev('dlink', 'dir-605l', '1.14b05', 'a1'), dev('dlink', 'dir-605l', '1.15', 'a1')],
    ['CVE-2020-10987', dev('tenda', 'ac15', '15.03.05.19'), dev('tenda', 'ac15', '15.03.05.20')],
    ['CVE-2020-25078', dev('dlink', 'dcs-2530l', '1.05.05'), dev('dlink', 'dcs-2530l', '1.06.01')],
    ['CVE-2021-33044', dev('dahuasecurity', 'ipc-hx3xxx', 'V2.800.0000000.25.R'), dev('dahuasecurity', 'ipc-hx3xxx', '2.800.0000000.29.r.210630')],
    ['CVE-2021-35394', ['cpe:2.3:a:realtek:rtl819x_jungle_software_development_kit:3.4.11'], ['cpe:2.3:a:realtek:rtl819x_jungle_software_development_kit:3.4.15']],
  ])('%s: vulnerable firmware affected, fixed not', (cve, bad, good) => {
    expect(status(cve, bad)).toBe('affected');
    expect(status(cve, good)).toBe('not-affected');
  });
  it('DrayTek beta builds and the NA firmware of Hikvision and Huawei', () => {
    expect(status('CVE-2020-8515', ['cpe:2.3:h:draytek:vigor2960:-', 'cpe:2.3:o:draytek:vigor2960_firmware:1.3.1:beta'])).toBe('affected');
    expect(status('CVE-2020-8515', ['cpe:2.3:h:draytek:vigor2960:-', 'cpe:2.3:o:draytek:vigor2960_firmware:1.5.1'])).toBe('not-affected');
    const hik = ['cpe:2.3:h:hikvision:ds-2cd2026g2-iu\\/sl:-', 'cpe:2.3:o:hikvision:ds-2cd2026g2-iu\\/sl_firmware:-'];
    expect(status('CVE-2021-36260', hik)).toBe('affected');
    expect(status('CVE-2021-36260', [hik[0]!, 'cpe:2.3:o:hikvision:ds-2cd2026g2-iu\\/sl_firmware:5.5.800'])).toBe('unknown');
    expect(status('CVE-2017-17215', dev('huawei', 'hg532', 'V100R001C00SPC200'))).toBe('unknown');
  });
  it('fuzz: random device CPEs near the real ones never throw', () => {
    const rng = createRng('match-fuzz');
    const names = [...idx.byKey.keys()];
    const versions = ['1.0', '*', '-', '1.1.4 Build 20230219', 'V100R001C00SPC200', '\\?\\?', '2.800.0000000.1.r', '3.4.14b', ''];
    for (let n = 0; n < 2000; n++) {
      const cpes: string[] = [];
      for (let m = rng.int(4); m >= 0; m--) {
        const [p, v, pr] = rng.pick(names).split(':');
        cpes.push(`cpe:2.3:${p === '*' ? rng.pick(['o', 'h', 'a']) : p}:${v}:${pr}:${rng.pick(versions).replace(/ /g, '\\ ')}:${rng.pick(['*', 'beta', '-'])}`);
      }
      for (const v of matchCpes(idx, cpes)) expect(['affected', 'not-affected', 'unknown']).toContain(v.status);
    }
  });
});
