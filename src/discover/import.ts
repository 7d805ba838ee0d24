/**
 * Import masscan and zmap output as Endpoint records, so a survey can start from a scan made with
 * the reference tools. Files are read as a stream, line by line: a country-sized scan does not fit
 * in memory, and one bad line must not cost the rest.
 *
 * Formats (learnt from the tools' output modules):
 *  - masscan -oJ (out-json.c): "[", then one record per line `{ "ip": "..", "timestamp": "..",
 *    "ports": [ {"port": 80, "proto": "tcp", "status": "open", ...} ] }`, records separated by a
 *    "," line, then "]". Older versions put a trailing "," on every record, ended with
 *    `{finished: 1}` and used bare keys; some runs lose the final "]". Banner records carry
 *    "service" instead of "status". masscan -oD (out-ndjson.c) is one `{ip, timestamp, port, proto,
 *    rec_type, data: {status}}` per line; both are read as 'masscan-json'.
 *  - masscan -oL (out-text.c): "#masscan", then `open tcp 80 1.2.3.4 1700000000`
 *    (status proto port ip unix-time) or `banner tcp 80 1.2.3.4 1700000000 http ...`, then "# end".
 *  - zmap CSV (module_csv.c): an optional header naming the fields ("," or, in old versions, ", "),
 *    values in that order, strings with a comma in double quotes. zmap's default is the single
 *    field saddr with no header: one address per line, the port is whatever the caller scanned.
 *    For TCP probes the device's port is `sport` (the reply's source port); `dport` is the
 *    scanner's own port and is never the device's. zmap 1.x and 2.x name the time fields
 *    `timestamp-ts`, `timestamp-us`, `timestamp-str`; 3.x and later use "_"; both are read.
 *    Only zmap's default mode drops failed replies: with -O (2.x) or -O/-f (3.x and later) and no
 *    --output-filter, every RST comes out as a row too (checked against real zmap 2.1.1), so a
 *    header without `success` or `classification` is refused: such a file cannot tell open ports
 *    from closed ones. A headerless address list is taken as default-mode output (successes only);
 *    zmap 2.x `-O csv` without -f writes the same layout unfiltered, which no reader can detect.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { splitCsvLine } from '../core/csv.js';
import { IotcleanError } from '../core/errors.js';
import { statInputFile, unreadableFile, type FileKind } from '../core/files.js';
import { formatIpv4, looksLikeIpv6, parseIpv4 } from '../core/ip.js';
import type { Endpoint, EndpointSource } from '../core/records.js';

/**
 * One scanner output format: its name, how the first meaningful line of such a file looks, and a
 * parser for one file's lines. Adding a format is writing one of these and one line in `formats`.
 */
interface ImportFormatSpec<N extends string = string> {
  readonly name: N;
  detect(firstLine: string): boolean;
  parse(context: ParseContext): LineParser;
}

interface ParseContext {
  /** The scanned port, for outputs that do not carry one (zmap's default). */
  readonly port: number | undefined;
  /** seenAt for rows without a time of their own. */
  readonly fallbackSeenAt: string;
}

export interface ImportOptions {
  /** Format of the file; 'auto' (default) decides from the first meaningful line. */
  readonly format?: ImportFormat | 'auto';
  /** 'strict' (default) throws at the first bad line; 'lenient' counts it, reports it and goes on. */
  readonly mode?: 'strict' | 'lenient';
  /** The scanned port, for zmap files without a `sport` column (zmap's default output). */
  readonly port?: number;
  /** seenAt for rows that carry no time; defaults to the file's modification time. */
  readonly seenAt?: string;
  /** Lenient mode: called with each bad line's error (the error sink). */
  readonly onError?: (error: IotcleanError) => void;
  /** Lenient mode: give up after this many bad lines (default: never). */
  readonly maxErrors?: number;
}

