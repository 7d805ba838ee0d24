/**
 * The indexed matcher (candidates by key, configuration masks, status memo, reasons built when
 * read) must say what a naive full scan says: every CVE judged against every device, reading every
 * configuration. Corpus and devices come from bench/vuln.ts's generator, on a few vendors so that
 * devices meet many CVEs, plus hand-made records for the paths the generator does not take.
 */
import { describe, expect, it } from 'vitest';
import { makeCve, makeDevice, makeModels } from '../../bench/vuln.js';
import { createRng } from '../core/rng.js';
import { buildIndex, deviceCpes, judge, judgeStatus, matchCpes, matchEach, type VulnIndex } from './match.js';
import type { Configuration, CveRecord } from './types.js';

function rec(id: string, over: Partial<CveRecord>): CveRecord {
  return { id, published: null, lastModified: null, description: '', configurations: [], affected: [], cvss: [], references: [], sources: ['test'], ...over };
}
const fwHw = (vendor: string, model: string, bound: string): Configuration => ({
  operator: 'AND',
  negate: false,
  nodes: [
    { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: `cpe:2.3:o:${vendor}:${model}_firmware:*:*:*:*:*:*:*:*`, versionEndExcluding: bound }] },
    { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: false, criteria: `cpe:2.3:h:${vendor}:${model}:-:*:*:*:*:*:*:*` }] },
  ],
});

