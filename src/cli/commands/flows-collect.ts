/** `iotclean flows collect | import`: NetFlow/IPFIX collection, and nfdump CSV or pcap/pcapng import, into the Parquet flow store. */
import { IotcleanError } from '../../core/errors.js';
import { startCollector, type CollectorStats } from '../../flows/collector.js';
import { importNfdumpCsv, type NfdumpCsvStats } from '../../flows/nfdump.js';
import { importPcapBatches, type PcapImportStats } from '../../flows/pcap.js';
import { exportFlowsCsv } from '../../flows/export.js';
import { openFlowSink } from '../../flows/storage.js';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWindow } from './flows-detect.js';
import type { Command } from '../command.js';
import { defineCommand } from '../command.js';

const fmt = (n: number) => n.toLocaleString('en');

/** "127.0.0.1:2055" → host and port (IPv4 only: the collector is udp4). */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535 || m[1]!.split('.').some((o) => Number(o) > 255)) {
    throw new IotcleanError('E_ARGS', `--listen must be IPv4:PORT, got "${s}"`, { hint: 'e.g. --listen 127.0.0.1:2055 (port 0 picks a free one)' });
  }
  return { host: m[1]!, port };
}

function collectText(s: CollectorStats, stored: number, files: number, dir: string, seconds: number): string {
  const lines = [
    `received ${fmt(s.packets)} packets, ${fmt(s.records)} flow records in ${seconds.toFixed(1)} s; stored ${fmt(stored)} in ${fmt(files)} Parquet part(s) under ${dir}`,
    `receive buffer ${fmt(s.recvBuffer.granted)} bytes granted of ${fmt(s.recvBuffer.requested)} asked (raise net.core.rmem_max for more); kernel drops ${s.kernelDrops ?? 'unknown'}`,
  ];
  for (const [e, c] of Object.entries(s.byExporter)) {
    const lost = s.sequenceLoss[e];
    lines.push(`  ${e}: ${fmt(c.packets)} packets, ${fmt(c.records)} records, ${fmt(c.malformed)} malformed, ${fmt(c.missingTemplate)} data sets without template${lost ? `, ${fmt(lost)} lost upstream (sequence gaps)` : ''}`);
  }
  const skipped = Object.entries(s.skipped);
  if (skipped.length) lines.push(`  noted: ${skipped.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  if (s.sinkError) lines.push(`  STORAGE FAILED: ${s.sinkError}`);
  return lines.join('\n');
}

export const flowsCollectCommand = defineCommand({
  name: 'collect',
  description: 'Receive NetFlow v5/v9 and IPFIX on a UDP port and store the flows as hour-partitioned Parquet under --out (until --duration or Ctrl-C).',
  options: {
    listen: { type: 'string', value: 'IP:PORT', description: 'UDP address to listen on', default: '127.0.0.1:2055' },
    out: { type: 'string', value: 'DIR', description: 'flow store directory (DIR/date=YYYY-MM-DD/hour=HH/part-*.parquet)' },
    duration: { type: 'number', value: 'S', min: 0, description: 'stop after S seconds (0 or absent: until Ctrl-C)' },
    'recv-buffer': { type: 'number', value: 'BYTES', integer: true, min: 65536, description: 'socket receive buffer to ask for (the kernel caps it at net.core.rmem_max)', default: 32 * 1024 * 1024 },
    'flush-rows': { type: 'number', value: 'N', integer: true, min: 1000, description: 'flows held in memory before a Parquet part is written', default: 1_000_000 },
    'flush-interval': { type: 'number', value: 'S', min: 1, description: 'longest time a flow waits in memory before it is written', default: 60 },
  },
  async run(o, _args, out) {
    if (o.out === undefined) throw new IotcleanError('E_ARGS', '--out DIR is required', { hint: 'e.g. iotclean flows collect --listen 127.0.0.1:2055 --out flows/' });
    const { host, port } = parseListen(o.listen);
    const sink = await openFlowSink(o.out, { flushRows: o['flush-rows'], flushIntervalMs: o['flush-interval'] * 1000, worker: true });
    let collector;
    try {
      collector = await startCollector({ host, port, sink, recvBufferBytes: o['recv-buffer'] });
    } catch (e) {
      await sink.close();
      throw e;
    }
    const t0 = performance.now();
    out.info(`listening on ${collector.address.address}:${collector.address.port} (udp), storing under ${o.out}; receive buffer ${fmt(collector.stats().recvBuffer.granted)} bytes${o.duration ? `; stopping after ${o.duration} s` : '; Ctrl-C stops'}`);
    if (out.json) process.stderr.write(`listening on ${collector.address.address}:${collector.address.port}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        clearTimeout(timer);
        clearInterval(progress);
        resolve();
      };
      const timer = o.duration ? setTimeout(stop, o.duration * 1000) : undefined;
      const progress = setInterval(() => {
        const s = collector.stats();
        out.info(`${fmt(s.records)} flows from ${fmt(s.packets)} packets so far`);
      }, 10_000);
      progress.unref();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    const stats = await collector.close();
    await sink.close().catch(() => undefined);
    const counts = sink.counts();
    const seconds = (performance.now() - t0) / 1000;
    out.result(collectText(stats, counts.rows, counts.files, o.out, seconds), { ...stats, stored: counts.rows, files: counts.files, out: o.out, seconds });
    return stats.sinkError ? 1 : 0;
  },
});