/** What an import did. Counts are live while it runs and final once iteration ends. */
export interface ImportSummary {
  readonly file: string;
  /** The format read; null while undecided or when the file held nothing. */
  readonly format: ImportFormat | null;
  /** Lines read, blank and comment lines included. */
  readonly lines: number;
  readonly endpoints: number;
  /** Valid rows that are not open TCP ports (closed, banner, udp, zmap rst/repeat, end markers). */
  readonly skipped: number;
  /** Bad lines (lenient mode). */
  readonly errors: number;
  /** The first bad lines' errors, at most `maxErrorSamples`. */
  readonly errorSamples: readonly IotcleanError[];
}

/** One import: iterate it for endpoints, then read its summary. */
export interface ImportRun extends AsyncIterable<Endpoint> {
  readonly summary: ImportSummary;
}

/** How many per-line errors a summary keeps; the count goes on past it. */
export const maxErrorSamples = 100;

/** A line longer than this is not scanner output; refusing it bounds memory on garbage input. */
const maxLineBytes = 1 << 20;

/** Import a masscan or zmap output file as endpoints, streaming. */
export function importScanFile(path: string, options: ImportOptions = {}): ImportRun {
  return makeRun(path, options, async () => {
    const info = await statInputFile(path, scanOutput);
    const input = createReadStream(path);
    return { input, close: () => input.destroy(), fallbackSeenAt: options.seenAt ?? info.mtime.toISOString() };
  });
}

/** Import from an open stream (stdin, a test fixture); `name` is used in messages. */
export function importScanStream(input: NodeJS.ReadableStream, name: string, options: ImportOptions = {}): ImportRun {
  return makeRun(name, options, async () => ({ input, fallbackSeenAt: options.seenAt ?? new Date().toISOString() }));
}

/** Decide the format from the first meaningful line, or undefined when it matches none. */
export function detectFormat(line: string): ImportFormat | undefined {
  const t = line.trim();
  return formats.find((f) => f.detect(t))?.name;
}

// --- the run: streaming, error policy, counting ---------------------------------------------------

interface Opened {
  readonly input: NodeJS.ReadableStream;
  /** Set when the run opened the input itself and so must close it, even when left early. */
  readonly close?: () => void;
  readonly fallbackSeenAt: string;
}

interface Counts {
  file: string;
  format: ImportFormat | null;
  lines: number;
  endpoints: number;
  skipped: number;
  errors: number;
  errorSamples: IotcleanError[];
}

/** What a line parser returns: endpoints, "nothing here", or a problem with the line. */
type LineResult = readonly Endpoint[] | 'skip' | 'blank' | Problem;

/** A bad line; `fatal` when no later line can be read either (then even lenient mode stops). */
interface Problem {
  readonly problem: string;
  readonly hint?: string;
  readonly fatal?: boolean;
}

/** Per-format line parser; it may keep state (the zmap header) between lines. */
interface LineParser {
  parse(line: string): LineResult;
}

function makeRun(file: string, options: ImportOptions, open: () => Promise<Opened>): ImportRun {
  const counts: Counts = { file, format: null, lines: 0, endpoints: 0, skipped: 0, errors: 0, errorSamples: [] };
  return {
    get summary(): ImportSummary {
      return Object.freeze({ ...counts, errorSamples: Object.freeze([...counts.errorSamples]) });
    },
    [Symbol.asyncIterator]: () => run(file, options, open, counts),
  };
}