/** Records the generator does not make: wildcard names, more than 31 configurations, CVE 5 products, a negated node, a short name. */
function handMade(): CveRecord[] {
  return [
    rec('CVE-2099-0001', { configurations: [{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:o:vendor0:model-*:*:*:*:*:*:*:*:*', versionEndIncluding: '2.5' }] }] }] }),
    rec('CVE-2099-0002', { configurations: Array.from({ length: 40 }, (_, i) => fwHw('vendor1', `model-${i}`, '2.0')) }),
    rec('CVE-2099-0003', {
      affected: [{ from: 'cna', vendor: 'vendor2', product: 'model-0', cpes: [], defaultStatus: 'unaffected', versions: [{ version: '0', lessThan: '2.1', status: 'affected' }] }],
    }),
    rec('CVE-2099-0004', {
      configurations: [
        {
          operator: 'AND',
          negate: false,
          nodes: [
            { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:o:vendor0:model-0_firmware:*:*:*:*:*:*:*:*' }] },
            { operator: 'OR', negate: true, cpeMatch: [{ vulnerable: false, criteria: 'cpe:2.3:h:vendor0:model-0:b1:*:*:*:*:*:*:*' }] },
          ],
        },
      ],
    }),
    rec('CVE-2099-0005', { configurations: [{ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: 'cpe:2.3:o:vendor1' }] }] }] }),
  ];
}

function corpus(seed: string): { index: VulnIndex; lazy: VulnIndex; devices: string[][] } {
  const rng = createRng(seed);
  const vendors = makeModels(rng).slice(0, 4);
  const cves = [...Array.from({ length: 1500 }, (_, i) => makeCve(rng, i, vendors)), ...handMade()];
  const devices = Array.from({ length: 250 }, () => makeDevice(rng, vendors));
  // Devices the generator does not make: a wildcard name, one the same as an earlier (the memo).
  devices.push(['cpe:2.3:o:vendor0:*:1.0:*:*:*:*:*:*:*', 'cpe:2.3:h:vendor0:model-0:-:*:*:*:*:*:*:*'], devices[0]!, devices[1]!, ['not a cpe']);
  return { index: buildIndex(cves, { eager: true }), lazy: buildIndex(cves), devices };
}

describe('indexed matching equals the naive full scan', () => {
  const { index, lazy, devices } = corpus('index-vs-naive');

  it('gives every device the same status per CVE, and only leaves out CVEs that do not apply', () => {
    const tally = { affected: 0, 'not-affected': 0, unknown: 0 };
    for (const cpes of devices) {
      const device = deviceCpes(cpes);
      const naive = new Map<string, string>();
      for (let at = 0; at < index.records.length; at++) naive.set(index.records[at]!.id, judgeStatus(index, at, device));
      const indexed = new Map(matchCpes(index, cpes).map((v) => [v.cve, v.status] as const));
      // The lazily compiled index answers the same.
      expect(new Map(matchCpes(lazy, cpes).map((v) => [v.cve, v.status] as const)), cpes.join(' ')).toEqual(indexed);
      for (const [cve, status] of indexed) {
        expect(status, `${cve} for ${cpes.join(' ')}`).toBe(naive.get(cve));
        tally[status]++;
      }
      for (const [cve, status] of naive) if (status !== 'not-affected') expect(indexed.get(cve), `${cve} (${status}) missed for ${cpes.join(' ')}`).toBe(status);
    }
    // Enough of each for the comparison to mean something.
    expect(tally.affected).toBeGreaterThan(100);
    expect(tally.unknown).toBeGreaterThan(20);
    expect(tally['not-affected']).toBeGreaterThan(100);
  });

  it('builds the same reason and CPE list as judging the CVE on its own, reading all configurations', () => {
    const at = new Map(index.records.map((r, i) => [r.id, i] as const));
    let checked = 0;
    for (const cpes of devices.slice(0, 80)) {
      const device = deviceCpes(cpes);
      for (const v of matchCpes(index, cpes)) {
        const full = judge(index, at.get(v.cve)!, device);
        expect({ status: v.status, reason: v.reason, cpe: v.cpe }).toEqual({ status: full.status, reason: full.reason, cpe: full.cpe });
        expect(JSON.parse(JSON.stringify(v))).toMatchObject({ cve: v.cve, status: v.status, reason: full.reason, cpe: full.cpe });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('matchEach, which judges in CPE-list order, gives each device what matchCpes gives it', () => {
    const view = (vs: readonly { cve: string; status: string; reason: string }[]) => vs.map((v) => `${v.cve} ${v.status} ${v.reason}`);
    const fresh = buildIndex(index.records, { eager: true }); // no memo from the other tests
    const batch: (readonly { cve: string; status: string; reason: string }[])[] = [];
    const seen: number[] = [];
    matchEach(fresh, devices, (i, verdicts) => {
      seen.push(i);
      batch[i] = verdicts;
    });
    expect([...seen].sort((a, b) => a - b)).toEqual(devices.map((_, i) => i));
    expect(seen).not.toEqual(devices.map((_, i) => i)); // the order was changed
    devices.forEach((cpes, i) => expect(view(batch[i]!), cpes.join(' ')).toEqual(view(matchCpes(index, cpes))));
    expect(batch.filter((vs) => vs.length > 0).length).toBeGreaterThan(100);
  });

  it('covers the hand-made paths: a wildcard product, 40 configurations, a CVE 5 product, a short name', () => {
    const status = (cve: string, cpes: string[]): string | undefined => matchCpes(index, cpes).find((v) => v.cve === cve)?.status;
    expect(status('CVE-2099-0001', ['cpe:2.3:o:vendor0:model-7_firmware:2.4:*:*:*:*:*:*:*'])).toBe('affected');
    expect(status('CVE-2099-0001', ['cpe:2.3:o:vendor0:model-7_firmware:2.6:*:*:*:*:*:*:*'])).toBe('not-affected');
    const last = ['cpe:2.3:h:vendor1:model-39:-:*:*:*:*:*:*:*', 'cpe:2.3:o:vendor1:model-39_firmware:1.9:*:*:*:*:*:*:*'];
    expect(status('CVE-2099-0002', last)).toBe('affected');
    expect(matchCpes(index, last).find((v) => v.cve === 'CVE-2099-0002')?.reason).toContain('NVD configuration 39');
    expect(status('CVE-2099-0003', ['cpe:2.3:o:vendor2:model-0_firmware:2.0:*:*:*:*:*:*:*'])).toBe('affected');
    expect(status('CVE-2099-0004', ['cpe:2.3:o:vendor0:model-0_firmware:1.0:*:*:*:*:*:*:*', 'cpe:2.3:h:vendor0:model-0:a1:*:*:*:*:*:*:*'])).toBe('affected');
    expect(status('CVE-2099-0004', ['cpe:2.3:o:vendor0:model-0_firmware:1.0:*:*:*:*:*:*:*', 'cpe:2.3:h:vendor0:model-0:b1:*:*:*:*:*:*:*'])).toBe('not-affected');
    expect(status('CVE-2099-0005', ['cpe:2.3:o:vendor1:model-3_firmware:1.0:*:*:*:*:*:*:*'])).toBe('affected');
  });
});
