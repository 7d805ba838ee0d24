/**
 * `iotclean vuln makers --survey ID [--csv | --json]`: the maker report of a stored survey (per
 * vendor and model: devices affected, by which CVEs, on which firmware, first seen), from its
 * vulnerability matches and host identifications. A subcommand of `vuln` (src/cli/commands/vuln.ts
 * wires it in); the matches are read through a reader so this file does not depend on how the
 * vuln repository names its methods.
 */
import { IotcleanError } from '../../core/errors.js';
import type { Identification, VulnerabilityMatch } from '../../core/records.js';
import type { Store } from '../../store/store.js';
import { makerReport, makerReportCsv, type MakerReport } from '../../vuln/makers.js';
import { defineCommand, type Output, type ParsedOptions } from '../command.js';
import { storeOption, surveyIdOf, withStore } from '../context.js';

/** Reads a survey's vulnerability matches from the store. */
export type MatchReader = (store: Store, surveyId: number) => AsyncIterable<VulnerabilityMatch> | Iterable<VulnerabilityMatch> | Promise<Iterable<VulnerabilityMatch>>;

const options = {
  survey: { type: 'number', value: 'ID', integer: true, min: 1, description: 'the stored survey (default: the latest)' },
  csv: { type: 'boolean', description: 'print CSV (one row per vendor, model and CVE; spreadsheet-safe cells)', default: false },
  ...storeOption,
} as const;

export type VulnMakersOptions = ParsedOptions<typeof options>;

async function collect<T>(rows: AsyncIterable<T> | Iterable<T> | Promise<Iterable<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of await rows) out.push(r);
  return out;
}

/** The default reader: the survey's stored matches (src/store/vuln.ts). */
export const storedMatches: MatchReader = (store, surveyId) => store.vuln.matches(surveyId);

/** One line per model for people. */
export function makerReportText(report: MakerReport): string {
  if (report.models.length === 0) return 'no device of this survey is affected by a known CVE';
  const lines: string[] = [];
  for (const m of report.models) {
    const firmware = m.firmware.map((f) => `${f.firmware ?? '?'} (${f.devices})`).join(', ');
    lines.push(`${m.vendor} ${m.model}: ${m.devicesAffected} affected${m.devicesUnknown > 0 ? `, ${m.devicesUnknown} unknown` : ''}; firmware ${firmware}; first seen ${m.firstSeen ?? '?'}`);
    for (const c of m.cves) lines.push(`  ${c.cve}${c.kev ? ' (KEV)' : ''} ${c.level}: ${c.affected} affected${c.unknown > 0 ? `, ${c.unknown} unknown` : ''}`);
  }
  if (report.unmatched > 0) lines.push(`(${report.unmatched} matches had no host identification and are left out)`);
  return lines.join('\n');
}

/** Run the command on an open store (the tests call this with their own reader). */
export async function runVulnMakers(o: VulnMakersOptions, out: Output, store: Store, readMatches: MatchReader = storedMatches): Promise<number> {
  if (o.csv && o.json) throw new IotcleanError('E_ARGS', 'give --csv or --json, not both', { hint: 'iotclean vuln makers --survey 3 --csv > makers.csv' });
  const surveyId = await surveyIdOf(store, o.survey);
  const hosts: Identification[] = await collect(store.identifications.hosts(surveyId));
  const report = makerReport(await collect(readMatches(store, surveyId)), hosts);
  if (o.csv) {
    // CSV is the result itself: written whole, as a file would be.
    process.stdout.write(makerReportCsv(report));
    return 0;
  }
  out.result(makerReportText(report), report);
  return 0;
}

/** Build the `makers` subcommand over a match reader (the vuln CLI passes its repository's). */
export function createVulnMakersCommand(readMatches: MatchReader = storedMatches) {
  return defineCommand({
    name: 'makers',
    description: 'The maker report of a survey: per vendor and model, devices affected, by which CVEs, on which firmware, first seen (--csv or --json).',
    options,
    run: (o, _args, out) => withStore(o.db, (store) => runVulnMakers(o, out, store, readMatches), { readOnly: true }),
  });
}

/** `iotclean vuln makers`, reading matches with {@link storedMatches}. */
export const vulnMakersCommand = createVulnMakersCommand();
