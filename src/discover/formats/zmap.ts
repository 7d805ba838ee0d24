/**
 * zmap CSV output as endpoints (format learnt from zmap's module_csv.c): an optional header naming
 * the fields ("," or, in old versions, ", "), values in that order, strings with a comma in double
 * quotes. zmap's default is the single field saddr with no header: one address per line, the port
 * is whatever the caller scanned. For TCP probes the device's port is `sport` (the reply's source
 * port); `dport` is the scanner's own port and is never the device's. zmap 1.x and 2.x name the
 * time fields `timestamp-ts`, `timestamp-us`, `timestamp-str`; 3.x and later use "_"; both are
 * read. Only zmap's default mode drops failed replies: with -O (2.x) or -O/-f (3.x and later) and
 * no --output-filter, every RST comes out as a row too (checked against real zmap 2.1.1), so a
 * header without `success` or `classification` is refused: such a file cannot tell open ports from
 * closed ones. A headerless address list is taken as default-mode output (successes only); zmap
 * 2.x `-O csv` without -f writes the same layout unfiltered, which no reader can detect.
 */
import { splitCsvLine } from '../../core/csv.js';
import { parseIpv4 } from '../../core/ip.js';
import { checkIp, checkPort, endpoint, excerpt, unixToIso, type ImportFormatSpec, type LineParser } from './format.js';

export const zmapCsv: ImportFormatSpec<'zmap-csv'> = {
  name: 'zmap-csv',
  detect: (t) => splitCsv(t)?.includes('saddr') === true || parseIpv4(t) !== undefined,
  parse: ({ port, fallbackSeenAt }) => zmapCsvParser(port, fallbackSeenAt),
};

/** zmap's fields: "," separated (old versions ", "), a value with a comma in double quotes. */
function splitCsv(line: string): string[] | undefined {
  const split = splitCsvLine(line);
  return 'fields' in split ? split.fields : undefined;
}

interface ZmapColumns {
  readonly count: number;
  readonly saddr: number;
  readonly sport?: number;
  readonly success?: number;
  readonly classification?: number;
  readonly repeat?: number;
  readonly ts?: number;
  readonly us?: number;
  readonly str?: number;
}

function zmapCsvParser(port: number | undefined, fallbackSeenAt: string): LineParser {
  let columns: ZmapColumns | undefined;
  let first = true;
  return {
    parse(line) {
      const t = line.trim();
      if (t === '') return 'blank';
      if (first) {
        first = false;
        // zmap 1.x/2.x spell multi-word fields with "-" (timestamp-ts), 3.x and later with "_".
        const fields = splitCsv(t)?.map((f) => f.replace(/-/g, '_'));
        if (fields?.includes('saddr')) {
          const at = (name: string) => (fields.indexOf(name) === -1 ? undefined : fields.indexOf(name));
          columns = {
            count: fields.length,
            saddr: fields.indexOf('saddr'),
            sport: at('sport'),
            success: at('success'),
            classification: at('classification'),
            repeat: at('repeat'),
            ts: at('timestamp_ts'),
            us: at('timestamp_us'),
            str: at('timestamp_str'),
          };
          if (columns.sport === undefined && port === undefined) {
            return { problem: 'no "sport" column and no port given', hint: 'pass the port zmap scanned (zmap -p)', fatal: true };
          }
          if (columns.success === undefined && columns.classification === undefined) {
            return {
              problem: 'no "success" or "classification" column: zmap writes failed replies (RST) too when -O or -f is given, so open ports cannot be told from closed ones',
              hint: 'rerun zmap with success among the output fields, e.g. -f saddr,sport,success',
              fatal: true,
            };
          }
          return 'blank';
        }
      }
      if (!columns) {
        // zmap's default output: one address per line.
        if (port === undefined) {
          return { problem: 'zmap address list without a port', hint: 'pass the port zmap scanned (zmap -p)', fatal: true };
        }
        const ip = checkIp(t);
        return typeof ip === 'string' ? [endpoint(ip, port, fallbackSeenAt, 'zmap')] : ip;
      }
      const split = splitCsvLine(t);
      if ('problem' in split) return { problem: `${split.problem}: ${excerpt(t)}`, hint: split.hint };
      const f = split.fields;
      if (f.length !== columns.count) return { problem: `expected ${columns.count} fields as in the header, got ${f.length}: ${excerpt(t)}` };
      const get = (i: number | undefined) => (i === undefined ? undefined : (f[i] ?? ''));
      const ip = checkIp(get(columns.saddr) ?? '');
      if (typeof ip !== 'string') return ip;

      const success = get(columns.success);
      const classification = get(columns.classification);
      let open: boolean;
      if (success !== undefined) {
        if (!['1', '0', 'true', 'false'].includes(success)) return { problem: `bad success value ${excerpt(success)}` };
        open = success === '1' || success === 'true';
      } else if (classification !== undefined) {
        open = classification === 'synack';
      } else {
        open = true; // unreachable: a header without success or classification is refused
      }
      const repeat = get(columns.repeat);
      if (repeat === '1' || repeat === 'true') return 'skip'; // zmap already reported this host

      const sportText = get(columns.sport);
      let p = port;
      if (sportText !== undefined && (open || sportText !== '')) {
        const n = /^\d{1,5}$/.test(sportText) ? checkPort(Number(sportText)) : undefined;
        if (n === undefined) return { problem: `bad sport ${excerpt(sportText)}` };
        p = n;
      }
      if (!open) return 'skip';
      if (p === undefined) return { problem: 'no port for this row' };

      let seenAt = fallbackSeenAt;
      const ts = get(columns.ts);
      const str = get(columns.str);
      if (ts !== undefined && ts !== '') {
        const iso = unixToIso(ts, get(columns.us));
        if (iso === undefined) return { problem: `bad timestamp_ts ${excerpt(ts)}` };
        seenAt = iso;
      } else if (str !== undefined && str !== '') {
        const iso = zmapTimeToIso(str);
        if (iso === undefined) return { problem: `bad timestamp_str ${excerpt(str)}` };
        seenAt = iso;
      }
      return [endpoint(ip, p, seenAt, 'zmap')];
    },
  };
}

/** zmap's timestamp_str is strftime "%Y-%m-%dT%H:%M:%S.mmm%z" (offset without a colon). */
function zmapTimeToIso(text: string): string | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}:?\d{2})$/.exec(text);
  if (!m?.[1] || !m[2]) return undefined;
  const zone = m[2] === 'Z' ? 'Z' : `${m[2].slice(0, 3)}:${m[2].slice(-2)}`;
  const ms = Date.parse(`${m[1]}${zone}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