async function* run(file: string, options: ImportOptions, open: () => Promise<Opened>, counts: Counts): AsyncGenerator<Endpoint> {
  Object.assign(counts, { format: null, lines: 0, endpoints: 0, skipped: 0, errors: 0, errorSamples: [] });
  const mode = options.mode ?? 'strict';
  const maxErrors = options.maxErrors ?? Infinity;
  if (options.port !== undefined && !(Number.isInteger(options.port) && options.port >= 1 && options.port <= 65535)) {
    throw new IotcleanError('E_IMPORT_FILE', `port option must be in 1..65535, got ${options.port}`, { file });
  }
  if (options.seenAt !== undefined && Number.isNaN(Date.parse(options.seenAt))) {
    throw new IotcleanError('E_IMPORT_FILE', `seenAt option is not a date: ${options.seenAt}`, { file });
  }

  const { input, close, fallbackSeenAt } = await open();
  const guard = new LineLengthGuard(maxLineBytes);
  // readline does not see errors of its input, so carry them through the guard it reads from.
  input.on('error', (e: Error) => guard.destroy(e));
  input.pipe(guard);
  const lines = createInterface({ input: guard, crlfDelay: Infinity });

  let parser: LineParser | undefined;
  const report = (lineNo: number, { problem, hint, fatal }: Problem): void => {
    const error = new IotcleanError('E_IMPORT_FILE', `${counts.format ?? 'scan output'}: ${problem}`, {
      file,
      line: lineNo,
      ...(hint ? { hint } : {}),
    });
    if (mode === 'strict' || fatal) throw error;
    counts.errors++;
    if (counts.errorSamples.length < maxErrorSamples) counts.errorSamples.push(error);
    options.onError?.(error);
    if (counts.errors > maxErrors) {
      throw new IotcleanError('E_IMPORT_FILE', `more than ${maxErrors} bad lines; giving up`, {
        file,
        line: lineNo,
        hint: 'is this the right file and format?',
      });
    }
  };

  try {
    for await (const raw of lines) {
      const lineNo = ++counts.lines;
      const line = lineNo === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (!parser) {
        if (line.trim() === '') continue;
        // Scanner output is text; NUL or undecodable bytes in the first line mean a binary file.
        if (/[\u0000\uFFFD]/.test(line)) {
          throw new IotcleanError('E_IMPORT_FILE', 'binary data, not masscan or zmap text output', {
            file,
            line: lineNo,
            hint: 'masscan binary output (-oB) must be converted first: masscan --readscan FILE -oL out.txt',
          });
        }
        const format = options.format && options.format !== 'auto' ? options.format : detectFormat(line);
        if (!format) {
          throw new IotcleanError('E_IMPORT_FILE', `cannot tell the format from: ${excerpt(line)}`, {
            file,
            line: lineNo,
            hint: `give the format explicitly (${importFormats.join(', ')})`,
          });
        }
        counts.format = format;
        parser = formatNamed(format).parse({ port: options.port, fallbackSeenAt });
      }
      const result = parser.parse(line);
      if (result === 'blank') continue;
      if (result === 'skip') counts.skipped++;
      else if ('problem' in result) report(lineNo, result);
      else
        for (const endpoint of result) {
          counts.endpoints++;
          yield endpoint;
        }
    }
  } catch (e) {
    if (e instanceof IotcleanError) throw e;
    if ((e as NodeJS.ErrnoException).code === 'ELINETOOLONG') {
      throw new IotcleanError('E_IMPORT_FILE', (e as Error).message, { file, line: counts.lines + 1 });
    }
    throw unreadable(file, e);
  } finally {
    lines.close();
    guard.destroy();
    close?.();
  }
}

const scanOutput: FileKind = { code: 'E_IMPORT_FILE', name: 'scan output', hint: 'give the path of a masscan or zmap output file' };

function unreadable(file: string, e: unknown): IotcleanError {
  return unreadableFile(file, scanOutput, e);
}

/** Passes bytes through, failing when a line grows past `limit` bytes (readline would buffer it all). */
class LineLengthGuard extends Transform {
  private run = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer | string, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      if (this.run + nl - start > this.limit) return done(lineTooLong(this.limit));
      this.run = 0;
      start = nl + 1;
    }
    this.run += buf.length - start;
    if (this.run > this.limit) return done(lineTooLong(this.limit));
    done(null, buf);
  }
}

function lineTooLong(limit: number): Error {
  return Object.assign(new Error(`a line is longer than ${limit} bytes: not scanner text output`), { code: 'ELINETOOLONG' });
}

function excerpt(line: string): string {
  const shown = line.length > 60 ? `${line.slice(0, 60)}...` : line;
  return JSON.stringify(shown).replace(/\\u0000/g, '\\0');
}

// --- formats --------------------------------------------------------------------------------------

const masscanList: ImportFormatSpec<'masscan-list'> = {
  name: 'masscan-list',
  detect: (t) => t.startsWith('#masscan') || /^(open|closed|up|unknown|banner)\s+(tcp|udp|sctp|icmp|arp|err)\s/.test(t),
  parse: () => masscanListParser(),
};

