import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { normaliseCve5 } from './cve5.js';
import { readEpssLine } from './epss.js';
import { jsonArrayItems } from './json-stream.js';
import { loadVulnFiles } from './load.js';
import { detectVulnFile, readVulnFile } from './read.js';

const data = '/work/shared/data';
const have = existsSync(`${data}/nvd/CVE-2023-1389.json`);
const dir = mkdtempSync(join(tmpdir(), 'iotclean-vuln-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function* chunked(text: string, sizes: () => number): AsyncGenerator<Buffer> {
  const buf = Buffer.from(text, 'utf8');
  for (let i = 0; i < buf.length; ) {
    const n = Math.max(1, sizes());
    yield buf.subarray(i, i + n);
    i += n;
  }
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('jsonArrayItems', () => {
  const doc = JSON.stringify({
    resultsPerPage: 3,
    format: 'NVD_CVE',
    other: { vulnerabilities: ['not this one'] },
    note: 'a "vulnerabilities": [ in a string',
    vulnerabilities: [{ cve: { id: 'CVE-2000-0001', d: 'br{ace}s [and] "quotes" \\ 日本語' } }, { cve: { id: 'CVE-2000-0002', n: [1, [2, { x: 3 }]] } }, { cve: { id: 'CVE-2000-0003' } }],
    tail: [{ ignored: true }],
  });
  it('yields exactly the items of the top-level array, however the text is chunked', async () => {
    const rng = createRng('json-stream');
    for (let round = 0; round < 200; round++) {
      const items = await collect(jsonArrayItems(chunked(doc, () => 1 + rng.int(round % 2 ? 7 : 300)), 'vulnerabilities'));
      expect(items.map((i) => (i.ok ? (i.value as { cve: { id: string } }).cve.id : i.why))).toEqual(['CVE-2000-0001', 'CVE-2000-0002', 'CVE-2000-0003']);
    }
    const first = (await collect(jsonArrayItems(chunked(doc, () => 5), 'vulnerabilities')))[0];
    expect(first?.ok && (first.value as { cve: { d: string } }).cve.d).toBe('br{ace}s [and] "quotes" \\ 日本語');
  });
  it('reports a truncated document and never throws on garbage', async () => {
    const cut = await collect(jsonArrayItems(chunked(doc.slice(0, doc.indexOf('CVE-2000-0002') + 20), () => 64), 'vulnerabilities'));
    expect(cut.at(-1)).toMatchObject({ ok: false });
    expect(cut[0]).toMatchObject({ ok: true });
    const rng = createRng('json-stream-fuzz');
    const alphabet = '{}[]",:\\ abc1\u0000"vulnerabilities"';
    for (let n = 0; n < 1000; n++) {
      let s = '{"vulnerabilities":[';
      for (let m = rng.int(80); m > 0; m--) s += alphabet[rng.int(alphabet.length)];
      const items = await collect(jsonArrayItems(chunked(s, () => 1 + rng.int(9)), 'vulnerabilities'));
      expect(Array.isArray(items)).toBe(true);
    }
  });
});

describe('EPSS lines', () => {
  it('reads the comment header, the column header, scores and bad rows', () => {
    expect(readEpssLine('#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z', null)).toEqual({ kind: 'meta', model: 'v2026.06.15', date: '2026-09-29T12:00:22Z' });
    expect(readEpssLine('cve,epss,percentile', null)).toEqual({ kind: 'header' });
    expect(readEpssLine('CVE-2014-8361,0.99975,0.99978\r', '2026-09-29')).toEqual({ kind: 'score', score: { cve: 'CVE-2014-8361', epss: 0.99975, percentile: 0.99978, date: '2026-09-29' } });
    expect(readEpssLine('CVE-2014-8361,1.5,0.9', null)).toMatchObject({ kind: 'bad', cve: 'CVE-2014-8361' });
    expect(readEpssLine('garbage\u0000,,', null)).toMatchObject({ kind: 'bad' });
  });
});

describe('CVE JSON 5', () => {
  it('keeps CNA and ADP affected products, versions verbatim, and ADP CVSS', () => {
    const r = normaliseCve5({
      dataType: 'CVE_RECORD',
      cveMetadata: { cveId: 'CVE-2099-0002', dateUpdated: '2025-01-01T00:00:00Z' },
      containers: {
        cna: { affected: [{ vendor: 'n/a', product: 'TP-Link Archer AX21 (AX1800)', versions: [{ version: 'All versions prior to version 1.14 Build 20230219', status: 'affected' }] }], descriptions: [{ lang: 'en', value: 'x' }] },
        adp: [
          {
            providerMetadata: { shortName: 'CISA-ADP' },
            affected: [{ vendor: 'tp-link', product: 'archer_ax21', cpes: ['cpe:2.3:h:tp-link:archer_ax21:*:*:*:*:*:*:*:*'], defaultStatus: 'unknown', versions: [{ version: '0', lessThan: '1.1.4', status: 'affected', versionType: 'custom' }] }],
            metrics: [{ cvssV3_1: { baseScore: 8.8, vectorString: 'CVSS:3.1/AV:A' } }, { other: { type: 'kev' } }],
          },
        ],
      },
    });
    expect(r.affected.map((a) => [a.from, a.product, a.versions[0]?.lessThan ?? a.versions[0]?.version])).toEqual([
      ['cna', 'TP-Link Archer AX21 (AX1800)', 'All versions prior to version 1.14 Build 20230219'],
      ['CISA-ADP', 'archer_ax21', '1.1.4'],
    ]);
    expect(r.cvss).toEqual([{ version: '3.1', score: 8.8, vector: 'CVSS:3.1/AV:A', source: 'CISA-ADP' }]);
    expect(r.sources).toEqual(['cve5']);
  });
});

describe('files', () => {
  it('detects kinds, reads a gzipped feed streaming, and reports a malformed record by id', async () => {
    const feed = { format: 'NVD_CVE', version: '2.0', vulnerabilities: [{ cve: { id: 'CVE-2099-0003', configurations: 7 } }, { cve: { id: 'CVE-2099-0004', descriptions: [{ lang: 'en', value: 'ok' }] } }, 42] };
    const gz = join(dir, 'nvdcve-2.0-2099.json.gz');
    writeFileSync(gz, gzipSync(JSON.stringify(feed)));
    expect(await detectVulnFile(gz)).toBe('nvd-feed');
    const items = await collect(readVulnFile(gz));
    expect(items[0]).toMatchObject({ kind: 'bad', id: 'CVE-2099-0003' });
    expect(items[1]).toMatchObject({ kind: 'cve', record: { id: 'CVE-2099-0004', description: 'ok' } });
    expect(items[2]).toMatchObject({ kind: 'bad' });
    expect(items).toHaveLength(3);
  });
  it.skipIf(!have)('loads the shared data: NVD and CVE 5 merged per CVE, KEV and EPSS', async () => {
    expect(await detectVulnFile(`${data}/nvd/CVE-2023-1389.json`)).toBe('nvd-record');
    expect(await detectVulnFile(`${data}/cve5/CVE-2023-1389.json`)).toBe('cve5');
    expect(await detectVulnFile(`${data}/kev/known_exploited_vulnerabilities.json`)).toBe('kev');
    expect(await detectVulnFile(`${data}/epss/epss_scores_subset.csv`)).toBe('epss');
    const d = await loadVulnFiles([`${data}/nvd`, `${data}/cve5`, `${data}/kev/known_exploited_vulnerabilities.json`, `${data}/epss/epss_scores_subset.csv`]);
    expect(d.bad).toEqual([]);
    expect(d.records.size).toBe(9);
    const r = d.records.get('CVE-2023-1389')!;
    expect(r.sources).toEqual(['cve5', 'nvd']);
    expect(r.configurations.length).toBe(1);
    expect(r.affected[0]?.versions[0]?.version).toBe('All versions prior to version 1.14 Build 20230219');
    expect(d.kev.size).toBe(1404);
    expect(d.epss.get('CVE-2023-1389')?.date).toBe('2026-09-29');
    expect(d.kevHints.get('CVE-2023-1389')?.dateAdded).toBe(d.kev.get('CVE-2023-1389')?.dateAdded);
    const raw = JSON.parse(readFileSync(`${data}/nvd/CVE-2021-36260.json`, 'utf8')) as { configurations: unknown[] };
    expect(d.records.get('CVE-2021-36260')!.configurations.length).toBe(raw.configurations.length);
  });
});
