import { readdirSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IotcleanError } from '../core/errors.js';
import type { Endpoint } from '../core/records.js';
import { detectFormat, importScanFile, importScanStream } from './import.js';
import type { ImportOptions, ImportSummary } from './import.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotclean-import-'));
});

async function fixture(name: string, content: string | Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

async function importAll(path: string, options: ImportOptions = {}): Promise<{ endpoints: Endpoint[]; summary: ImportSummary }> {
  const run = importScanFile(path, options);
  const endpoints: Endpoint[] = [];
  for await (const e of run) endpoints.push(e);
  return { endpoints, summary: run.summary };
}

async function importError(path: string, options: ImportOptions = {}): Promise<IotcleanError> {
  try {
    await importAll(path, options);
  } catch (e) {
    return e as IotcleanError;
  }
  throw new Error('expected the import to fail');
}

const at = (unix: number) => new Date(unix * 1000).toISOString();
const ep = (ip: string, port: number, seenAt: string, source: 'masscan' | 'zmap'): Endpoint => ({ kind: 'endpoint', ip, port, seenAt, source });

// masscan 1.3 -oJ: records prefixed by a "," line (out-json.c).
const masscanJson = `[
{   "ip": "127.0.1.10",   "timestamp": "1700000000", "ports": [ {"port": 23, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] }
,
{   "ip": "127.0.1.11",   "timestamp": "1700000005", "ports": [ {"port": 80, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 64} ] }
,
{   "ip": "127.0.1.11",   "timestamp": "1700000006", "ports": [ {"port": 80, "proto": "tcp", "service": {"name": "http", "banner": "HTTP/1.0 200 OK\\u000d\\u000aServer: GoAhead-Webs"} } ] }
,
{   "ip": "127.0.1.12",   "timestamp": "1700000007", "ports": [ {"port": 53, "proto": "udp", "status": "open", "reason": "none", "ttl": 64} ] }
,
{   "ip": "127.0.1.13",   "timestamp": "1700000008", "ports": [ {"port": 8080, "proto": "tcp", "status": "closed", "reason": "rst", "ttl": 64} ] }
]
`;

// masscan 1.0.x: trailing comma on every record (issues #314, #493).
const masscanJsonTrailing = `[
{   "ip": "127.0.2.1",   "timestamp": "1600000000", "ports": [ {"port": 2323, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 52} ] },
{   "ip": "127.0.2.2",   "timestamp": "1600000001", "ports": [ {"port": 7547, "proto": "tcp", "status": "open", "reason": "syn-ack", "ttl": 52} ] },
]
`;

// masscan before 1.0.4: bare keys, no brackets, no timestamp, a {finished: 1} end line.
const masscanJsonOld = `{   ip: "127.0.3.1",   ports: [ {port: 37777, proto: "tcp", status: "open", reason: "syn-ack", ttl: 64} ] },
{   ip: "127.0.3.2",   ports: [ {port: 34567, proto: "tcp", status: "open", reason: "syn-ack", ttl: 64} ] },
{finished: 1}
`;

// masscan -oD (out-ndjson.c).
const masscanNdjson = `{"ip":"127.0.4.1","timestamp":"1700000100","port":554,"proto":"tcp","rec_type":"status","data":{"status":"open","reason":"syn-ack","ttl":64}}
{"ip":"127.0.4.1","timestamp":"1700000101","port":554,"proto":"tcp","rec_type":"banner","data":{"service_name":"rtsp","banner":"RTSP/1.0 200 OK"}}
{"ip":"127.0.4.2","timestamp":"1700000102","port":49152,"proto":"tcp","rec_type":"status","data":{"status":"open","reason":"syn-ack","ttl":64}}
`;

// masscan -oL (out-text.c).
const masscanList = `#masscan
open tcp 23 127.0.5.1 1700000200
open tcp 8080 127.0.5.2 1700000201
banner tcp 8080 127.0.5.2 1700000202 http HTTP/1.1 401 Unauthorized\\x0d\\x0aWWW-Authenticate: Basic realm="DVR"
closed tcp 22 127.0.5.3 1700000203
open udp 161 127.0.5.4 1700000204
open icmp 0 127.0.5.5 1700000205
# end
`;

// zmap 4 CSV with a header, all synscan + system fields the importer reads.
const zmapCsv = `saddr,daddr,sport,dport,seqnum,acknum,window,classification,success,repeat,cooldown,timestamp_str,timestamp_ts,timestamp_us
127.0.6.1,127.0.0.1,23,47391,1103341121,2310912,65535,synack,1,0,0,2023-11-15T07:13:20.250+0900,1700000000,250000
127.0.6.2,127.0.0.1,23,47391,0,2310912,0,rst,0,0,0,2023-11-15T07:13:21.000+0900,1700000001,0
127.0.6.1,127.0.0.1,23,47391,1103341121,2310912,65535,synack,1,1,0,2023-11-15T07:13:22.000+0900,1700000002,0
127.0.6.3,127.0.0.1,2323,51000,99,2310912,29200,synack,1,0,1,2023-11-15T07:13:23.500+0900,1700000003,500000
`;

// zmap 1.x CSV: ", " between fields, "-" in field names, only a time string.
const zmapCsvOld = `saddr, sport, classification, success, timestamp-str
127.0.7.1, 80, synack, 1, 2016-11-28T10:00:00.000+0000
127.0.7.2, 80, rst, 0, 2016-11-28T10:00:01.000+0000
`;

describe('masscan -oJ', () => {
  it('reads modern output: open TCP only, banner/udp/closed skipped', async () => {
    const { endpoints, summary } = await importAll(await fixture('m.json', masscanJson));
    expect(endpoints).toEqual([ep('127.0.1.10', 23, at(1700000000), 'masscan'), ep('127.0.1.11', 80, at(1700000005), 'masscan')]);
    expect(summary).toMatchObject({ format: 'masscan-json', lines: 11, endpoints: 2, skipped: 3, errors: 0 });
  });

  it('reads the trailing-comma variant', async () => {
    const { endpoints } = await importAll(await fixture('trailing.json', masscanJsonTrailing));
    expect(endpoints).toEqual([ep('127.0.2.1', 2323, at(1600000000), 'masscan'), ep('127.0.2.2', 7547, at(1600000001), 'masscan')]);
  });

  it('reads the old bare-key variant with {finished: 1}; no timestamp means the fallback time', async () => {
    const seenAt = '2016-10-01T00:00:00.000Z';
    const { endpoints, summary } = await importAll(await fixture('old.json', masscanJsonOld), { seenAt });
    expect(endpoints).toEqual([ep('127.0.3.1', 37777, seenAt, 'masscan'), ep('127.0.3.2', 34567, seenAt, 'masscan')]);
    expect(summary.skipped).toBe(1);
  });

  it('accepts output whose closing "]" is missing (masscan issue #726)', async () => {
    const text = masscanJson.replace(/\]\n$/, '');
    expect((await importAll(await fixture('nobracket.json', text))).endpoints).toHaveLength(2);
  });

  it('reads -oD ndjson', async () => {
    const { endpoints, summary } = await importAll(await fixture('m.ndjson', masscanNdjson));
    expect(endpoints).toEqual([ep('127.0.4.1', 554, at(1700000100), 'masscan'), ep('127.0.4.2', 49152, at(1700000102), 'masscan')]);
    expect(summary.skipped).toBe(1);
  });

  it('reports a truncated last record at its line, keeping what came before (lenient)', async () => {
    const cut = masscanJson.slice(0, masscanJson.indexOf('"ports": [ {"port": 80,') + 12);
    const path = await fixture('cut.json', cut);
    const strict = await importError(path);
    expect(strict).toMatchObject({ code: 'E_IMPORT_FILE', where: { file: path, line: 4 } });
    expect(strict.message).toMatch(/broken JSON record/);
    const { endpoints, summary } = await importAll(path, { mode: 'lenient' });
    expect(endpoints).toEqual([ep('127.0.1.10', 23, at(1700000000), 'masscan')]);
    expect(summary.errors).toBe(1);
  });

  it('refuses records with bad fields', async () => {
    const lines = [
      '{"ip": "127.0.0.1", "timestamp": "1700000000", "ports": [ {"port": 70000, "proto": "tcp", "status": "open"} ] }',
      '{"ip": "127.1", "timestamp": "1700000000", "ports": [ {"port": 80, "proto": "tcp", "status": "open"} ] }',
      '{"ip": "127.0.0.1", "timestamp": "soon", "ports": [ {"port": 80, "proto": "tcp", "status": "open"} ] }',
      '{"ip": "127.0.0.1", "timestamp": "1700000000", "ports": [] }',
      '{"timestamp": "1700000000", "ports": [ {"port": 80, "proto": "tcp", "status": "open"} ] }',
      '[1, 2, 3]',
      'hello',
    ];
    const errors: IotcleanError[] = [];
    const { summary } = await importAll(await fixture('badfields.json', `[\n${lines.join('\n,\n')}\n]\n`), {
      mode: 'lenient',
      onError: (e) => errors.push(e),
    });
    expect(summary.errors).toBe(lines.length);
    expect(errors.map((e) => e.where.line)).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(errors[0]?.message).toMatch(/bad port/);
    expect(errors[1]?.message).toMatch(/bad IPv4 address "127\.1"/);
    expect(errors[2]?.message).toMatch(/bad timestamp/);
  });
});

