/**
 * The facet columns of `findings` (migration 0012): flat copies of what the dashboard filters and
 * charts group by, so a list page or chart over a million findings reads an index, never the JSON
 * `body`. Device-supplied text (vendor, model) is made safe for both back ends here: PostgreSQL
 * text holds no NUL and no lone surrogate, so those are replaced, and the length is bounded. The
 * exact text stays in `body`. `month` is the first seven characters of the dedup period, which
 * never changes once stored (observedAt may move earlier on a merge; the period does not).
 */
import type { Finding } from '../core/records.js';

/** The longest facet text kept (characters). */
export const facetMaxChars = 120;

/** NUL removed, lone surrogates replaced by U+FFFD, bounded to facetMaxChars characters. */
export function facetText(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  const clean = s.replace(/\u0000/g, '').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
  const chars = Array.from(clean);
  const out = chars.length > facetMaxChars ? chars.slice(0, facetMaxChars).join('') : clean;
  return out === '' ? null : out;
}

export interface FindingFacets {
  device_type: string | null;
  vendor: string | null;
  model: string | null;
  protocol: string | null;
  month: string;
}

/** The facet columns of a finding (or of a stored body + period, for the backfill). */
export function facetsOf(f: Pick<Finding, 'device' | 'protocol' | 'period'>): FindingFacets {
  return {
    device_type: facetText(f.device?.type ?? null),
    vendor: facetText(f.device?.vendor ?? null),
    model: facetText(f.device?.model ?? null),
    protocol: facetText(f.protocol ?? null),
    month: f.period.slice(0, 7),
  };
}

/** The rollup key of a finding's facets: '' stands for null (NULLs are distinct in unique keys). */
export function rollupKeyOf(kind: string, isp: string | null, f: FindingFacets): RollupKey {
  return { month: f.month, kind, protocol: f.protocol ?? '', device_type: f.device_type ?? '', vendor: f.vendor ?? '', model: f.model ?? '', isp: isp ?? '' };
}

export interface RollupKey {
  month: string;
  kind: string;
  protocol: string;
  device_type: string;
  vendor: string;
  model: string;
  isp: string;
}

export const rollupColumns = ['month', 'kind', 'protocol', 'device_type', 'vendor', 'model', 'isp'] as const satisfies readonly (keyof RollupKey)[];

/**
 * The rollup tables and their key columns. Two narrow tables rather than one wide one: ISP ×
 * model × month × kind would be hundreds of thousands of rows at national scale, while no chart
 * or alert needs ISP and model together; each of these stays at a few thousand.
 */
export const rollups = {
  findings_rollup_isp: ['month', 'kind', 'protocol', 'isp'],
  findings_rollup_model: ['month', 'kind', 'device_type', 'vendor', 'model'],
} as const satisfies Record<string, readonly (keyof RollupKey)[]>;
export type RollupTableName = keyof typeof rollups;

/** The rollup table holding every one of these columns. */
export function rollupFor(columns: readonly (keyof RollupKey)[]): RollupTableName {
  for (const [table, keys] of Object.entries(rollups) as [RollupTableName, readonly (keyof RollupKey)[]][]) {
    if (columns.every((c) => keys.includes(c))) return table;
  }
  throw new Error(`no rollup holds ${columns.join(', ')} together`);
}

/** A row to add to a rollup table: its key columns and a count. */
export type RollupRowOut = { readonly [column: string]: string | number; n: number };

/** Rows of `keys` for each rollup table, counted (one row per distinct key). */
export function rollupRows(keys: Iterable<RollupKey>): Record<RollupTableName, RollupRowOut[]> {
  const out = {} as Record<RollupTableName, Map<string, RollupRowOut>>;
  for (const t of Object.keys(rollups) as RollupTableName[]) out[t] = new Map();
  for (const key of keys) {
    for (const [t, cols] of Object.entries(rollups) as [RollupTableName, readonly (keyof RollupKey)[]][]) {
      const k = cols.map((c) => key[c]).join('\u0001');
      const had = out[t].get(k);
      if (had) had.n++;
      else out[t].set(k, { ...(Object.fromEntries(cols.map((c) => [c, key[c]])) as Record<string, string>), n: 1 });
    }
  }
  return Object.fromEntries(Object.entries(out).map(([t, m]) => [t, [...m.values()]])) as Record<RollupTableName, RollupRowOut[]>;
}
