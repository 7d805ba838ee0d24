/** Small converters shared by the session-log parsers: times, MACs, client ids, CSV fields. */
import { formatIpv4, parseIpv4 } from '../../../core/ip.js';

/** A table entry by key, never an inherited property ("constructor", "__proto__" in hostile input). */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

const months: Readonly<Record<string, number>> = { jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11 };

/** Zone names RADIUS servers write after Event-Timestamp; anything else must be a numeric offset. */
const zones: Readonly<Record<string, number>> = { utc: 0, gmt: 0, z: 0, jst: 9 * 60 };

function zoneMinutes(z: string | undefined): number | undefined {
  if (z === undefined || z === '') return 0;
  const named = own(zones, z.toLowerCase());
  if (named !== undefined) return named;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(z);
  if (!m) return undefined;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

function utc(y: number, mo: number, d: number, h: number, mi: number, s: number, offsetMin: number): number | undefined {
  if (mo < 0 || mo > 11 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return undefined;
  const t = Date.UTC(y, mo, d, h, mi, s) - offsetMin * 60_000;
  return Number.isFinite(t) ? t : undefined;
}

/** Reasonable epoch range for a session time: 1990 to 2100 (garbage years are refused). */
const earliest = Date.UTC(1990, 0, 1);
const latest = Date.UTC(2100, 0, 1);
const inRange = (t: number | undefined): number | undefined => (t !== undefined && t >= earliest && t < latest ? t : undefined);

/**
 * A time as session logs write it, in epoch ms: Unix seconds ("976896024"); ISO 8601 with a zone
 * (a bare one is UTC); RADIUS Event-Timestamp ("Dec  1 2026 03:00:00 UTC", FreeRADIUS's
 * "%b %e %Y %H:%M:%S %Z"); the ctime header of a detail record ("Tue Dec  1 03:00:00 2026", UTC);
 * dhcpd's "W YYYY/MM/DD HH:MM:SS" (UTC, dhcpd.leases(5)) and "epoch N".
 */
export function parseLogTime(raw: string): number | undefined {
  const t = raw.trim().replace(/^"|"$/g, '').trim();
  // ISO 8601 first: the common case of CSV logs.
  let m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2}|UTC)?$/i.exec(t);
  if (m) {
    const off = zoneMinutes(m[8]);
    const base = off === undefined ? undefined : utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), off);
    return inRange(base === undefined ? undefined : base + Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000));
  }
  if (/^\d{1,11}$/.test(t)) return inRange(Number(t) * 1000);
  // Epoch milliseconds, as some exporters write them.
  if (/^\d{12,13}$/.test(t)) return inRange(Number(t));
  m = /^epoch (\d{1,11})/.exec(t);
  if (m) return inRange(Number(m[1]) * 1000);
  m = /^(?:\d )?(\d{4})\/(\d{1,2})\/(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})$/.exec(t);
  if (m) return inRange(utc(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), 0));
  m = /^([A-Za-z]{3})\s+(\d{1,2})\s+(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\s+(\S+))?$/.exec(t);
  if (m) {
    const mo = own(months, (m[1] ?? '').toLowerCase());
    const off = zoneMinutes(m[7]);
    return mo === undefined || off === undefined ? undefined : inRange(utc(Number(m[3]), mo, Number(m[2]), Number(m[4]), Number(m[5]), Number(m[6]), off));
  }
  m = /^[A-Za-z]{3}\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})$/.exec(t);
  if (m) {
    const mo = own(months, (m[1] ?? '').toLowerCase());
    return mo === undefined ? undefined : inRange(utc(Number(m[6]), mo, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), 0));
  }
  return undefined;
}

/** A MAC in any common spelling (00:11:.., 00-11-.., 0011.2233.4455, 001122334455) → aa:bb:..; else null. */
export function normaliseMac(raw: string): string | null {
  const hex = raw.trim().replace(/^"|"$/g, '').replace(/[:.\-\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(hex)) return null;
  return hex.match(/../g)!.join(':');
}

/** A client identifier as lower-case hex without separators ("01:00:11:.." or "\001\000.."). */
export function normaliseClientId(raw: string): string | null {
  const t = raw.trim().replace(/^"|"$/g, '');
  if (t === '') return null;
  if (/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})*$/.test(t)) return t.replace(/:/g, '').toLowerCase();
  // dhcpd.leases writes uid as a C string with octal escapes (dhcpd.leases(5)).
  let out = '';
  for (let i = 0; i < t.length && out.length < 512; i++) {
    let code = t.charCodeAt(i);
    if (t[i] === '\\' && i + 1 < t.length) {
      const oct = /^[0-7]{3}/.exec(t.slice(i + 1, i + 4));
      if (oct) {
        code = parseInt(oct[0], 8);
        i += 3;
      } else {
        code = t.charCodeAt(++i);
      }
    }
    out += (code & 255).toString(16).padStart(2, '0');
  }
  return out;
}

/** A dotted-quad IPv4 address in canonical form, or undefined. */
export function canonicalIp(raw: string): string | undefined {
  const n = parseIpv4(raw.trim());
  return n === undefined ? undefined : formatIpv4(n);
}

/**
 * One CSV record of one line (RFC 4180 quoting, no embedded newlines: session logs are line
 * oriented). Returns undefined for an unterminated quote.
 */
export function splitCsvLine(line: string, delimiter = ','): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return undefined;
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      const comma = line.indexOf(delimiter, i);
      field += comma < 0 ? line.slice(i) : line.slice(i, comma);
      out.push(field);
      if (comma < 0) return out;
      i = comma + 1;
    } else {
      const comma = line.indexOf(delimiter, i);
      out.push(comma < 0 ? line.slice(i) : line.slice(i, comma));
      if (comma < 0) return out;
      i = comma + 1;
    }
    if (out.length > 256) return undefined;
  }
}

/** The delimiter of a CSV header line: comma, or semicolon or tab when those outnumber commas. */
export function csvDelimiter(header: string): string {
  const count = (c: string): number => header.split(c).length - 1;
  const commas = count(',');
  if (count('\t') > commas) return '\t';
  if (count(';') > commas) return ';';
  return ',';
}

/** A header row → column index by lower-cased name. */
export function headerIndex(cells: readonly string[]): Map<string, number> {
  return new Map(cells.map((c, i) => [c.trim().toLowerCase(), i]));
}
