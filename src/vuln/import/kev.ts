/** CISA KEV catalogue (https://www.cisa.gov/known-exploited-vulnerabilities-catalog), JSON form. */
import { z } from 'zod';
import type { KevEntry } from '../types.js';

const entry = z.object({
  cveID: z.string().regex(/^CVE-\d{4}-\d{4,}$/),
  vendorProject: z.string().default(''),
  product: z.string().default(''),
  dateAdded: z.string(),
  dueDate: z.string().nullish(),
  knownRansomwareCampaignUse: z.string().default('Unknown'),
});

/** Normalise one catalogue entry; throws a zod error when malformed. */
export function normaliseKev(raw: unknown): KevEntry {
  const e = entry.parse(raw);
  return {
    cve: e.cveID,
    dateAdded: e.dateAdded,
    ransomware: e.knownRansomwareCampaignUse === 'Known' ? 'Known' : 'Unknown',
    vendor: e.vendorProject,
    product: e.product,
    dueDate: e.dueDate ?? null,
  };
}

/** The raw id of an entry, to name it when it is malformed. */
export function rawKevId(raw: unknown): string | null {
  const id = raw && typeof raw === 'object' ? (raw as Record<string, unknown>)['cveID'] : undefined;
  return typeof id === 'string' ? id.slice(0, 40) : null;
}