describe('masscan -oL', () => {
  it('reads open TCP lines with their times', async () => {
    const { endpoints, summary } = await importAll(await fixture('m.txt', masscanList));
    expect(endpoints).toEqual([ep('127.0.5.1', 23, at(1700000200), 'masscan'), ep('127.0.5.2', 8080, at(1700000201), 'masscan')]);
    expect(summary).toMatchObject({ format: 'masscan-list', lines: 8, endpoints: 2, skipped: 4, errors: 0 });
  });

  it('refuses alternative address spellings and malformed lines', async () => {
    const text = [
      '#masscan',
      'open tcp 23 127.0.0.1 1700000000',
      'open tcp 23 0x7f.0.0.1 1700000000',
      'open tcp 23 2130706433 1700000000',
      'open tcp 23 127.000.0.1 1700000000',
      'open tcp 23 ::1 1700000000',
      'open tcp 99999 127.0.0.2 1700000000',
      'open tcp 23 127.0.0.3',
      'opened tcp 23 127.0.0.4 1700000000',
      'open tcp 23 127.0.0.5 -5',
      'open tcp 23 127.0.0.6 1700000000',
      '# end',
    ].join('\n');
    const errors: IotcleanError[] = [];
    const { endpoints, summary } = await importAll(await fixture('bad.txt', text), { mode: 'lenient', onError: (e) => errors.push(e) });
    expect(endpoints.map((e) => e.ip)).toEqual(['127.0.0.1', '127.0.0.6']);
    expect(summary.errors).toBe(8);
    expect(errors.map((e) => e.where.line)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]);
    expect(errors[3]?.message).toMatch(/IPv6/);
  });

  it('handles CRLF line ends', async () => {
    const { endpoints } = await importAll(await fixture('crlf.txt', masscanList.replace(/\n/g, '\r\n')));
    expect(endpoints).toHaveLength(2);
  });
});

