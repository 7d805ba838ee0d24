/**
 * `iotclean vuln`: vulnerability data and matching.
 * - `vuln import FILE…`: NVD CVE JSON 2.0 records and feeds (.gz too), CVE JSON 5 records, the CISA
 *   KEV catalogue and FIRST EPSS CSVs into the store; the kind of each file is detected; counts per
 *   file (imported / unchanged / skipped, with each skipped record's CVE id and reason).
 * - `vuln match --cpe CPE…`: judge every CVE naming one of the CPEs, against the given files
 *   (--nvd/--cve5/--kev/--epss, the store untouched) or the store's imported data; one object per
 *   CVE considered (cve, status, kev, reason, threat fields).
 */
import { IotcleanError } from '../../core/errors.js';
import { defineCommand, type OptionSpec, type Output } from '../command.js';
import { storeOption, withStore } from '../context.js';
import type { Store } from '../../store/store.js';
import { parseCpe } from '../../vuln/cpe.js';
import { emptyVulnData, kevOf, loadVulnFiles } from '../../vuln/import/load.js';
import { detectVulnFile, expandVulnPaths, readVulnFile, type VulnFileKind } from '../../vuln/import/read.js';
import { buildIndex, matchCpes } from '../../vuln/match.js';
import { threatLevel } from '../../vuln/threat.js';
import type { CveRecord, EpssScore, KevEntry } from '../../vuln/types.js';
import { vulnMakersCommand } from './vuln-makers.js';

/** What importing one file did. */
export interface ImportFileReport {
  readonly file: string;
  readonly kind: VulnFileKind;
  readonly imported: number;
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  readonly skipped: number;
  /** The first 100 skipped records: CVE id (null when the record has none) and why. */
  readonly errors: readonly { readonly id: string | null; readonly why: string }[];
}

const batchSize = 500;

/** Import one file into the store, streaming, in batches. */
export async function importVulnFile(store: Store, file: string): Promise<ImportFileReport> {
  const kind = await detectVulnFile(file);
  let cves: CveRecord[] = [];
  let kev: KevEntry[] = [];
  let epss: EpssScore[] = [];
  let inserted = 0;
  let updated = 0;
  let unchanged = 0;
  let skipped = 0;
  const errors: { id: string | null; why: string }[] = [];
  const flush = async () => {
    for (const c of [await store.vuln.upsertCves(cves), await store.vuln.upsertKev(kev), await store.vuln.upsertEpss(epss)]) {
      inserted += c.inserted;
      updated += c.updated;
      unchanged += c.unchanged;
    }
    cves = [];
    kev = [];
    epss = [];
  };
  for await (const it of readVulnFile(file, kind)) {
    if (it.kind === 'cve') cves.push(it.record);
    else if (it.kind === 'kev') kev.push(it.entry);
    else if (it.kind === 'epss') epss.push(it.score);
    else if (it.kind === 'kev-hint') continue; // the catalogue itself is imported for KEV
    else {
      skipped++;
      if (errors.length < 100) errors.push({ id: it.id, why: it.why });
    }
    if (cves.length + kev.length + epss.length >= batchSize) await flush();
  }
  await flush();
  return { file, kind, imported: inserted + updated, inserted, updated, unchanged, skipped, errors };
}

const importCommand = defineCommand({
  name: 'import',
  description: 'Import vulnerability data files (NVD CVE JSON 2.0 records or feeds, CVE JSON 5 records, CISA KEV JSON, FIRST EPSS CSV; .gz too) or directories of them into the store. Importing the same file twice changes nothing.',
  options: { ...storeOption } as const satisfies Record<string, OptionSpec>,
  positionals: [{ name: 'FILE', description: 'a data file or a directory of them (kind detected per file)', variadic: true }],
  async run(o, args, out): Promise<number> {
    const files = await expandVulnPaths(args);
    if (files.length === 0) throw new IotcleanError('E_VULN_DATA', `no data files in ${args.join(', ')}`, { hint: 'give .json, .json.gz or .csv files' });
    const reports: ImportFileReport[] = [];
    await withStore(o.db, async (store) => {
      for (const file of files) {
        const r = await importVulnFile(store, file);
        reports.push(r);
        out.info(`${file} (${r.kind}): ${r.imported} imported (${r.inserted} new, ${r.updated} updated), ${r.unchanged} unchanged, ${r.skipped} skipped`);
        for (const e of r.errors) out.info(`  skipped ${e.id ?? '(no CVE id)'}: ${e.why}`);
      }
      const totals = await store.vuln.counts();
      const sum = (k: 'imported' | 'unchanged' | 'skipped') => reports.reduce((a, r) => a + r[k], 0);
      out.result(`store holds ${totals.cves} CVE records, ${totals.kev} KEV entries, ${totals.epss} EPSS scores`, {
        files: reports,
        imported: sum('imported'),
        unchanged: sum('unchanged'),
        skipped: sum('skipped'),
        store: totals,
      });
    });
    return 0;
  },
});

