/**
 * Import of `nfdump -r FILE -o csv` output (nfdump 1.7.1, Debian 12). Its header, checked by
 * running it:
 *   ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,…,ra,eng,exid,tr
 * ts/te are "YYYY-MM-DD HH:MM:SS" (optionally .mmm) in the time zone nfdump ran in: run it with
 * TZ=UTC, as the times are read as UTC. td is the duration in seconds with milliseconds. pr is a
 * protocol name (TCP, UDP, ICMP, …) or number; flg the 8-character flag string (CEUAPRSF, '.' for
 * unset). Counts are already scaled by nfcapd's sampling. After the records nfdump prints a
 * "Summary" block, which ends the records.
 *
 * Columns are found by name, so a column order change does not misread. A bad line is counted
 * and reported with its line number; it never aborts the file.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { IotcleanError } from '../core/errors.js';
import type { FlowRecord } from './types.js';

const protoNames: Readonly<Record<string, number>> = { ICMP: 1, IGMP: 2, TCP: 6, UDP: 17, GRE: 47, ESP: 50, AH: 51, ICMP6: 58, SCTP: 132 };
const flagBits = [0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01];

function parseIpv4(s: string): number {
  const p = s.split('.');
  if (p.length !== 4) return -1;
  let v = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x)) return -1;
    const n = Number(x);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v;
}

/** "2026-12-14 23:19:30[.123]" as UTC → epoch ms (NaN when not a time). */
function parseTime(s: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/.exec(s.trim());
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) + (m[7] ? Number(m[7].padEnd(3, '0')) : 0);
}

function parseFlags(s: string): number {
  const t = s.trim();
  if (/^\d+$/.test(t)) return Number(t) & 255;
  if (/^0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t.slice(2), 16) & 255;
  let v = 0;
  for (let i = 0; i < t.length && i < 8; i++) if (t[i] !== '.') v |= flagBits[i + 8 - Math.min(8, t.length)]!;
  return v;
}

/** A port, or ICMP's "type.code" → type*256+code (as nfdump stores it). */
function parsePort(s: string): number {
  const t = s.trim();
  if (/^\d+$/.test(t)) return Number(t) <= 65535 ? Number(t) : -1;
  const m = /^(\d+)\.(\d+)$/.exec(t);
  return m ? (Number(m[1]) & 255) * 256 + (Number(m[2]) & 255) : -1;
}

const required = ['ts', 'sa', 'da', 'sp', 'dp', 'pr', 'ipkt', 'ibyt'] as const;

export interface NfdumpCsvStats {
  readonly lines: number;
  readonly records: number;
  /** Lines not taken, by reason (ipv6, bad-line, …). */
  readonly skipped: Readonly<Record<string, number>>;
  /** The first few bad lines, for the user. */
  readonly errors: readonly { readonly line: number; readonly reason: string }[];
}

/** The parser of one CSV text, line by line (exported for tests and for streams other than files). */
export class NfdumpCsvParser {
  private cols: Map<string, number> | undefined;
  private lineNo = 0;
  private done = false;
  private records = 0;
  private readonly skipped: Record<string, number> = {};
  private readonly errors: { line: number; reason: string }[] = [];

  constructor(
    private readonly name: string,
    private readonly exporter = `file:${basename(name)}`,
  ) {}

  private skip(reason: string, why?: string): void {
    this.skipped[reason] = (this.skipped[reason] ?? 0) + 1;
    if (why && this.errors.length < 20) this.errors.push({ line: this.lineNo, reason: why });
  }

