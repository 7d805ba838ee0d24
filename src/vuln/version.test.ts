import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { compareVersions, parseVersion, readFreeTextVersion } from './version.js';

describe('compareVersions', () => {
  it.each<[string, string, -1 | 0 | 1 | undefined]>([
    // dotted releases
    ['1.1.3', '1.1.4', -1],
    ['1.1.4', '1.1.4.0', 0],
    ['15.03.05.19', '15.3.5.19', 0],
    ['15.03.05.19', '15.03.05.20', -1],
    ['v15.03.05.19', '15.03.05.19', 0],
    ['1.15', '1.14b06', 1],
    ['2.05b01', '1.15', 1],
    // builds: compared only when both have one
    ['1.1.4 Build 20230219', '1.1.4', 0],
    ['1.1.4 Build 20230219', '1.1.4 Build 20221115', 1],
    ['1.1.3 Build 20221115', '1.1.4', -1],
    ['1.1.4 Build 20230219 rel.12345', '1.1.4', undefined],
    // Dahua
    ['V2.800.0000000.25.R', '2.800.0000000.29.r.210630', -1],
    ['2.630.0000000.10.r.210701', '2.820.0000000.5.r.210705', -1],
    ['2.820.0000000.5.R.210705', '2.820.0000000.5.r.210705', 0],
    ['2.820.0000000.5.r.210801', '2.820.0000000.5.r.210705', 1],
    // no build date against a dated bound: before or after it, nobody can say
    ['2.820.0000000.5.R', '2.820.0000000.5.r.210705', undefined],
    // NTP-style patches
    ['4.2.8p18', '4.2.8p3', 1],
    ['4.2.8p18', '4.2.8', 1],
    ['4.2.8p18', '4.2.9', -1],
    // lone letters (OpenSSL / Realtek style)
    ['3.4.14b', '3.4.14', 1],
    ['3.4.14b', '3.4.14a', 1],
    ['3.4.14', '3.4.14b', -1],
    ['3.4.11', '3.4.14b', -1],
    // D-Link "b01": beta or build? same words are ordered, against none it is ambiguous
    ['1.15b01', '1.15b03', -1],
    ['1.14b05', '1.14b06', -1],
    ['1.15b01', '1.15', undefined],
    // pre-releases
    ['1.0beta2', '1.0', -1],
    ['1.0rc1', '1.0rc2', -1],
    ['1.0rc1', '1.0p1', -1],
    ['1.3.1', '1.3.1', 0],
    // Huawei VRP
    ['V100R001C00SPC200', 'V100R001C00SPC100', 1],
    ['V100R001C00', 'V100R001C00SPC100', -1],
    ['V100R001C01', 'V100R001C00SPC200', 1],
    ['V100R002C00', 'V100R001C99SPC999', 1],
    // cannot be ordered
    ['V100R001C00SPC200', '1.0.0', undefined],
    ['20230219', '1.1.4', undefined],
    ['customized versions', '1.0', undefined],
    ['', '1.0', undefined],
    ['1.0-3', '1.0', undefined],
    ['1.0.x', '1.0', undefined],
  ])('%s vs %s → %s', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want);
    // antisymmetric
    const back = compareVersions(b, a);
    expect(back).toBe(want === undefined ? undefined : ((-want || 0) as -1 | 0 | 1));
  });
  it('names the scheme it read', () => {
    expect(parseVersion('V100R001C00SPC200')).toEqual({ scheme: 'vrp', fields: [100, 1, 0, 200, 0, 0] });
    expect(parseVersion('1.1.4 Build 20230219')).toEqual({ scheme: 'dotted', release: [1, 1, 4], qualifier: [], build: 20230219 });
    expect(parseVersion('2.630.0000000.10.r.210701')).toEqual({ scheme: 'dotted', release: [2, 630, 0, 10], qualifier: [], build: 210701, dated: true });
  });
  it('fuzz: random strings never throw, and the order is consistent', () => {
    const rng = createRng('version-fuzz');
    const parts = ['1', '0', '15', '.', '.', 'b', 'p', 'rc', 'V', 'R', 'C', 'SPC', ' Build ', '20230219', '-', '_', '\u0000', 'x', '('];
    for (let n = 0; n < 4000; n++) {
      let a = '';
      let b = '';
      for (let m = rng.int(10); m > 0; m--) a += rng.pick(parts);
      for (let m = rng.int(10); m > 0; m--) b += rng.pick(parts);
      const r = compareVersions(a, b);
      expect([undefined, -1, 0, 1]).toContain(r);
      const back = compareVersions(b, a);
      expect(back).toBe(r === undefined ? undefined : ((-r || 0) as -1 | 0 | 1));
    }
    expect(compareVersions('1.'.repeat(5000), '1')).toBeUndefined();
  });
});

describe('a build stamp on one side only', () => {
  it('refines a plain release, but after a qualifier it cannot be ordered', () => {
    expect(compareVersions('1.1.4 Build 20230219', '1.1.4')).toBe(0);
    expect(compareVersions('V2.800.0000000.29.R', '2.800.0000000.29.r.210630')).toBeUndefined();
    expect(compareVersions('2.800.0000000.29.r.210701', '2.800.0000000.29.r.210630')).toBe(1);
  });
});

describe('readFreeTextVersion', () => {
  it('reads free text with a clear pattern', () => {
    expect(readFreeTextVersion('All versions prior to version 1.14 Build 20230219')).toEqual({ kind: 'range', from: null, lessThan: '1.14 build 20230219' });
    expect(readFreeTextVersion('1.2.3 and earlier')).toEqual({ kind: 'range', from: null, lessThanOrEqual: '1.2.3' });
    expect(readFreeTextVersion('before 2.0')).toEqual({ kind: 'range', from: null, lessThan: '2.0' });
    expect(readFreeTextVersion('customized versions')).toBeUndefined();
    expect(readFreeTextVersion('n/a')).toBeUndefined();
    expect(readFreeTextVersion('3.1.4')).toEqual({ kind: 'exact', version: '3.1.4' });
  });
});