const matchOptions = {
  cpe: { type: 'string', value: 'CPE', multiple: true, description: 'a device CPE 2.3 name (hardware h:, firmware o:, application a:), repeat for each' },
  nvd: { type: 'string', value: 'PATH', multiple: true, description: 'NVD CVE JSON 2.0 record or feed file, or a directory of records (the store is then not used)' },
  cve5: { type: 'string', value: 'PATH', multiple: true, description: 'CVE JSON 5 record file or directory (the store is then not used)' },
  kev: { type: 'string', value: 'FILE', description: 'CISA KEV catalogue JSON (default: the store\'s)' },
  epss: { type: 'string', value: 'FILE', description: 'FIRST EPSS CSV (default: the store\'s)' },
  ...storeOption,
} as const satisfies Record<string, OptionSpec>;

/** One line of `vuln match`. */
export interface MatchLine {
  readonly cve: string;
  readonly status: string;
  readonly kev: boolean;
  readonly reason: string;
  readonly cpe: readonly string[];
  readonly level: string;
  readonly ransomware: boolean | null;
  readonly kevDateAdded: string | null;
  readonly epss: number | null;
  readonly epssPercentile: number | null;
  readonly cvss: { readonly version: string; readonly score: number; readonly vector: string } | null;
  readonly exploitPublic: boolean;
}

async function* lines(rows: readonly MatchLine[]): AsyncIterable<MatchLine> {
  yield* rows;
}

const matchCommand = defineCommand({
  name: 'match',
  description: 'Judge every CVE naming one of the given CPEs: affected, not-affected or unknown, with the configuration node and version bound that decided it, and the threat facts.',
  options: matchOptions,
  async run(o, _args, out: Output): Promise<number> {
    if (o.cpe.length === 0) throw new IotcleanError('E_ARGS', 'vuln match needs at least one --cpe', { hint: 'e.g. --cpe cpe:2.3:h:tp-link:archer_ax21:-:*:*:*:*:*:*:* --cpe cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.3:*:*:*:*:*:*:*' });
    for (const c of o.cpe) parseCpe(c); // a mistyped name is the user's error, said as such
    const fromFiles = o.nvd.length > 0 || o.cve5.length > 0;
    const data = emptyVulnData();
    if (o.nvd.length) await loadVulnFiles(o.nvd, data);
    if (o.cve5.length) await loadVulnFiles(o.cve5, data);
    if (o.kev) await loadVulnFiles([o.kev], data, 'kev');
    if (o.epss) await loadVulnFiles([o.epss], data, 'epss');
    for (const b of data.bad) out.info(`skipped ${b.id ?? '(no CVE id)'} in ${b.file}: ${b.why}`);
    let records: CveRecord[] = [...data.records.values()];
    let kev: ReadonlyMap<string, KevEntry> = kevOf(data);
    let epss: ReadonlyMap<string, EpssScore> = data.epss;
    if (!fromFiles) {
      await withStore(
        o.db,
        async (store) => {
          if (!fromFiles) {
            records = [];
            for await (const r of store.vuln.cves()) records.push(r);
          }
          if (!o.kev && !fromFiles) kev = await store.vuln.kevMap();
          if (!o.epss && !fromFiles) epss = await store.vuln.epssMap();
        },
        { readOnly: true },
      );
    }
    const index = buildIndex(records);
    const rows = matchCpes(index, o.cpe).map((v): MatchLine => {
      const t = threatLevel(v.record, { kev: kev.get(v.cve), epss: epss.get(v.cve), devicesAffected: v.status === 'affected' ? 1 : 0 });
      return { cve: v.cve, status: v.status, kev: t.kev, reason: v.reason, cpe: v.cpe, level: t.level, ransomware: t.ransomware, kevDateAdded: t.kevDateAdded, epss: t.epss, epssPercentile: t.epssPercentile, cvss: t.cvss, exploitPublic: t.exploitPublic };
    });
    out.info(`${records.length} CVE records, ${rows.length} considered for ${o.cpe.length} CPE(s)`);
    await out.stream(lines(rows), (r) => `${r.cve}  ${r.status.padEnd(12)}  ${r.level.padEnd(8)}  ${r.kev ? 'KEV' : '   '}  ${r.reason}`, { jsonLines: true });
    return 0;
  },
});

export const vulnCommand = defineCommand({
  name: 'vuln',
  description: 'Vulnerability data (NVD, CVE 5, KEV, EPSS) and matching of identified devices.',
  subcommands: [importCommand, matchCommand, vulnMakersCommand] as never[],
});
