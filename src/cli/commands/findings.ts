/**
 * `iotclean findings`: the stored findings, filtered by kind, ISP (or held), survey and period.
 * With --json, JSON Lines: one finding per line, field names as the record (docs/findings.md).
 * Otherwise one line per finding, then counts per kind, per ISP and per hold reason. Device text
 * is shown safely: control characters, lone surrogates and bidirectional overrides are escaped,
 * so a hostile banner cannot move the cursor, recolour or reorder the terminal.
 */
import { IotcleanError } from '../../core/errors.js';
import { findingKinds, type Finding } from '../../core/records.js';
import { deriveSurveyFindings } from '../../findings/survey.js';
import { storedSurveyFindingSources } from '../../pipeline/vuln-data.js';
import type { FindingFilter } from '../../findings/types.js';
import { loadIspTable } from '../../scope/isp.js';
import { defineCommand } from '../command.js';
import { storeOption, withStore } from '../context.js';

/**
 * Text safe to print on a terminal: C0/C1 controls, DEL, lone surrogates and bidi controls as
 * \uXXXX escapes, cut to `max` characters (with "…").
 */
export function safeText(s: string, max = 80): string {
  const escaped = s.replace(
    /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\\]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    (c) => (c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  );
  return escaped.length > max ? `${escaped.slice(0, max - 1)}…` : escaped;
}

/** The few words that say what this finding is about, per kind. */
function detailText(f: Finding): string {
  const d = f.details;
  switch (f.kind) {
    case 'weak-credential':
      return `entry ${String(d.entry)}${d.username === null ? '' : ` user "${safeText(String(d.username), 32)}"`}`;
    case 'firmware-vulnerability': {
      const cves = (d.cves as { cve: string }[]).map((c) => c.cve);
      return `${cves.slice(0, 3).join(' ')}${cves.length > 3 ? ` +${cves.length - 3}` : ''}`;
    }
    case 'infected':
      return `${String(d.fingerprint)}, ${String(d.packets)} packets to ${String(d.destinations)} addresses`;
    case 'exposed-service':
      return `${String(d.service)}: ${safeText(String(d.reason), 48)}`;
    case 'unauthenticated-admin':
      return `${safeText(String(d.path), 32)}${d.title === null ? '' : ` "${safeText(String(d.title), 40)}"`}`;
    case 'end-of-life':
      return `end of life ${String(d.endOfLife ?? 'unknown')}, released ${String(d.releaseYear ?? 'unknown')}`;
    case 'c2-server':
      return `score ${String(d.score)}`;
  }
}

/** One finding as a line for people. */
export function findingLine(f: Finding): string {
  const where = f.port === null ? f.ip : `${f.ip}:${f.port}`;
  const to = f.isp ?? `held:${f.held}`;
  const device = [f.device.vendor, f.device.model, f.device.firmware].filter((x) => x !== null).join(' ');
  return [
    String(f.id ?? '-').padStart(6),
    f.kind.padEnd(22),
    where.padEnd(21),
    f.severity.padEnd(8),
    f.period.padEnd(10),
    to.padEnd(16),
    `${device === '' ? '(device unknown)' : safeText(device, 48)}  ${detailText(f)}`,
  ].join(' ');
}

const countLine = (title: string, m: ReadonlyMap<string | null, number>, nullName: string): string =>
  `${title}: ${m.size ? [...m].map(([k, n]) => `${k ?? nullName} ${n}`).join(', ') : 'none'}`;

export const findingsCommand = defineCommand({
  name: 'findings',
  description: 'List stored findings (one per kind, address, port and period), with counts per kind and per ISP.',
  options: {
    kind: { type: 'string', value: 'K', choices: findingKinds, description: 'only this kind' },
    isp: { type: 'string', value: 'ID', description: 'only findings sent to this ISP' },
    held: { type: 'boolean', description: 'only held findings (no participating ISP to send them to)', default: false },
    survey: { type: 'number', value: 'ID', integer: true, min: 1, description: 'only findings of this survey' },
    period: { type: 'string', value: 'P', description: 'only this period (YYYY-MM, or YYYY-MM-DD for darknet findings)' },
    derive: { type: 'boolean', description: "first derive the --survey's findings from what it stored (weak credentials, vulnerable firmware, exposed services, open admin pages, end of life), attributed with --isps", default: false },
    isps: { type: 'string', value: 'FILE', description: 'prefix→ISP table for --derive' },
    ...storeOption,
  },
  async run(o, _args, out) {
    if (o.held && o.isp !== undefined) {
      throw new IotcleanError('E_ARGS', 'give --isp ID or --held, not both', { hint: 'held findings have no ISP: iotclean findings --held' });
    }
    if (o.period !== undefined && !/^\d{4}-\d{2}(-\d{2})?$/.test(o.period)) {
      throw new IotcleanError('E_ARGS', `--period must be YYYY-MM or YYYY-MM-DD, got "${o.period}"`, { hint: 'e.g. --period 2026-12' });
    }
    if (o.derive && (o.survey === undefined || o.isps === undefined)) {
      throw new IotcleanError('E_ARGS', '--derive needs --survey ID and --isps FILE', { hint: 'e.g. iotclean findings --derive --survey 3 --isps isps.csv' });
    }
    const table = o.derive ? await loadIspTable(o.isps!) : undefined;
    const filter: FindingFilter = {
      ...(o.kind !== undefined ? { kind: o.kind } : {}),
      ...(o.held ? { isp: null } : o.isp !== undefined ? { isp: o.isp } : {}),
      ...(o.survey !== undefined ? { surveyId: o.survey } : {}),
      ...(o.period !== undefined ? { period: o.period } : {}),
    };
    await withStore(
      o.db,
      async (store) => {
        if (table) {
          const c = await deriveSurveyFindings(store, o.survey!, table, { extra: storedSurveyFindingSources(store, o.survey!), onError: (f) => out.info(`skipped ${f.item}: ${f.error instanceof Error ? f.error.message : String(f.error)}`) });
          out.info(`survey ${o.survey}: ${c.read.access} weak-credential results → ${c.stored} findings (${Object.values(c.held).reduce((a, b) => a + b, 0)} held), ${c.failed} failed`);
        }
        // Streamed page by page: a national survey holds millions of findings.
        await out.stream(store.findings.list(filter), findingLine, { jsonLines: true });
        if (out.json) return;
        const [kinds, isps, held] = await Promise.all([store.findings.countBy('kind', filter), store.findings.countBy('isp', filter), store.findings.countBy('held', filter)]);
        const total = [...kinds.values()].reduce((a, b) => a + b, 0);
        held.delete(null);
        out.result([`${total} findings`, countLine('per kind', kinds, '?'), countLine('per ISP', isps, 'held'), countLine('held', held, '?')].join('\n'), undefined);
      },
      { readOnly: !o.derive },
    );
  },
});