const masscanJson: ImportFormatSpec<'masscan-json'> = {
  name: 'masscan-json',
  detect: (t) => t.startsWith('[') || t.startsWith('{'),
  parse: ({ fallbackSeenAt }) => masscanJsonParser(fallbackSeenAt),
};

const zmapCsv: ImportFormatSpec<'zmap-csv'> = {
  name: 'zmap-csv',
  detect: (t) => splitCsv(t)?.includes('saddr') === true || parseIpv4(t) !== undefined,
  parse: ({ port, fallbackSeenAt }) => zmapCsvParser(port, fallbackSeenAt),
};

/** The registry, in detection order (the first whose `detect` accepts a file's first line wins). */
const formats = [masscanList, masscanJson, zmapCsv] as const;

/** Scanner output formats the importer reads. */
export type ImportFormat = (typeof formats)[number]['name'];
export const importFormats: readonly ImportFormat[] = formats.map((f) => f.name).sort();

function formatNamed(name: ImportFormat): ImportFormatSpec {
  const format = formats.find((f) => f.name === name);
  if (!format) throw new IotcleanError('E_ARGS', `unknown import format "${name}"`, { hint: `one of ${importFormats.join(', ')}` });
  return format;
}

function endpoint(ip: string, port: number, seenAt: string, source: EndpointSource): Endpoint {
  return Object.freeze({ kind: 'endpoint', ip, port, seenAt, source });
}

/** Strict dotted quad, refusing inet_aton spellings; returns the canonical text or a problem. */
function checkIp(text: string): string | { readonly problem: string } {
  const n = parseIpv4(text);
  if (n !== undefined) return formatIpv4(n);
  if (looksLikeIpv6(text)) return { problem: `IPv6 address ${excerpt(text)} is not supported` };
  return { problem: `bad IPv4 address ${excerpt(text)}` };
}

function checkPort(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535 ? n : undefined;
}

/** Unix seconds (number or decimal text) to ISO 8601, or undefined when not a sane time. */
function unixToIso(value: unknown, micros?: unknown): string | undefined {
  const s = typeof value === 'number' ? value : typeof value === 'string' && /^\d{1,12}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(s) || s < 0 || s > 253402300799) return undefined; // up to 9999-12-31
  let ms = s * 1000;
  if (micros !== undefined && micros !== '') {
    const us = typeof micros === 'string' && /^\d{1,6}$/.test(micros) ? Number(micros) : NaN;
    if (Number.isNaN(us)) return undefined;
    ms += Math.floor(us / 1000);
  }
  return new Date(ms).toISOString();
}

// masscan -oJ / -oD ----------------------------------------------------------------------------------

function masscanJsonParser(fallbackSeenAt: string): LineParser {
  return {
    parse(line) {
      let t = line.trim();
      // Array punctuation around records, in all the layouts masscan versions have written.
      if (t.startsWith('[')) t = t.slice(1).trim();
      if (t.startsWith(',')) t = t.slice(1).trim();
      if (t.endsWith(']') && t.slice(0, -1).trimEnd().endsWith('}')) t = t.slice(0, -1).trimEnd();
      if (t.endsWith(',')) t = t.slice(0, -1).trimEnd();
      if (t === '' || t === ']') return 'blank';
      if (!t.startsWith('{')) return { problem: `not a masscan JSON record: ${excerpt(t)}` };
      const record = t.endsWith('}') ? parseRecord(t) : undefined;
      if (record === undefined) {
        return { problem: `broken JSON record (truncated?): ${excerpt(t)}`, hint: 'masscan writes each record whole on one line' };
      }
      return masscanRecord(record, fallbackSeenAt);
    },
  };
}

function parseRecord(text: string): Record<string, unknown> | undefined {
  const asObject = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  try {
    return asObject(JSON.parse(text));
  } catch {
    // masscan before 1.0.4 wrote JavaScript-style bare keys: { ip: "10.0.0.1", ports: [ {port: 80, ...} ] }.
    // Quote them and try once more; records that still fail are reported as broken.
    try {
      return asObject(JSON.parse(text.replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:/g, '$1"$2":')));
    } catch {
      return undefined;
    }
  }
}