  /** Parse one line; returns a record or undefined (header, summary, skipped line). */
  line(raw: string): FlowRecord | undefined {
    this.lineNo++;
    if (this.done) return undefined;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return undefined;
    if (!this.cols) {
      const names = line.split(',').map((c) => c.trim());
      const missing = required.filter((c) => !names.includes(c));
      if (missing.length) {
        throw new IotcleanError('E_FLOW_FILE', `not nfdump CSV output: the header lacks ${missing.join(', ')}`, {
          file: this.name,
          line: this.lineNo,
          hint: 'make it with: TZ=UTC nfdump -r nfcapd.FILE -o csv > flows.csv',
        });
      }
      this.cols = new Map(names.map((n, i) => [n, i]));
      return undefined;
    }
    if (line.startsWith('Summary')) {
      this.done = true;
      return undefined;
    }
    const f = line.split(',');
    const c = this.cols;
    const get = (k: string) => f[c.get(k) ?? -1];
    const sa = get('sa') ?? '';
    const da = get('da') ?? '';
    if (sa.includes(':') || da.includes(':')) {
      this.skip('ipv6');
      return undefined;
    }
    const src = parseIpv4(sa.trim());
    const dst = parseIpv4(da.trim());
    const startMs = parseTime(get('ts') ?? '');
    const td = Number(get('td') ?? 'NaN');
    const te = parseTime(get('te') ?? '');
    const endMs = Number.isFinite(td) && td >= 0 ? startMs + Math.round(td * 1000) : Number.isFinite(te) ? te : startMs;
    const prText = (get('pr') ?? '').trim();
    const proto = /^\d+$/.test(prText) ? Number(prText) : protoNames[prText.toUpperCase()];
    const srcPort = parsePort(get('sp') ?? '');
    const dstPort = parsePort(get('dp') ?? '');
    const packets = Number(get('ipkt'));
    const bytes = Number(get('ibyt'));
    const why =
      src < 0 ? `bad source address "${sa}"` :
      dst < 0 ? `bad destination address "${da}"` :
      !Number.isFinite(startMs) ? `bad start time "${get('ts')}"` :
      proto === undefined || proto > 255 ? `unknown protocol "${prText}"` :
      srcPort < 0 || dstPort < 0 ? 'bad port' :
      !Number.isInteger(packets) || packets < 0 || !Number.isInteger(bytes) || bytes < 0 ? 'bad packet or byte count' :
      undefined;
    if (why || proto === undefined) {
      this.skip('bad-line', why);
      return undefined;
    }
    this.records++;
    return {
      startMs, endMs, src, srcPort, dst, dstPort, proto, packets, bytes,
      tcpFlags: proto === 6 ? parseFlags(get('flg') ?? '') : 0, exporter: this.exporter, sampling: 1,
    };
  }

  stats(): NfdumpCsvStats {
    if (!this.cols && this.lineNo > 0) {
      throw new IotcleanError('E_FLOW_FILE', 'empty: no nfdump CSV header', { file: this.name, hint: 'make it with: TZ=UTC nfdump -r nfcapd.FILE -o csv > flows.csv' });
    }
    return { lines: this.lineNo, records: this.records, skipped: { ...this.skipped }, errors: [...this.errors] };
  }
}

/**
 * Read an nfdump CSV file, handing records to `onBatch` in batches (awaited: back-pressure).
 * Throws E_FLOW_FILE for a file that is not nfdump CSV at all.
 */
export async function importNfdumpCsv(file: string, onBatch: (flows: FlowRecord[]) => Promise<void>, batchSize = 65536): Promise<NfdumpCsvStats> {
  const parser = new NfdumpCsvParser(file);
  let stream;
  try {
    stream = createReadStream(file, { encoding: 'utf8' });
    await new Promise<void>((resolve, reject) => stream!.once('open', () => resolve()).once('error', reject));
  } catch (e) {
    throw new IotcleanError('E_FLOW_FILE', `cannot read: ${(e as Error).message}`, { file });
  }
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  let batch: FlowRecord[] = [];
  for await (const line of rl) {
    const r = parser.line(line);
    if (r) batch.push(r);
    if (batch.length >= batchSize) {
      await onBatch(batch);
      batch = [];
    }
  }
  if (batch.length) await onBatch(batch);
  return parser.stats();
}