/** pcap or pcapng by the first four bytes (either byte order); anything else is read as nfdump CSV. */
async function isCapture(file: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return false; // the CSV reader names the file and the reason
  }
  try {
    const b = Buffer.alloc(4);
    const { bytesRead } = await fh.read(b, 0, 4, 0);
    if (bytesRead < 4) return false;
    const m = b.readUInt32BE(0);
    return [0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1, 0x0a0d0d0a].includes(m);
  } finally {
    await fh.close();
  }
}

type ImportResult = { file: string; kind: 'nfdump-csv' | 'pcap'; records: number; skipped: Readonly<Record<string, number>> } & Partial<Omit<PcapImportStats, 'skipped' | 'records'>> & { packetsSkipped?: number };

export const flowsImportCommand = defineCommand({
  name: 'import',
  description: 'Import nfdump CSV (TZ=UTC nfdump -r FILE -o csv) or a pcap/pcapng capture (flows built with softflowd\'s timeouts) into the Parquet flow store under --out.',
  positionals: [{ name: 'file', description: 'nfdump CSV files or captures (told apart by their magic bytes)', variadic: true }],
  options: {
    out: { type: 'string', value: 'DIR', description: 'flow store directory' },
    'max-flows': { type: 'number', value: 'N', integer: true, min: 1, description: 'captures: concurrent flows held (the oldest is expired past it; softflowd -m)', default: 8192 },
    'inactive-timeout': { type: 'number', value: 'S', min: 1, description: 'captures: idle seconds before a UDP/ICMP flow ends (TCP and others: 3600 unless given --tcp-timeout)', default: 300 },
    'tcp-timeout': { type: 'number', value: 'S', min: 1, description: 'captures: idle seconds before a TCP flow ends', default: 3600 },
    'active-timeout': { type: 'number', value: 'S', min: 0, description: 'captures: a flow is cut once this old (0: never; softflowd maxlife)', default: 604800 },
  },
  async run(o, files, out) {
    if (o.out === undefined) throw new IotcleanError('E_ARGS', '--out DIR is required', { hint: 'e.g. iotclean flows import flows.csv --out flows/' });
    const sink = await openFlowSink(o.out, { flushIntervalMs: 0 });
    const results: ImportResult[] = [];
    try {
      for (const file of files) {
        if (await isCapture(file)) {
          const timeouts = { udp: o['inactive-timeout'], icmp: o['inactive-timeout'], tcp: o['tcp-timeout'], general: o['tcp-timeout'], maxlife: o['active-timeout'] };
          const r = await importPcapBatches(file, (batch) => sink.appendBatch(batch), { maxFlows: o['max-flows'], timeouts });
          const packetsSkipped = Object.values(r.skipped).reduce((a, n) => a + n, 0);
          results.push({ file, kind: 'pcap', ...r, records: r.flows, packetsSkipped });
          continue;
        }
        const r = await importNfdumpCsv(file, (batch) => sink.append(batch));
        results.push({ file, kind: 'nfdump-csv', ...r });
        for (const e of r.errors) out.info(`${file}:${e.line}: skipped: ${e.reason}`);
      }
    } finally {
      await sink.close();
    }
    const counts = sink.counts();
    const skippedText = (s: Readonly<Record<string, number>>) => Object.entries(s).map(([k, v]) => `${k} ${fmt(v)}`).join(', ');
    const text = results
      .map((r) =>
        r.kind === 'pcap'
          ? `${r.file}: ${fmt(r.records)} flows from ${fmt(r.packets ?? 0)} packets (${r.format}); ${fmt(r.packetsSkipped ?? 0)} packets skipped${r.packetsSkipped ? ` (${skippedText(r.skipped)})` : ''}${r.ended?.evicted ? `; ${fmt(r.ended.evicted)} flows expired early by --max-flows` : ''}`
          : `${r.file}: ${fmt(r.records)} flows${Object.keys(r.skipped).length ? `, skipped ${skippedText(r.skipped)}` : ''}`,
      )
      .concat(`stored ${fmt(counts.rows)} flows in ${fmt(counts.files)} Parquet part(s) under ${o.out}`)
      .join('\n');
    out.result(text, { files: results, stored: counts.rows, parts: counts.files, out: o.out });
  },
});

export const flowsExportCommand = defineCommand({
  name: 'export',
  description: 'Write the stored flows as CSV (a header, then every column of the flows view: epoch ms, IPv4 as integers, counts) to stdout or --out FILE.',
  positionals: [{ name: 'dir', description: 'flow store directory' }],
  options: {
    window: { type: 'string', value: 'FROM..TO', description: 'time window (ISO 8601; default: all flows)' },
    out: { type: 'string', value: 'FILE', description: 'write here instead of stdout' },
  },
  async run(o, [dir], out) {
    const win = o.window !== undefined ? parseWindow(o.window) : {};
    if (o.out !== undefined) {
      const rows = await exportFlowsCsv(dir!, o.out, win);
      out.result(`${fmt(rows)} flows written to ${o.out}`, { rows, out: o.out });
      return;
    }
    // DuckDB writes to a file it opens by name, and a child's stdout is often a socket that cannot
    // be opened so: a temporary file, then copied out.
    const tmp = await mkdtemp(join(tmpdir(), 'iotclean-export-'));
    try {
      const rows = await exportFlowsCsv(dir!, join(tmp, 'flows.csv'), win);
      try {
        for await (const chunk of createReadStream(join(tmp, 'flows.csv'))) {
          if (!process.stdout.write(chunk as Buffer)) await once(process.stdout, 'drain');
        }
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EPIPE') throw e; // the reader went away (| head)
      }
      out.info(`${fmt(rows)} flows written`);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  },
});

export const flowsCollectCommands: Command<never>[] = [flowsCollectCommand as never, flowsImportCommand as never, flowsExportCommand as never];