function masscanRecord(r: Record<string, unknown>, fallbackSeenAt: string): LineResult {
  if ('finished' in r && !('ip' in r)) return 'skip'; // the old end marker
  if (typeof r.ip !== 'string') return { problem: 'record has no "ip"' };
  const ip = checkIp(r.ip);
  if (typeof ip !== 'string') return ip;
  let seenAt = fallbackSeenAt;
  if (r.timestamp !== undefined) {
    const iso = unixToIso(r.timestamp);
    if (iso === undefined) return { problem: `bad timestamp ${excerpt(String(r.timestamp))}` };
    seenAt = iso;
  }

  // -oD: one port per record, status under "data".
  if (!('ports' in r)) {
    if (r.rec_type !== undefined && r.rec_type !== 'status') return 'skip';
    const data = r.data as { status?: unknown } | undefined;
    return masscanPort({ port: r.port, proto: r.proto, status: data?.status }, ip, seenAt);
  }
  if (!Array.isArray(r.ports) || r.ports.length === 0) return { problem: '"ports" must be a non-empty list' };
  const out: Endpoint[] = [];
  for (const p of r.ports) {
    if (p === null || typeof p !== 'object') return { problem: '"ports" entries must be objects' };
    const one = masscanPort(p as Record<string, unknown>, ip, seenAt);
    if (typeof one === 'object' && 'problem' in one) return one;
    if (Array.isArray(one)) out.push(...(one as Endpoint[]));
  }
  return out.length > 0 ? out : 'skip';
}

function masscanPort(p: Record<string, unknown>, ip: string, seenAt: string): LineResult {
  if (p.status === undefined) return 'service' in p ? 'skip' : { problem: 'port entry has neither "status" nor "service"' };
  if (typeof p.proto !== 'string' || typeof p.status !== 'string') return { problem: '"proto" and "status" must be text' };
  // ICMP and ARP records carry port 0; only TCP ports make endpoints.
  if (p.proto !== 'tcp') return 'skip';
  const port = typeof p.port === 'number' ? checkPort(p.port) : undefined;
  if (port === undefined) return { problem: `bad port ${excerpt(String(p.port))}` };
  return p.status === 'open' ? [endpoint(ip, port, seenAt, 'masscan')] : 'skip';
}

// masscan -oL --------------------------------------------------------------------------------------

function masscanListParser(): LineParser {
  return {
    parse(line) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) return 'blank';
      const f = t.split(/\s+/);
      const [status, proto, portText, ipText, time] = f;
      if (status === 'banner') return f.length >= 6 ? 'skip' : { problem: `short banner line: ${excerpt(t)}` };
      if (f.length !== 5 || !status || !proto || !portText || !ipText || !time) {
        return { problem: `expected "status proto port ip time", got ${excerpt(t)}` };
      }
      // Values of masscan's status_string() and name_from_ip_proto() (output.c).
      if (!['open', 'closed', 'up', 'unknown'].includes(status)) return { problem: `unknown status ${excerpt(status)}` };
      if (!['tcp', 'udp', 'sctp', 'icmp', 'arp', 'err'].includes(proto)) {
        return { problem: `unknown protocol ${excerpt(proto)}` };
      }
      const ip = checkIp(ipText);
      if (typeof ip !== 'string') return ip;
      const seenAt = unixToIso(time);
      if (seenAt === undefined) return { problem: `bad timestamp ${excerpt(time)}` };
      if (proto !== 'tcp') return 'skip';
      const port = /^\d{1,5}$/.test(portText) ? checkPort(Number(portText)) : undefined;
      if (port === undefined) return { problem: `bad port ${excerpt(portText)}` };
      return status === 'open' ? [endpoint(ip, port, seenAt, 'masscan')] : 'skip';
    },
  };
}

// zmap CSV -----------------------------------------------------------------------------------------

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
