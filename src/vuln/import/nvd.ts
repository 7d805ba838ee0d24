/**
 * NVD CVE JSON 2.0 (https://csrc.nist.gov/schema/nvd/api/2.0/cve_api_json_2.0.schema): one `cve`
 * object normalised to a CveRecord. Only what matching and the threat rule read is kept.
 */
import { z } from 'zod';
import type { Configuration, CpeCriterion, CveRecord, CvssScore, KevEntry } from '../types.js';

const criterion = z.object({
  vulnerable: z.boolean(),
  criteria: z.string().max(4096),
  versionStartIncluding: z.string().max(256).optional(),
  versionStartExcluding: z.string().max(256).optional(),
  versionEndIncluding: z.string().max(256).optional(),
  versionEndExcluding: z.string().max(256).optional(),
});
const node = z.object({ operator: z.enum(['AND', 'OR']).default('OR'), negate: z.boolean().default(false), cpeMatch: z.array(criterion).default([]) });
const configuration = z.object({ operator: z.enum(['AND', 'OR']).default('OR'), negate: z.boolean().default(false), nodes: z.array(node) });
const cvssData = z.object({ version: z.string(), baseScore: z.number(), vectorString: z.string() });
const metric = z.object({ source: z.string().default(''), type: z.string().optional(), cvssData });
const nvdCve = z.object({
  id: z.string().regex(/^CVE-\d{4}-\d{4,}$/),
  published: z.string().nullish(),
  lastModified: z.string().nullish(),
  vulnStatus: z.string().optional(),
  descriptions: z.array(z.object({ lang: z.string(), value: z.string() })).default([]),
  metrics: z
    .object({
      cvssMetricV40: z.array(metric).optional(),
      cvssMetricV31: z.array(metric).optional(),
      cvssMetricV30: z.array(metric).optional(),
      cvssMetricV2: z.array(metric).optional(),
    })
    .default({}),
  configurations: z.array(configuration).default([]),
  references: z.array(z.object({ url: z.string(), tags: z.array(z.string()).default([]) })).default([]),
});

/** The CVE id of a raw record, if it has one (to name a malformed record in the report). */
export function rawCveId(raw: unknown): string | null {
  if (raw && typeof raw === 'object') {
    const o = raw as Record<string, unknown>;
    const id = o['id'] ?? (o['cve'] as Record<string, unknown> | undefined)?.['id'] ?? (o['cveMetadata'] as Record<string, unknown> | undefined)?.['cveId'];
    if (typeof id === 'string') return id.slice(0, 40);
  }
  return null;
}

/**
 * NVD copies CISA's KEV listing into its records (`cisaExploitAdd`, `cisaActionDue`): a KEV entry
 * for matching when no catalogue file is given. The catalogue's ransomware field is not copied, so
 * it reads "Unknown"; an imported catalogue always wins over this hint.
 */
export function nvdKevHint(raw: unknown): KevEntry | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const o = raw as Record<string, unknown>;
  const id = o['id'];
  const added = o['cisaExploitAdd'];
  if (typeof id !== 'string' || typeof added !== 'string' || !/^\d{4}-\d{2}-\d{2}/.test(added)) return undefined;
  const due = o['cisaActionDue'];
  return { cve: id, dateAdded: added.slice(0, 10), ransomware: 'Unknown', vendor: '', product: '', dueDate: typeof due === 'string' ? due.slice(0, 10) : null };
}

const cvssVersions: Record<string, CvssScore['version']> = { cvssMetricV40: '4.0', cvssMetricV31: '3.1', cvssMetricV30: '3.0', cvssMetricV2: '2.0' };

/** Normalise one NVD `cve` object; throws a zod error naming the bad field when malformed. */
export function normaliseNvd(raw: unknown): CveRecord {
  const c = nvdCve.parse(raw);
  const cvss: CvssScore[] = [];
  for (const [k, version] of Object.entries(cvssVersions)) {
    for (const m of c.metrics[k as keyof typeof c.metrics] ?? []) cvss.push({ version, score: m.cvssData.baseScore, vector: m.cvssData.vectorString, source: m.source });
  }
  const configurations: Configuration[] = c.configurations.map((conf) => ({
    operator: conf.operator,
    negate: conf.negate,
    nodes: conf.nodes.map((n) => ({
      operator: n.operator,
      negate: n.negate,
      cpeMatch: n.cpeMatch.map((m): CpeCriterion => {
        const out: { -readonly [K in keyof CpeCriterion]: CpeCriterion[K] } = { vulnerable: m.vulnerable, criteria: m.criteria };
        if (m.versionStartIncluding !== undefined) out.versionStartIncluding = m.versionStartIncluding;
        if (m.versionStartExcluding !== undefined) out.versionStartExcluding = m.versionStartExcluding;
        if (m.versionEndIncluding !== undefined) out.versionEndIncluding = m.versionEndIncluding;
        if (m.versionEndExcluding !== undefined) out.versionEndExcluding = m.versionEndExcluding;
        return out;
      }),
    })),
  }));
  return {
    id: c.id,
    published: c.published ?? null,
    lastModified: c.lastModified ?? null,
    description: (c.descriptions.find((d) => d.lang === 'en') ?? c.descriptions[0])?.value.slice(0, 4000) ?? '',
    configurations,
    affected: [],
    cvss,
    references: c.references.map((r) => ({ url: r.url, tags: r.tags })),
    sources: ['nvd'],
  };
}
