/**
 * RADIUS accounting as CSV, as ISPs export it from an accounting database. Documented header (any
 * column order, names case-insensitive; extra columns ignored):
 *
 *   timestamp,status,session_id,user_name,framed_ip,calling_station_id,session_time,nas_ip
 *
 * timestamp: ISO 8601 or Unix seconds; status: Start | Interim-Update | Stop | Accounting-On |
 * Accounting-Off (or RFC 2866 numbers 1, 3, 2, 7, 8); session_time in seconds; calling_station_id
 * the MAC; nas_ip optional. Required: timestamp, status, session_id, user_name, framed_ip.
 * RADIUS attribute names are accepted as column names too (Acct-Status-Type, Framed-IP-Address,
 * User-Name, Acct-Session-Id, Event-Timestamp, Calling-Station-Id, Acct-Session-Time,
 * NAS-IP-Address), semicolon- or tab-separated files too, and so is a CSV export of FreeRADIUS's SQL `radacct` table, one row per
 * session (acctsessionid, username, framedipaddress, acctstarttime, acctstoptime — empty while
 * open —, callingstationid, nasipaddress).
 */
import { IotcleanError } from '../../../core/errors.js';
import { canonicalIp, csvDelimiter, normaliseMac, own, parseLogTime, splitCsvLine } from './fields.js';
import { acctStatus, pairAccounting, type AcctEvent } from './radius-pairing.js';
import type { LogLine, ParseItem, SessionLogParser } from './types.js';

export const radiusCsvHeader = ['timestamp', 'status', 'session_id', 'user_name', 'framed_ip', 'calling_station_id', 'session_time', 'nas_ip'] as const;
const required = ['timestamp', 'status', 'session_id', 'user_name', 'framed_ip'];

/** Column name (lower case, letters and digits only) → canonical name. */
const aliases: Readonly<Record<string, string>> = {
  timestamp: 'timestamp',
  eventtimestamp: 'timestamp',
  time: 'timestamp',
  status: 'status',
  acctstatustype: 'status',
  sessionid: 'session_id',
  acctsessionid: 'session_id',
  username: 'user_name',
  framedip: 'framed_ip',
  framedipaddress: 'framed_ip',
  callingstationid: 'calling_station_id',
  sessiontime: 'session_time',
  acctsessiontime: 'session_time',
  nasip: 'nas_ip',
  nasipaddress: 'nas_ip',
  acctstarttime: 'start_time',
  acctstoptime: 'stop_time',
};

function canonicalHeader(cells: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  cells.forEach((c, i) => {
    const name = own(aliases, c.trim().toLowerCase().replace(/[^a-z0-9]/g, ''));
    if (name !== undefined && !out.has(name)) out.set(name, i);
  });
  return out;
}

async function* events(lines: AsyncIterable<LogLine>): AsyncIterable<AcctEvent | ParseItem> {
  let cols: Map<string, number> | undefined;
  let radacct = false;
  let delimiter = ',';
  for await (const l of lines) {
    if (l.text.trim() === '' || l.text.startsWith('#')) continue;
    if (!cols) delimiter = csvDelimiter(l.text);
    const cells = splitCsvLine(l.text, delimiter);
    if (!cells) {
      yield { kind: 'problem', line: l.n, message: 'unterminated quote' };
      continue;
    }
    if (!cols) {
      const h = canonicalHeader(cells);
      radacct = h.has('start_time') && !h.has('status');
      const missing = (radacct ? ['start_time', 'session_id', 'user_name', 'framed_ip'] : required).filter((c) => !h.has(c));
      if (missing.length > 0) {
        throw new IotcleanError('E_SESSION_LOG', `RADIUS CSV header lacks ${missing.join(', ')}`, { line: l.n, hint: `the first line must name the columns: ${radiusCsvHeader.join(',')}` });
      }
      cols = h;
      continue;
    }
    const get = (name: string): string => (cols!.has(name) ? (cells[cols!.get(name)!] ?? '').trim() : '');
    if (radacct) {
      // One row per session: a Start, and a Stop when it has ended.
      const start = parseLogTime(get('start_time'));
      const stopText = get('stop_time');
      const stop = stopText === '' || /^0000-00-00/.test(stopText) || stopText.toLowerCase() === 'null' ? null : parseLogTime(stopText);
      const ip = canonicalIp(get('framed_ip'));
      if (start === undefined || stop === undefined || ip === undefined) {
        yield { kind: 'problem', line: l.n, message: `bad ${start === undefined ? `acctstarttime "${get('start_time').slice(0, 40)}"` : stop === undefined ? `acctstoptime "${stopText.slice(0, 40)}"` : `framedipaddress "${get('framed_ip').slice(0, 40)}"`}` };
        continue;
      }
      const common = { line: l.n, sessionId: get('session_id') || null, nas: get('nas_ip'), user: get('user_name') || null, ip, mac: normaliseMac(get('calling_station_id')), sessionTime: null };
      yield { ...common, status: 'start', time: start };
      if (stop !== null) yield { ...common, status: 'stop', time: stop };
      continue;
    }
    const status = acctStatus(get('status'));
    const time = parseLogTime(get('timestamp'));
    const ip = get('framed_ip') === '' ? null : canonicalIp(get('framed_ip'));
    if (status === undefined || time === undefined || ip === undefined) {
      const what = status === undefined ? `status "${get('status').slice(0, 30)}"` : time === undefined ? `timestamp "${get('timestamp').slice(0, 40)}"` : `framed_ip "${get('framed_ip').slice(0, 40)}"`;
      yield { kind: 'problem', line: l.n, message: `bad ${what}` };
      continue;
    }
    const st = get('session_time');
    yield {
      line: l.n,
      status,
      sessionId: get('session_id') || null,
      nas: get('nas_ip'),
      user: get('user_name') || null,
      ip,
      mac: normaliseMac(get('calling_station_id')),
      time,
      sessionTime: /^\d{1,10}$/.test(st) ? Number(st) : null,
    };
  }
}

export const radiusCsvParser: SessionLogParser = {
  name: 'radius-csv',
  detect: (head) => {
    const cells = head[0] === undefined ? undefined : splitCsvLine(head[0], csvDelimiter(head[0]));
    if (!cells || cells.length < 3) return false;
    const h = canonicalHeader(cells);
    return h.has('session_id') && h.has('framed_ip');
  },
  parse: (lines) => pairAccounting(events(lines)),
};
