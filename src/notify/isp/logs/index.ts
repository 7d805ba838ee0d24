/**
 * The session-log formats (one line each) and the runner that reads one file: it opens and
 * streams the file, picks the format (--format auto looks at the first lines), resolves DHCP
 * leases to subscribers by MAC or client id, and sends each malformed line to `onProblem` with
 * its file and line while the rest is imported. A file that cannot be read at all is E_SESSION_LOG.
 */
import { open } from 'node:fs/promises';
import { IotcleanError, isIotcleanError } from '../../../core/errors.js';
import type { SessionRecord, SessionSource } from '../types.js';
import { cgnatParser } from './cgnat.js';
import { own } from './fields.js';
import { dhcpdLeasesParser } from './dhcpd-leases.js';
import { keaCsvParser } from './kea-csv.js';
import { fileLines, textLines } from './lines.js';
import { radiusCsvParser } from './radius-csv.js';
import { radiusDetailParser } from './radius-detail.js';
import type { LogLine, RawSession, SessionLogParser } from './types.js';

/** Every format by name; detection tries them in this order. */
export const sessionLogParsers = {
  'radius-detail': radiusDetailParser,
  'radius-csv': radiusCsvParser,
  'dhcpd-leases': dhcpdLeasesParser,
  'kea-csv': keaCsvParser,
  cgnat: cgnatParser,
} as const satisfies Record<SessionSource, SessionLogParser>;

export type SessionLogFormat = SessionSource | 'auto';

/** A malformed line (or record), reported with where it is; the rest of the file is imported. */
export interface SessionLogProblem {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

/** MAC / DHCP client id → subscriber, from the subscriber file (see ../subscribers-file.ts). */
export interface SubscriberKeys {
  readonly byMac: ReadonlyMap<string, string>;
  readonly byClientId: ReadonlyMap<string, string>;
}

export const noKeys: SubscriberKeys = { byMac: new Map(), byClientId: new Map() };

export interface ReadOptions {
  readonly format?: SessionLogFormat;
  readonly keys?: SubscriberKeys;
  readonly onProblem?: (p: SessionLogProblem) => void;
  /** Name recorded in each row (default: the path). */
  readonly fileName?: string;
}

/** How many first non-empty lines auto-detection looks at. */
const headLines = 20;

/** The record a raw session becomes; the subscriber is '' when a lease's MAC is in no row. */
export function toSessionRecord(s: RawSession, source: SessionSource, file: string, keys: SubscriberKeys): SessionRecord {
  const subscriber = s.subscriber ?? (s.mac !== null ? keys.byMac.get(s.mac) : undefined) ?? (s.clientId !== null ? keys.byClientId.get(s.clientId) : undefined) ?? '';
  return {
    subscriber,
    ip: s.ip,
    portFirst: s.portFirst,
    portLast: s.portLast,
    start: new Date(s.start).toISOString(),
    end: s.end === null ? null : new Date(s.end).toISOString(),
    mac: s.mac,
    source,
    file,
    line: s.line,
  };
}

async function* chain(head: readonly LogLine[], rest: AsyncIterator<LogLine>): AsyncIterable<LogLine> {
  yield* head;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/** Picks the parser: the named one, or the first whose detect() accepts the head. */
async function choose(lines: AsyncIterable<LogLine>, format: SessionLogFormat, file: string): Promise<{ parser: SessionLogParser; lines: AsyncIterable<LogLine> }> {
  if (format !== 'auto') {
    const parser = own(sessionLogParsers as Record<string, SessionLogParser>, format);
    if (!parser) throw new IotcleanError('E_ARGS', `unknown session-log format "${format}"`, { hint: `use auto or one of ${Object.keys(sessionLogParsers).join(', ')}` });
    return { parser, lines };
  }
  const it = lines[Symbol.asyncIterator]();
  const head: LogLine[] = [];
  let scanned = 0;
  while (head.filter((l) => l.text.trim() !== '').length < headLines && scanned < 10_000) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    scanned++;
  }
  const texts = head.map((l) => l.text).filter((t) => t.trim() !== '' && !t.trimStart().startsWith('#'));
  const parser = Object.values(sessionLogParsers).find((p) => p.detect(texts)) as SessionLogParser | undefined;
  if (!parser) {
    throw new IotcleanError('E_SESSION_LOG', 'not a session log iotclean knows (RADIUS detail or CSV, dhcpd.leases, Kea lease CSV, CGNAT port-block log)', {
      file,
      hint: `name the format with --format (${Object.keys(sessionLogParsers).join(', ')})`,
    });
  }
  return { parser, lines: chain(head, it) };
}

/** Sessions of one log's lines (a file or text), resolved to subscribers. */
export async function* readSessionLines(lines: AsyncIterable<LogLine>, file: string, options: ReadOptions = {}): AsyncIterable<SessionRecord> {
  const { parser, lines: body } = await choose(lines, options.format ?? 'auto', file);
  const keys = options.keys ?? noKeys;
  try {
    for await (const item of parser.parse(body)) {
      if (item.kind === 'session') yield toSessionRecord(item.session, parser.name, options.fileName ?? file, keys);
      else options.onProblem?.({ file, line: item.line, message: item.message });
    }
  } catch (e) {
    if (isIotcleanError(e)) throw new IotcleanError(e.code, e.message, { ...e.where, file });
    throw e;
  }
}

/** Sessions of one session-log file, streamed; E_SESSION_LOG when it cannot be opened or read. */
export async function* readSessionLog(path: string, options: ReadOptions = {}): AsyncIterable<SessionRecord> {
  try {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    await fh.close();
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
  } catch (e) {
    throw new IotcleanError('E_SESSION_LOG', `cannot read session log: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path, hint: 'check the path and its permissions' });
  }
  yield* readSessionLines(fileLines(path), path, options);
}

/** Sessions of an in-memory log (tests, the lab). */
export function readSessionText(text: string, file: string, options: ReadOptions = {}): AsyncIterable<SessionRecord> {
  return readSessionLines(textLines(text), file, options);
}
