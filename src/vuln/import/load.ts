/**
 * Loading vulnerability files into memory (for `vuln match --nvd …` and tests): every file read,
 * records of one CVE from NVD and CVE 5 merged, a newer lastModified from the same source replacing
 * an older one, bad records collected with their CVE ids.
 */
import type { CveRecord, EpssScore, KevEntry } from '../types.js';
import { mergeRecords } from './cve5.js';
import { expandVulnPaths, readVulnFile, type VulnFileKind } from './read.js';

/** Vulnerability data held in memory. */
export interface VulnData {
  readonly records: Map<string, CveRecord>;
  readonly kev: Map<string, KevEntry>;
  readonly epss: Map<string, EpssScore>;
  /** KEV listings NVD records carry (used when no catalogue is loaded). */
  readonly kevHints: Map<string, KevEntry>;
  readonly bad: { readonly file: string; readonly id: string | null; readonly why: string }[];
}

/** An empty VulnData to load into. */
export function emptyVulnData(): VulnData {
  return { records: new Map(), kev: new Map(), epss: new Map(), kevHints: new Map(), bad: [] };
}

/** Put one record in: same source → the newer lastModified wins; other source → merged. */
export function addRecord(into: Map<string, CveRecord>, r: CveRecord): void {
  const old = into.get(r.id);
  if (!old) {
    into.set(r.id, r);
    return;
  }
  const sameSource = r.sources.every((s) => old.sources.includes(s)) && old.sources.length === r.sources.length;
  if (sameSource) {
    if ((r.lastModified ?? '') > (old.lastModified ?? '')) into.set(r.id, r);
    return;
  }
  into.set(r.id, mergeRecords(old, r));
}

/** The KEV entries to use: the catalogue's when one was loaded, else the hints NVD records carry. */
export function kevOf(d: VulnData): Map<string, KevEntry> {
  return d.kev.size > 0 ? d.kev : d.kevHints;
}

/** Read files or directories (kind detected per file unless given) into `into`. */
export async function loadVulnFiles(paths: readonly string[], into: VulnData = emptyVulnData(), kind?: VulnFileKind): Promise<VulnData> {
  for (const file of await expandVulnPaths(paths)) {
    for await (const it of readVulnFile(file, kind)) {
      if (it.kind === 'cve') addRecord(into.records, it.record);
      else if (it.kind === 'kev') into.kev.set(it.entry.cve, it.entry);
      else if (it.kind === 'epss') into.epss.set(it.score.cve, it.score);
      else if (it.kind === 'kev-hint') into.kevHints.set(it.entry.cve, it.entry);
      else into.bad.push({ file, id: it.id, why: it.why });
    }
  }
  return into;
}