describe('zmap CSV', () => {
  it('reads a header file: sport is the device port, failures and repeats skipped, microsecond times', async () => {
    const { endpoints, summary } = await importAll(await fixture('z.csv', zmapCsv));
    expect(endpoints).toEqual([
      ep('127.0.6.1', 23, '2023-11-14T22:13:20.250Z', 'zmap'),
      ep('127.0.6.3', 2323, '2023-11-14T22:13:23.500Z', 'zmap'),
    ]);
    expect(summary).toMatchObject({ format: 'zmap-csv', lines: 5, endpoints: 2, skipped: 2, errors: 0 });
  });

  it('reads the old ", " layout and timestamp_str with a +hhmm offset', async () => {
    const { endpoints } = await importAll(await fixture('old.csv', zmapCsvOld));
    expect(endpoints).toEqual([ep('127.0.7.1', 80, '2016-11-28T10:00:00.000Z', 'zmap')]);
  });

  it('reads real zmap 2.1.1 -O csv output: "-" in time field names, RST rows present', async () => {
    // Recorded from zmap 2.1.1 on loopback (-O csv -f saddr,timestamp-ts,timestamp-us,timestamp-str,success,sport).
    const text = `saddr,timestamp-ts,timestamp-us,timestamp-str,success,sport
127.66.0.251,1795390302,154168,2026-11-22T23:31:42.154+0000,0,80
127.66.0.29,1795390302,154291,2026-11-22T23:31:42.154+0000,1,80
`;
    const { endpoints, summary } = await importAll(await fixture('zmap211.csv', text), { seenAt: '2000-01-01T00:00:00.000Z' });
    expect(endpoints).toEqual([ep('127.66.0.29', 80, '2026-11-22T23:31:42.154Z', 'zmap')]);
    expect(summary).toMatchObject({ endpoints: 1, skipped: 1, errors: 0 });
  });

  it('refuses a header without success or classification: zmap -O/-f output carries RST rows too', async () => {
    // Real zmap 2.1.1 `-O csv -f saddr,sport`: the RST from a closed port is a row like any other.
    const path = await fixture('nosuccess.csv', 'saddr,sport\n127.66.0.190,80\n127.66.0.199,80\n');
    for (const mode of ['strict', 'lenient'] as const) {
      const e = await importError(path, { mode });
      expect(e).toMatchObject({ code: 'E_IMPORT_FILE', where: { file: path, line: 1 } });
      expect(e.message).toMatch(/no "success" or "classification" column/);
      expect(e.where.hint).toMatch(/-f saddr,sport,success/);
    }
    const withClass = await fixture('classonly.csv', 'saddr,sport,classification\n127.66.0.190,80,rst\n127.66.0.199,80,synack\n');
    expect((await importAll(withClass)).endpoints.map((e) => e.ip)).toEqual(['127.66.0.199']);
  });

  it('reads quoted fields with "" inside, as the ISP table does (one CSV splitter)', async () => {
    // zmap's CSV module quotes a value holding a comma; "" stands for a quote inside it (RFC 4180).
    const text = 'saddr,sport,success,data\n127.0.9.1,80,1,"say ""hi"", twice"\n127.0.9.2,81,1,plain\n';
    const { endpoints, summary } = await importAll(await fixture('quoted.csv', text), { seenAt: '2000-01-01T00:00:00.000Z' });
    expect(endpoints.map((e) => `${e.ip}:${e.port}`)).toEqual(['127.0.9.1:80', '127.0.9.2:81']);
    expect(summary.errors).toBe(0);
    const broken = await importError(await fixture('broken-quote.csv', 'saddr,sport,success\n127.0.9.1,80,"1\n'));
    expect(broken.message).toMatch(/unterminated quoted field/);
    expect(broken.where.line).toBe(2);
  });

  it('reads zmap default output (addresses only) with the port the caller scanned', async () => {
    const seenAt = '2024-01-01T00:00:00.000Z';
    const path = await fixture('z.txt', '127.0.8.1\n127.0.8.2\n\n127.0.8.3\n');
    const { endpoints } = await importAll(path, { port: 7547, seenAt });
    expect(endpoints).toEqual([ep('127.0.8.1', 7547, seenAt, 'zmap'), ep('127.0.8.2', 7547, seenAt, 'zmap'), ep('127.0.8.3', 7547, seenAt, 'zmap')]);
  });

  it('uses the file time when rows carry none', async () => {
    const path = await fixture('z2.txt', '127.0.8.9\n');
    const [e] = (await importAll(path, { port: 23 })).endpoints;
    expect(Date.parse(e?.seenAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
  });

  it('needs a port when the file has none, even when lenient', async () => {
    const list = await fixture('noport.txt', '127.0.8.1\n127.0.8.2\n');
    await expect(importAll(list, { mode: 'lenient' })).rejects.toMatchObject({ code: 'E_IMPORT_FILE', where: { line: 1 } });
    const header = await fixture('noport.csv', 'saddr,success\n127.0.8.1,1\n');
    const e = await importError(header, { mode: 'lenient' });
    expect(e.message).toMatch(/no "sport" column/);
    expect(e.where.hint).toMatch(/zmap -p/);
    expect((await importAll(header, { port: 80 })).endpoints).toHaveLength(1);
  });

  it('refuses rows that do not match the header', async () => {
    const text = 'saddr,sport,success\n127.0.9.1,80,1\n127.0.9.2,80\n127.0.9.3,80,maybe\n127.0.9.4,http,1\n::1,80,1\n127.0.9.5,80,1\n';
    const errors: IotcleanError[] = [];
    const { endpoints } = await importAll(await fixture('rows.csv', text), { mode: 'lenient', onError: (e) => errors.push(e) });
    expect(endpoints.map((e) => e.ip)).toEqual(['127.0.9.1', '127.0.9.5']);
    expect(errors.map((e) => [e.where.line, e.message.replace(/:.*/, '')])).toEqual([
      [3, 'zmap-csv'],
      [4, 'zmap-csv'],
      [5, 'zmap-csv'],
      [6, 'zmap-csv'],
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/expected 3 fields/),
      expect.stringMatching(/bad success/),
      expect.stringMatching(/bad sport/),
      expect.stringMatching(/IPv6/),
    ]);
  });
});

describe('format detection', () => {
  it('recognises each format from its first line', () => {
    expect(detectFormat('#masscan')).toBe('masscan-list');
    expect(detectFormat('open tcp 80 127.0.0.1 1700000000')).toBe('masscan-list');
    expect(detectFormat('[')).toBe('masscan-json');
    expect(detectFormat('{"ip":"127.0.0.1","timestamp":"1","port":80}')).toBe('masscan-json');
    expect(detectFormat('saddr,sport,success')).toBe('zmap-csv');
    expect(detectFormat('saddr, sport')).toBe('zmap-csv');
    expect(detectFormat('127.0.0.1')).toBe('zmap-csv');
    expect(detectFormat('Nmap scan report for localhost')).toBeUndefined();
    expect(detectFormat('127.1')).toBeUndefined();
  });

  it('auto-detects every fixture', async () => {
    const cases: [string, string][] = [
      [masscanJson, 'masscan-json'],
      [masscanJsonTrailing, 'masscan-json'],
      [masscanJsonOld, 'masscan-json'],
      [masscanNdjson, 'masscan-json'],
      [masscanList, 'masscan-list'],
      [zmapCsv, 'zmap-csv'],
      [zmapCsvOld, 'zmap-csv'],
      [`\n\n${masscanList}`, 'masscan-list'],
    ];
    for (const [i, [text, format]] of cases.entries()) {
      const { summary } = await importAll(await fixture(`auto-${i}`, text));
      expect(summary.format).toBe(format);
      expect(summary.endpoints).toBeGreaterThan(0);
    }
  });

  it('an explicit format wins over detection', async () => {
    const path = await fixture('forced.json', masscanJson);
    const e = await importError(path, { format: 'masscan-list' });
    expect(e).toMatchObject({ code: 'E_IMPORT_FILE', where: { file: path, line: 1 } });
    expect(e.message).toMatch(/^masscan-list: /);
  });

  it('names an unrecognisable file and suggests giving the format', async () => {
    const path = await fixture('nmap.txt', 'Starting Nmap 7.94\nNmap scan report for localhost (127.0.0.1)\n');
    const e = await importError(path, { mode: 'lenient' });
    expect(e.message).toMatch(/cannot tell the format/);
    expect(e.where).toMatchObject({ file: path, line: 1 });
    expect(e.where.hint).toMatch(/masscan-json, masscan-list, zmap-csv/);
  });
});

describe('error policy and awkward input', () => {
  const mixed = `#masscan
open tcp 23 127.0.10.1 1700000000
this is not masscan
open tcp 23 127.0.10.2 1700000000
open tcp 23 127.0.10.300 1700000000
open tcp 23 127.0.10.3 1700000000
# end
`;

  it('strict (default) throws at the first bad line', async () => {
    const path = await fixture('mixed.txt', mixed);
    const seen: Endpoint[] = [];
    let error: IotcleanError | undefined;
    try {
      for await (const e of importScanFile(path)) seen.push(e);
    } catch (e) {
      error = e as IotcleanError;
    }
    expect(seen.map((e) => e.ip)).toEqual(['127.0.10.1']);
    expect(error).toMatchObject({ code: 'E_IMPORT_FILE', where: { file: path, line: 3 } });
    expect(error?.format()).toMatch(new RegExp(`^E_IMPORT_FILE ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: masscan-list: `));
  });

  it('lenient keeps going, counts, samples and reports every bad line', async () => {
    const sink: number[] = [];
    const { endpoints, summary } = await importAll(await fixture('mixed2.txt', mixed), {
      mode: 'lenient',
      onError: (e) => sink.push(e.where.line ?? 0),
    });
    expect(endpoints.map((e) => e.ip)).toEqual(['127.0.10.1', '127.0.10.2', '127.0.10.3']);
    expect(summary).toMatchObject({ endpoints: 3, errors: 2, lines: 7 });
    expect(summary.errorSamples.map((e) => e.where.line)).toEqual([3, 5]);
    expect(sink).toEqual([3, 5]);
  });

  it('lenient gives up after maxErrors', async () => {
    const e = await importError(await fixture('mixed3.txt', mixed), { mode: 'lenient', maxErrors: 1 });
    expect(e.message).toMatch(/more than 1 bad lines/);
    expect(e.where.line).toBe(5);
  });

  it('keeps at most 100 error samples but counts them all', async () => {
    const text = `#masscan\n${'garbage line\n'.repeat(250)}open tcp 80 127.0.0.1 1700000000\n`;
    const { endpoints, summary } = await importAll(await fixture('many.txt', text), { mode: 'lenient' });
    expect(endpoints).toHaveLength(1);
    expect(summary.errors).toBe(250);
    expect(summary.errorSamples).toHaveLength(100);
  });

  it('refuses binary garbage at once, in either mode', async () => {
    const garbage = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x41, 0x0a, 0x90, 0x91]);
    const path = await fixture('garbage.bin', garbage);
    for (const mode of ['strict', 'lenient'] as const) {
      for (const format of ['auto', 'masscan-json', 'zmap-csv'] as const) {
        const e = await importError(path, { mode, format, port: 23 });
        expect(e).toMatchObject({ code: 'E_IMPORT_FILE', where: { file: path, line: 1 } });
        expect(e.message).toMatch(/binary data/);
      }
    }
  });

  it('refuses an endless line without buffering it', async () => {
    const path = await fixture('long.txt', `#masscan\n${'A'.repeat(3 << 20)}\n`);
    const e = await importError(path, { mode: 'lenient' });
    expect(e).toMatchObject({ code: 'E_IMPORT_FILE', where: { file: path, line: 2 } });
    expect(e.message).toMatch(/longer than/);
  });

  it('an empty file, or one with only structure, imports nothing without error', async () => {
    for (const [name, text] of [
      ['empty', ''],
      ['blank', '\n\n  \n'],
      ['list-empty', '#masscan\n# end\n'],
      ['json-empty', '[\n]\n'],
      ['zmap-header-only', 'saddr,sport,success\n'],
    ] as const) {
      const { endpoints, summary } = await importAll(await fixture(name, text));
      expect(endpoints, name).toEqual([]);
      expect(summary.errors, name).toBe(0);
    }
    expect((await importAll(await fixture('empty2', ''))).summary.format).toBeNull();
  });

  it('names an unreadable file', async () => {
    const missing = join(dir, 'does-not-exist.json');
    await expect(importAll(missing)).rejects.toMatchObject({ code: 'E_IMPORT_FILE', where: { file: missing } });
    await expect(importAll(dir)).rejects.toMatchObject({ code: 'E_IMPORT_FILE', where: { file: dir } });
  });

  it('checks its options', async () => {
    const path = await fixture('opt.txt', '127.0.0.1\n');
    await expect(importAll(path, { port: 0 })).rejects.toThrow(/port option/);
    await expect(importAll(path, { port: 23, seenAt: 'yesterday' })).rejects.toThrow(/seenAt option/);
  });

  it('skips a UTF-8 byte order mark', async () => {
    const { endpoints } = await importAll(await fixture('bom.txt', `\uFEFF${masscanList}`));
    expect(endpoints).toHaveLength(2);
  });

  it('can be iterated again, counting afresh', async () => {
    const run = importScanFile(await fixture('again.txt', masscanList));
    for (let i = 0; i < 2; i++) {
      let n = 0;
      for await (const _ of run) n++;
      expect(n).toBe(2);
      expect(run.summary.endpoints).toBe(2);
    }
  });
});

