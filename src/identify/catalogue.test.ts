import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { loadProfiles } from '../lab/profiles.js';
import { compileCatalogue, loadCatalogue } from './catalogue.js';

const catalogue = loadCatalogue();

describe('device-model catalogue', () => {
  it('has every lab profile model with a real maker, under the profile type', () => {
    for (const p of loadProfiles()) {
      if (p.vendor.startsWith('(') || p.vendor === 'Generic') continue;
      const entry = catalogue.lookup(p.vendor, p.model);
      expect(entry, `${p.vendor} ${p.model}`).not.toBeNull();
      expect(entry?.type).toBe(p.type);
    }
  });

  it('finds a model under its other spellings and a maker under its other names', () => {
    expect(catalogue.lookup('nec', 'WG2600HP')?.model).toBe('Aterm WG2600HP');
    expect(catalogue.lookup('TP-Link Technologies Co., Ltd.', 'td-w8960n')?.model).toBe('TD-W8960N');
    expect(catalogue.lookup('Hangzhou Hikvision Digital Technology', 'DS-2CD2032-I')?.vendor).toBe('Hikvision');
    expect(catalogue.lookup('NEC', 'WG9999')).toBeNull();
    expect(catalogue.lookup(null, 'WG2600HP')).toBeNull();
  });

  it('holds Japanese models for the statistics by release year', () => {
    const jp = catalogue.entries.filter((e) => ['NEC', 'Buffalo', 'I-O DATA', 'Yamaha', 'Panasonic', 'Sony'].includes(e.vendor));
    expect(jp.length).toBeGreaterThanOrEqual(15);
    expect(catalogue.lookup('Yamaha', 'RTX1200')?.releaseYear).toBe(2007);
  });

  const entry = { vendor: 'X', model: 'M1', type: 'router', releaseYear: 2010, endOfLife: null, supportUrl: null, manual: null, reference: ['https://example.com'] };
  it.each([
    [{ ...entry, type: 'toaster' }, /entry "M1": type/],
    [{ ...entry, endOfLife: '2020-13-01' }, /entry "M1": endOfLife/],
    [{ ...entry, releaseYear: 'old' }, /entry "M1": releaseYear/],
    [{ ...entry, reference: [] }, /entry "M1": reference/],
    [{ ...entry, colour: 'red' }, /entry "M1"/],
  ])('refuses %j naming the file and entry', (bad, message) => {
    try {
      compileCatalogue([{ file: 'c.yaml', data: { entries: [bad] } }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IotcleanError);
      expect((e as IotcleanError).code).toBe('E_CATALOGUE_FILE');
      expect((e as IotcleanError).where.file).toBe('c.yaml');
      expect((e as IotcleanError).message).toMatch(message);
    }
  });

  it('refuses one spelling naming two models', () => {
    expect(() => compileCatalogue([{ file: 'c.yaml', data: { entries: [entry, { ...entry, model: 'M2', aliases: ['M-1'] }] } }])).toThrow(/also names X M1/);
  });
});
