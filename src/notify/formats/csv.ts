/**
 * CSV in the manner of Shadowserver's reports: one row per finding, a fixed documented header
 * (docs/notify-format.md, checked by a test), RFC 4180 quoting and CRLF line ends. Text that came
 * from a device (model, firmware, reason) is neutralised against formula injection (OWASP "CSV
 * Injection"): a cell starting with = + - @ TAB or CR gets a leading apostrophe, so a spreadsheet
 * shows it as text instead of running it.
 */
import type { Finding } from '../../core/records.js';
import { cvesOf, detailText, publicFinding } from '../public.js';
import type { BatchFormat, BatchMeta } from './types.js';

/** One column: its header name, what it holds (for the docs) and how to get it. */
export interface CsvColumn {
  readonly name: string;
  readonly description: string;
  readonly value: (f: Finding, meta: BatchMeta) => string | number | null;
}

/** The columns, in order. Secrets never appear: `dictionary_entry` is the entry id. */
export const csvColumns: readonly CsvColumn[] = [
  { name: 'timestamp', description: 'when the problem was observed, ISO 8601 UTC', value: (f) => f.observedAt },
  { name: 'ip', description: 'IPv4 address of the device', value: (f) => f.ip },
  { name: 'port', description: 'TCP port, empty for host-level findings', value: (f) => f.port },
  { name: 'protocol', description: 'protocol or auth type (telnet, ssh, http-basic, ...), empty when not port-bound', value: (f) => f.protocol },
  { name: 'isp', description: 'the ISP notified (this batch\'s ISP)', value: (f) => f.isp },
  { name: 'prefix_owner', description: 'the ISP whose prefix holds the address (differs from isp for resold ranges)', value: (f) => f.prefixOwner },
  { name: 'kind', description: 'finding kind: weak-credential, firmware-vulnerability, infected, exposed-service, unauthenticated-admin, end-of-life, c2-server', value: (f) => f.kind },
  { name: 'tag', description: 'semicolon-separated tags: kind, protocol, malware fingerprint', value: (f) => tagOf(f) },
  { name: 'severity', description: 'critical, high, medium, low or info', value: (f) => f.severity },
  { name: 'device_type', description: 'identified device type (router, camera, dvr, nas, ...)', value: (f) => f.device.type },
  { name: 'device_vendor', description: 'identified vendor', value: (f) => f.device.vendor },
  { name: 'device_model', description: 'identified model', value: (f) => f.device.model },
  { name: 'device_firmware', description: 'identified firmware version', value: (f) => f.device.firmware },
  { name: 'cve', description: 'semicolon-separated CVE ids (firmware-vulnerability)', value: (f) => cvesOf(f).join(';') },
  { name: 'dictionary_entry', description: 'id of the ID/password dictionary entry that worked (weak-credential); never the password', value: (f) => detailText(f, 'entry') },
  { name: 'reason', description: 'short explanation from the stage that found it', value: (f) => detailText(f, 'reason') },
  { name: 'period', description: 'deduplication period (2026-12 for a monthly survey, a day for darknet findings)', value: (f) => f.period },
  { name: 'finding_id', description: 'the centre\'s finding id (quote it with the ticket)', value: (f) => f.id ?? null },
  { name: 'ticket', description: 'the batch ticket, IOTC-YYYYMMDD-<isp>-NNNN', value: (_f, meta) => meta.ticket },
  { name: 'survey_id', description: 'the survey that found it, empty for darknet and flow findings', value: (f) => f.surveyId },
  { name: 'plan_version', description: 'the survey plan version it was found under', value: (f) => f.planVersion },
  { name: 'evidence', description: 'semicolon-separated record:id references to the evidence the centre keeps', value: (f) => f.evidence.map((e) => `${e.record}:${e.id}`).join(';') },
];

function tagOf(f: Finding): string {
  const tags = [f.kind, f.protocol, detailText(f, 'fingerprint')];
  return tags.filter((t): t is string => t !== null && t !== '').join(';');
}

// C0 controls other than TAB, LF, CR, plus DEL and lone surrogates: shown as U+FFFD so every
// consumer reads the same valid UTF-8 (a NUL stops some CSV readers dead).
const unsafeChars = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** No blank, formula lead, quote, comma, control or surrogate anywhere; no blank at the end. */
const plainCell = /^[^\s=+\-@",\u0000-\u001f\u007f\ud800-\udfff][^",\u0000-\u001f\u007f\ud800-\udfff]*(?<!\s)$/;

/** One CSV cell: cleaned, defused against formula injection, quoted when RFC 4180 needs it. */
export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  // The common cell (an address, a model, a date) needs nothing: one test instead of four.
  if (plainCell.test(value)) return value;
  let text = value.replace(unsafeChars, '\uFFFD');
  // Also after leading blanks: some spreadsheet imports trim them before looking for a formula.
  if (/^[=+\-@\t\r]|^\s+[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

const line = (cells: readonly string[]): string => `${cells.join(',')}\r\n`;

export const csvFormat: BatchFormat = {
  name: 'csv',
  extension: 'csv',
  mediaType: 'text/csv; charset=utf-8',
  head: (_meta, options) => `${options?.bom ? '\uFEFF' : ''}${line(csvColumns.map((c) => c.name))}`,
  row(finding, meta) {
    const f = publicFinding(finding);
    return line(csvColumns.map((c) => csvCell(c.value(f, meta))));
  },
  tail: () => '',
};