describe('importScanStream', () => {
  it('streams a large input line by line', async () => {
    const total = 50_000;
    async function* lines() {
      yield '#masscan\n';
      for (let i = 0; i < total; i++) yield `open tcp ${1 + (i % 1000)} 127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255} ${1700000000 + i}\n`;
      yield '# end\n';
    }
    const run = importScanStream(Readable.from(lines()), 'generated');
    let count = 0;
    let last: Endpoint | undefined;
    for await (const e of run) {
      count++;
      last = e;
    }
    expect(count).toBe(total);
    expect(last).toEqual(ep('127.0.195.79', 1 + ((total - 1) % 1000), at(1700000000 + total - 1), 'masscan'));
    expect(run.summary).toMatchObject({ file: 'generated', lines: total + 2, endpoints: total });
  });

  it('reports a failing stream as an unreadable input', async () => {
    const broken = new Readable({
      read() {
        this.destroy(Object.assign(new Error('device gone'), { code: 'EIO' }));
      },
    });
    await expect(
      (async () => {
        for await (const _ of importScanStream(broken, 'stdin')) void _;
      })(),
    ).rejects.toMatchObject({ code: 'E_IMPORT_FILE', where: { file: 'stdin' }, message: expect.stringMatching(/EIO/) });
  });
});

describe('leaving early', () => {
  it('closes the file when the consumer stops iterating', async () => {
    const path = await fixture('early.txt', masscanList);
    const openFds = () => readdirSync('/proc/self/fd').length;
    const before = openFds();
    for (let i = 0; i < 20; i++) {
      const run = importScanFile(path);
      for await (const e of run) {
        expect(e.port).toBe(23);
        break;
      }
      expect(run.summary.endpoints).toBe(1);
    }
    await new Promise((r) => setTimeout(r, 50)); // stream destruction closes the fd asynchronously
    expect(openFds()).toBeLessThan(before + 5);
  });
});
