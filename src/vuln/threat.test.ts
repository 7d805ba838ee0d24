import { describe, expect, it } from 'vitest';
import { bestCvss, exploitPublic, levelOf, threatLevel } from './threat.js';
import type { CveRecord } from './types.js';

const rec = (over: Partial<CveRecord> = {}): CveRecord => ({ id: 'CVE-2099-0001', published: null, lastModified: null, description: '', configurations: [], affected: [], cvss: [], references: [], sources: ['nvd'], ...over });
type Facts = Parameters<typeof levelOf>[0];
const base: Facts = { kev: false, ransomware: null, epss: null, cvss: null, exploit: false, devicesAffected: 0 };

describe('levelOf (the documented rule)', () => {
  it.each<[string, Partial<Facts>, string]>([
    ['KEV alone', { kev: true }, 'critical'],
    ['exploit + CVSS 9.8', { exploit: true, cvss: 9.8 }, 'critical'],
    ['EPSS 0.6', { epss: 0.6 }, 'critical'],
    ['CVSS 9.8 without exploit', { cvss: 9.8 }, 'high'],
    ['exploit + CVSS 8.8', { exploit: true, cvss: 8.8 }, 'high'],
    ['EPSS 0.2', { epss: 0.2 }, 'high'],
    ['CVSS 7.5', { cvss: 7.5 }, 'medium'],
    ['exploit, no score', { exploit: true }, 'medium'],
    ['CVSS 5.0', { cvss: 5 }, 'low'],
    ['nothing known', {}, 'info'],
    ['ransomware raises high to critical', { cvss: 9.8, ransomware: true }, 'critical'],
    ['prevalence raises low to medium', { cvss: 5, devicesAffected: 100 }, 'medium'],
    ['critical stays critical', { kev: true, ransomware: true, devicesAffected: 1000 }, 'critical'],
  ])('%s → %s', (_n, f, want) => {
    expect(levelOf({ ...base, ...f })).toBe(want);
  });
});

describe('threatLevel', () => {
  it('prefers CVSS v4.0, then 3.1 over 3.0 and 2.0, highest score of that version', () => {
    const r = rec({
      cvss: [
        { version: '2.0', score: 10, vector: 'AV:N', source: 'nvd' },
        { version: '3.1', score: 7.5, vector: 'CVSS:3.1/a', source: 'nvd' },
        { version: '3.1', score: 9.8, vector: 'CVSS:3.1/b', source: 'cna' },
        { version: '3.0', score: 9.9, vector: 'CVSS:3.0/c', source: 'nvd' },
      ],
    });
    expect(bestCvss(r)).toEqual({ version: '3.1', score: 9.8, vector: 'CVSS:3.1/b' });
    expect(bestCvss(rec({ cvss: [...r.cvss, { version: '4.0', score: 8.7, vector: 'CVSS:4.0/x', source: 'cna' }] }))?.version).toBe('4.0');
    expect(bestCvss(rec())).toBeNull();
  });
  it('takes exploit from KEV or an "Exploit" reference tag, and unknown facts as null', () => {
    expect(exploitPublic(rec({ references: [{ url: 'u', tags: ['Exploit', 'VDB Entry'] }] }), undefined)).toBe(true);
    expect(exploitPublic(rec({ references: [{ url: 'u', tags: ['Patch'] }] }), undefined)).toBe(false);
    const t = threatLevel(rec(), {});
    expect(t).toEqual({ level: 'info', kev: false, kevDateAdded: null, ransomware: null, epss: null, epssPercentile: null, epssDate: null, cvss: null, exploitPublic: false, devicesAffected: 0 });
    const k = threatLevel(rec(), { kev: { cve: 'CVE-2099-0001', dateAdded: '2023-05-01', ransomware: 'Known', vendor: '', product: '', dueDate: null }, epss: { cve: 'CVE-2099-0001', epss: 0.2, percentile: 0.9, date: '2026-09-29' }, devicesAffected: 3 });
    expect(k).toMatchObject({ level: 'critical', kev: true, ransomware: true, exploitPublic: true, epss: 0.2, epssDate: '2026-09-29', devicesAffected: 3 });
  });
});
