/**
 * FIRST EPSS daily CSV (https://www.first.org/epss/data_stats): an optional comment line
 * "#model_version:v2026.06.15,score_date:2026-09-29T12:00:22Z", the header "cve,epss,percentile",
 * then one row per CVE.
 */
import type { EpssScore } from '../types.js';

/** What a line said: the comment header, the column header, a score, or a bad row (with why). */
export type EpssLine =
  | { readonly kind: 'meta'; readonly model: string | null; readonly date: string | null }
  | { readonly kind: 'header' }
  | { readonly kind: 'score'; readonly score: EpssScore }
  | { readonly kind: 'bad'; readonly cve: string | null; readonly why: string }
  | { readonly kind: 'blank' };

/** Read one line; `date` is the score date from the comment header, if seen. */
export function readEpssLine(line: string, date: string | null): EpssLine {
  const s = line.replace(/\r$/, '').trim();
  if (s === '') return { kind: 'blank' };
  if (s.startsWith('#')) {
    const model = /model_version:([^,\s]+)/.exec(s)?.[1] ?? null;
    const d = /score_date:([0-9T:\-.Z+]+)/.exec(s)?.[1] ?? null;
    return { kind: 'meta', model, date: d };
  }
  if (/^cve\s*,/i.test(s)) return { kind: 'header' };
  const [cve, e, p] = s.split(',').map((x) => x.trim());
  const id = cve && /^CVE-\d{4}-\d{4,}$/.test(cve) ? cve : null;
  if (!id) return { kind: 'bad', cve: cve?.slice(0, 40) ?? null, why: 'first column is not a CVE id' };
  const epss = Number(e);
  const percentile = Number(p);
  if (!(e && Number.isFinite(epss) && epss >= 0 && epss <= 1)) return { kind: 'bad', cve: id, why: `epss ${JSON.stringify(e ?? '')} is not a probability` };
  if (!(p && Number.isFinite(percentile) && percentile >= 0 && percentile <= 1)) return { kind: 'bad', cve: id, why: `percentile ${JSON.stringify(p ?? '')} is not in 0…1` };
  return { kind: 'score', score: { cve: id, epss, percentile, date } };
}
