/**
 * CVE JSON 5 records (https://github.com/CVEProject/cve-schema): the CNA container's `affected[]`
 * and every ADP container's (CISA's "Vulnrichment" adds affected products with cpes and CVSS).
 * Versions are kept verbatim; free text is read at match time (src/vuln/match.ts).
 */
import { z } from 'zod';
import type { AffectedProduct, AffectedVersion, CveRecord, CvssScore } from '../types.js';

const status = z.enum(['affected', 'unaffected', 'unknown']).catch('unknown');
const version = z.object({
  version: z.string().max(2000),
  status,
  lessThan: z.string().max(256).optional(),
  lessThanOrEqual: z.string().max(256).optional(),
  versionType: z.string().max(64).optional(),
});
const affected = z.object({
  vendor: z.string().max(500).default('n/a'),
  product: z.string().max(500).default('n/a'),
  cpes: z.array(z.string().max(4096)).default([]),
  defaultStatus: status.default('unknown'),
  versions: z.array(version).default([]),
});
const metricEntry = z.record(z.string(), z.unknown());
const container = z.object({
  providerMetadata: z.object({ shortName: z.string().optional() }).default({}),
  affected: z.array(affected).default([]),
  metrics: z.array(metricEntry).default([]),
  descriptions: z.array(z.object({ lang: z.string(), value: z.string() })).default([]),
  references: z.array(z.object({ url: z.string(), tags: z.array(z.string()).default([]) })).default([]),
});
const record = z.object({
  dataType: z.literal('CVE_RECORD').optional(),
  cveMetadata: z.object({ cveId: z.string().regex(/^CVE-\d{4}-\d{4,}$/), datePublished: z.string().nullish(), dateUpdated: z.string().nullish(), state: z.string().optional() }),
  containers: z.object({ cna: container.optional(), adp: z.array(container).default([]) }),
});

const cvssKeys: Record<string, CvssScore['version']> = { cvssV4_0: '4.0', cvssV3_1: '3.1', cvssV3_0: '3.0', cvssV2_0: '2.0' };

function products(c: z.infer<typeof container>, from: string): AffectedProduct[] {
  return c.affected.map((a) => ({
    from,
    vendor: a.vendor,
    product: a.product,
    cpes: a.cpes,
    defaultStatus: a.defaultStatus,
    versions: a.versions.map((v): AffectedVersion => {
      const out: { -readonly [K in keyof AffectedVersion]: AffectedVersion[K] } = { version: v.version, status: v.status };
      if (v.lessThan !== undefined) out.lessThan = v.lessThan;
      if (v.lessThanOrEqual !== undefined) out.lessThanOrEqual = v.lessThanOrEqual;
      if (v.versionType !== undefined) out.versionType = v.versionType;
      return out;
    }),
  }));
}

function scores(c: z.infer<typeof container>, from: string): CvssScore[] {
  const out: CvssScore[] = [];
  for (const m of c.metrics)
    for (const [k, version] of Object.entries(cvssKeys)) {
      const s = m[k] as { baseScore?: unknown; vectorString?: unknown } | undefined;
      if (s && typeof s.baseScore === 'number' && typeof s.vectorString === 'string') out.push({ version, score: s.baseScore, vector: s.vectorString, source: from });
    }
  return out;
}

/** Normalise one CVE JSON 5 record; throws a zod error when malformed. */
export function normaliseCve5(raw: unknown): CveRecord {
  const r = record.parse(raw);
  const cna = r.containers.cna;
  const containers = [...(cna ? [{ c: cna, from: 'cna' }] : []), ...r.containers.adp.map((c) => ({ c, from: c.providerMetadata.shortName ?? 'adp' }))];
  return {
    id: r.cveMetadata.cveId,
    published: r.cveMetadata.datePublished ?? null,
    lastModified: r.cveMetadata.dateUpdated ?? null,
    description: (cna?.descriptions.find((d) => d.lang.startsWith('en')) ?? cna?.descriptions[0])?.value.slice(0, 4000) ?? '',
    configurations: [],
    affected: containers.flatMap(({ c, from }) => products(c, from)),
    cvss: containers.flatMap(({ c, from }) => scores(c, from)),
    references: containers.flatMap(({ c }) => c.references.map((x) => ({ url: x.url, tags: x.tags }))),
    sources: ['cve5'],
  };
}

/**
 * Merge what two sources say about one CVE: NVD's configurations and CVE 5's affected products
 * side by side; CVSS and references from both (deduplicated); the later lastModified.
 */
export function mergeRecords(a: CveRecord, b: CveRecord): CveRecord {
  const nvd = b.sources.includes('nvd') ? b : a.sources.includes('nvd') ? a : b;
  const other = nvd === b ? a : b;
  const seen = new Set<string>();
  const refs = [...nvd.references, ...other.references].filter((r) => (seen.has(r.url) ? false : (seen.add(r.url), true)));
  const cvssSeen = new Set<string>();
  const cvss = [...nvd.cvss, ...other.cvss].filter((s) => {
    const k = `${s.version}|${s.vector}|${s.source}`;
    return cvssSeen.has(k) ? false : (cvssSeen.add(k), true);
  });
  const lm = [a.lastModified, b.lastModified].filter((x): x is string => x !== null).sort().pop() ?? null;
  return {
    id: a.id,
    published: nvd.published ?? other.published,
    lastModified: lm,
    description: nvd.description || other.description,
    configurations: nvd.configurations.length > 0 ? nvd.configurations : other.configurations,
    affected: other.affected.length > 0 ? other.affected : nvd.affected,
    cvss,
    references: refs,
    sources: [...new Set([...a.sources, ...b.sources])].sort(),
  };
}
