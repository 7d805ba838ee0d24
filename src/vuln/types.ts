/**
 * The vulnerability data the matcher reads, normalised from NVD CVE JSON 2.0 and CVE JSON 5
 * records (src/vuln/import/). NVD's configuration shape is kept as is (AND/OR nodes of cpeMatch
 * criteria with version bounds); a CNA's `affected[]` entries from CVE JSON 5 (and the CISA ADP
 * container) are kept beside it, because NVD no longer adds CPEs to most new CVEs.
 */

/** One NVD cpeMatch criterion: a CPE 2.3 formatted string plus optional version bounds. */
export interface CpeCriterion {
  readonly vulnerable: boolean;
  readonly criteria: string;
  readonly versionStartIncluding?: string;
  readonly versionStartExcluding?: string;
  readonly versionEndIncluding?: string;
  readonly versionEndExcluding?: string;
}

/** An NVD configuration node: its criteria joined by the operator (negate inverts it). */
export interface ConfigNode {
  readonly operator: 'AND' | 'OR';
  readonly negate: boolean;
  readonly cpeMatch: readonly CpeCriterion[];
}

/** An NVD configuration: nodes joined by the operator (OR when absent in the feed). */
export interface Configuration {
  readonly operator: 'AND' | 'OR';
  readonly negate: boolean;
  readonly nodes: readonly ConfigNode[];
}

/** One version entry of a CVE JSON 5 `affected[].versions[]`, verbatim fields. */
export interface AffectedVersion {
  readonly version: string;
  readonly status: 'affected' | 'unaffected' | 'unknown';
  readonly lessThan?: string;
  readonly lessThanOrEqual?: string;
  readonly versionType?: string;
}

/** One CVE JSON 5 `affected[]` product (from the CNA or an ADP container). */
export interface AffectedProduct {
  /** "cna" or the ADP's short name ("CISA-ADP"). */
  readonly from: string;
  readonly vendor: string;
  readonly product: string;
  /** CPE 2.3 names the container gives for it, if any. */
  readonly cpes: readonly string[];
  readonly defaultStatus: 'affected' | 'unaffected' | 'unknown';
  readonly versions: readonly AffectedVersion[];
}

export interface CvssScore {
  readonly version: '2.0' | '3.0' | '3.1' | '4.0';
  readonly score: number;
  readonly vector: string;
  readonly source: string;
}

/** One CVE as the matcher and threat rule see it (merged from every imported source). */
export interface CveRecord {
  readonly id: string;
  readonly published: string | null;
  readonly lastModified: string | null;
  readonly description: string;
  readonly configurations: readonly Configuration[];
  readonly affected: readonly AffectedProduct[];
  readonly cvss: readonly CvssScore[];
  readonly references: readonly { readonly url: string; readonly tags: readonly string[] }[];
  /** Which files it came from ("nvd", "cve5"), for the report. */
  readonly sources: readonly string[];
}

/** A CISA KEV catalogue entry, the fields the threat rule uses. */
export interface KevEntry {
  readonly cve: string;
  readonly dateAdded: string;
  readonly ransomware: 'Known' | 'Unknown';
  readonly vendor: string;
  readonly product: string;
  readonly dueDate: string | null;
}

/** A FIRST EPSS row. */
export interface EpssScore {
  readonly cve: string;
  readonly epss: number;
  readonly percentile: number;
  readonly date: string | null;
}
