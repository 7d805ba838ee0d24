/**
 * RADIUS accounting as CSV, as ISPs export it from an accounting database. Documented header (any
 * column order, names case-insensitive; extra columns ignored):
 *
 *   timestamp,status,session_id,user_name,framed_ip,calling_station_id,session_time,nas_ip
 *
 * timestamp: ISO 8601 or Unix seconds; status: Start | Interim-Update | Stop | Accounting-On |
 * Accounting-Off (or RFC 2866 numbers 1, 3, 2, 7, 8); session_time in seconds; calling_station_id
 * the MAC; nas_ip optional. Required: timestamp, status, session_id, user_name, framed_ip.
 */
import { IotcleanError } from '../../../core/errors.js';
import { canonicalIp, headerIndex, normaliseMac, parseLogTime, splitCsvLine } from './fields.js';
import { acctStatus, pairAccounting, type AcctEvent } from './radius-pairing.js';
import type { LogLine, ParseItem, SessionLogParser } from './types.js';

export const radiusCsvHeader = ['timestamp', 'status', 'session_id', 'user_name', 'framed_ip', 'calling_station_id', 'session_time', 'nas_ip'] as const;
const required = ['timestamp', 'status', 'session_id', 'user_name', 'framed_ip'];

async function* events(lines: AsyncIterable<LogLine>): AsyncIterable<AcctEvent | ParseItem> {
  let cols: Map<string, number> | undefined;
  for await (const l of lines) {
    if (l.text.trim() === '' || l.text.startsWith('#')) continue;
    const cells = splitCsvLine(l.text);
    if (!cells) {
      yield { kind: 'problem', line: l.n, message: 'unterminated quote' };
      continue;
    }
    if (!cols) {
      const h = headerIndex(cells);
      const missing = required.filter((c) => !h.has(c));
      if (missing.length > 0) {
        throw new IotcleanError('E_SESSION_LOG', `RADIUS CSV header lacks ${missing.join(', ')}`, { line: l.n, hint: `the first line must name the columns: ${radiusCsvHeader.join(',')}` });
      }
      cols = h;
      continue;
    }
    const get = (name: string): string => (cols!.has(name) ? (cells[cols!.get(name)!] ?? '').trim() : '');
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
    const h = head[0]?.toLowerCase() ?? '';
    return h.includes('session_id') && h.includes('framed_ip');
  },
  parse: (lines) => pairAccounting(events(lines)),
};
