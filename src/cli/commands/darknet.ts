/** `iotclean darknet analyse | generate`: darknet captures → sources per day; the lab's capture generator. */
import { IotcleanError } from '../../core/errors.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { analyseCaptures, type AnalyseResult } from '../../darknet/analyse.js';
import { analyseToFindings, type DarknetFindingsResult } from '../../darknet/findings.js';
import { loadScannerList } from '../../darknet/scanners.js';
import { dailyAggregates } from '../../darknet/daily.js';
import { writeSourcesParquet } from '../../darknet/parquet.js';
import { ISP_HEADER, loadIspTable, parseIspTable } from '../../scope/isp.js';
import { DarknetAnalyser, type SourceSummary } from '../../darknet/classify.js';
import { readCapture, type CaptureInput } from '../../darknet/pcap/reader.js';
import { generateDarknetCapture } from '../../lab/darknet/generate.js';
import { defineCommand } from '../command.js';
import { storeOption, withStore } from '../context.js';
import { progressBar } from '../progress.js';

/** The JSON row of one source (the issue's names: snake_case, one object per source and day). */
export function sourceJson(s: SourceSummary): Record<string, unknown> {
  return {
    ip: s.ip,
    day: s.day,
    class: s.class,
    fingerprint: s.fingerprint,
    confidence: s.confidence,
    packets: s.packets,
    destinations: s.destinations,
    destinations_exact: s.destinationsExact,
    ports: s.ports,
    port_packets: s.portPackets,
    telnet_share: s.telnetShare,
    port_2323_share: s.port2323Share,
    first_seen: s.firstSeen,
    last_seen: s.lastSeen,
    counts: s.counts,
    infected: s.infected,
  };
}

function table(rows: readonly (readonly (string | number)[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  return rows.map((r) => r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const fmt = (n: number) => n.toLocaleString('en');

function skippedText(r: Pick<AnalyseResult, 'skipped' | 'skippedRecords'>): string {
  const parts = Object.entries(r.skipped).map(([k, v]) => `${k} ${fmt(v)}`);
  return r.skippedRecords ? `${fmt(r.skippedRecords)} skipped (${parts.join(', ')})` : 'none skipped';
}

/** The summary tables for people. */
export function analyseText(r: AnalyseResult, top = 20): string {
  const out: string[] = [];
  out.push(table([['file', 'format', 'records', 'packets', 'skipped'], ...r.files.map((f) => [f.file, f.format, f.records, f.packets, Object.values(f.skipped).reduce((a, b) => a + b, 0)])]));
  out.push('', `records ${fmt(r.records)}, IP packets ${fmt(r.packets)}, ${skippedText(r)}`);
  if (r.limits.evictedSources || r.limits.droppedPackets) out.push(`memory bound reached: ${fmt(r.limits.evictedSources)} one-packet sources evicted, ${fmt(r.limits.droppedPackets)} packets of new sources dropped`);
  const groups = new Map<string, { sources: number; packets: number }>();
  for (const s of r.sources) {
    const k = `${s.class}\t${s.fingerprint}`;
    const g = groups.get(k) ?? { sources: 0, packets: 0 };
    g.sources++;
    g.packets += s.packets;
    groups.set(k, g);
  }
  const rows = [...groups].sort((a, b) => b[1].packets - a[1].packets).map(([k, g]) => [...k.split('\t'), g.sources, g.packets] as (string | number)[]);
  out.push('', table([['class', 'fingerprint', 'sources', 'packets'], ...rows]));
  const busiest = [...r.sources].sort((a, b) => b.packets - a.packets).slice(0, top);
  if (busiest.length) {
    out.push('', `busiest ${busiest.length} source-days:`);
    out.push(table([['ip', 'day', 'class', 'fingerprint', 'conf', 'packets', 'dests', 'ports'], ...busiest.map((s) => [s.ip, s.day, s.class, s.fingerprint, s.confidence.toFixed(3), s.packets, s.destinations, s.ports.join(',')])]));
  }
  const infected = r.sources.filter((s) => s.infected);
  out.push('', `Mirai-style infected candidates: ${fmt(new Set(infected.map((s) => s.ip)).size)} source(s) on ${fmt(new Set(infected.map((s) => s.day)).size)} day(s)`);
  return out.join('\n');
}

/** The findings step's summary as JSON (the last element of --json output with --findings). */
export function findingsSummaryJson(r: DarknetFindingsResult): Record<string, unknown> {
  return {
    kind: 'summary',
    records: r.analysis.records,
    packets: r.analysis.packets,
    skipped_records: r.analysis.skippedRecords,
    skipped: r.analysis.skipped,
    sources: r.analysis.sources.length,
    candidates: r.candidates,
    excluded_scanners: r.excluded,
    findings: r.stored,
    added: r.added,
    by_isp: r.byIsp,
    held: r.held,
    also_weak_credential: r.alsoWeakCredential,
    failed: r.failed,
  };
}

/** The findings step's summary for people: per-ISP counts, held, excluded scanners. */
export function findingsText(r: DarknetFindingsResult): string {
  const out: string[] = [''];
  const excluded = Object.values(r.excluded).reduce((a, b) => a + b, 0);
  const held = Object.values(r.held).reduce((a, b) => a + b, 0);
  out.push(`infected findings: ${fmt(r.stored)} (${fmt(r.added)} new, ${fmt(r.stored - r.added)} already stored) from ${fmt(r.candidates)} Mirai-style source-day(s); ${fmt(excluded)} listed research scanner(s) excluded${r.failed ? `; ${fmt(r.failed)} failed` : ''}`);
  const rows: (string | number)[][] = Object.entries(r.byIsp).sort((a, b) => b[1] - a[1]);
  for (const [reason, n] of Object.entries(r.held)) rows.push([`(held: ${reason})`, n]);
  if (rows.length) out.push(table([['isp', 'findings'], ...rows]));
  if (held) out.push(`${fmt(held)} held: stored and counted, never sent (iotclean findings --held)`);
  if (excluded) out.push(`excluded: ${Object.entries(r.excluded).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  if (r.alsoWeakCredential) out.push(`${fmt(r.alsoWeakCredential)} of them also had a weak credential in the survey`);
  return out.join('\n');
}

export const darknetAnalyseCommand = defineCommand({
  name: 'analyse',
  description: 'Classify the sources in darknet captures (pcap or pcapng; "-" reads stdin): scanning, backscatter or other, and which scanner.',
  positionals: [{ name: 'file', description: 'capture files (tcpdump -w, dumpcap), or - for stdin', variadic: true }],
  options: {
    'max-sources': { type: 'number', value: 'N', integer: true, min: 1000, description: 'sources kept per open day (memory bound, about 200 bytes each)', default: 1_000_000 },
    top: { type: 'number', value: 'N', integer: true, min: 0, description: 'busiest sources shown in the text summary', default: 20 },
    findings: { type: 'boolean', description: 'store Mirai-style sources as infected findings (one per address and UTC day), attributed with --isps', default: false },
    isps: { type: 'string', value: 'FILE', description: 'prefix→ISP table for --findings (without it every finding is held no-isp)' },
    scanners: { type: 'string', value: 'FILE', description: 'known research scanners for --findings (CSV cidr,name; see src/darknet/scanners.ts): never a finding' },
    survey: { type: 'number', value: 'ID', integer: true, min: 1, description: 'with --findings, join this survey: device, and whether the address also had a weak credential' },
    days: { type: 'boolean', description: 'store the per-day aggregates (day × class × fingerprint × ISP of --isps); --findings always does', default: false },
    parquet: { type: 'string', value: 'DIR', description: 'also write every source-day row to Parquet under DIR/day=YYYY-MM-DD/ (DuckDB)' },
    ...storeOption,
  },
  async run(o, files, out) {
    if (!o.findings && (o.scanners !== undefined || o.survey !== undefined)) {
      throw new IotcleanError('E_ARGS', '--scanners and --survey belong to --findings', { hint: 'e.g. iotclean darknet analyse cap.pcap --findings --isps isps.csv --scanners scanners.csv' });
    }
    if (!o.findings && !o.days && o.isps !== undefined) {
      throw new IotcleanError('E_ARGS', '--isps belongs to --findings or --days', { hint: 'e.g. iotclean darknet analyse cap.pcap --days --isps isps.csv' });
    }
    const parquet = async (sources: readonly SourceSummary[]): Promise<void> => {
      if (o.parquet === undefined) return;
      const n = await writeSourcesParquet(o.parquet, sources);
      out.info(`wrote ${fmt(n)} source-day rows to Parquet under ${o.parquet}`);
    };
    const inputs: CaptureInput[] = files.map((f) => (f === '-' ? { name: 'stdin', stream: process.stdin } : f));
    const bar = progressBar('darknet');
    const onProgress = (bytes: number, totalBytes: number | undefined) => bar.update(bytes, totalBytes ?? bytes, `${(bytes / 1e6).toFixed(0)} MB`);
    if (o.findings) {
      // Operator files are checked before the capture is read: a typo fails in a second, not after 10 GB.
      const isps = o.isps !== undefined ? await loadIspTable(o.isps) : parseIspTable(ISP_HEADER.join(','), '(no --isps)');
      if (o.isps === undefined) out.info('no --isps: every finding is held no-isp (stored and counted, never sent)');
      const scanners = o.scanners !== undefined ? await loadScannerList(o.scanners) : undefined;
      const f = await withStore(o.db, (store) =>
        analyseToFindings(store, inputs, isps, scanners, {
          maxSources: o['max-sources'],
          onProgress,
          ...(o.survey !== undefined ? { surveyId: o.survey } : {}),
          onError: (item, e) => out.info(`skipped ${item}: ${e instanceof Error ? e.message : String(e)}`),
        }),
      );
      bar.end();
      const r = f.analysis;
      await parquet(r.sources);
      if (out.json) {
        if (r.skippedRecords) process.stderr.write(`iotclean darknet: ${fmt(r.records)} records, ${skippedText(r)}\n`);
        await out.stream(
          (async function* () {
            for (const s of r.sources) yield sourceJson(s);
            yield findingsSummaryJson(f);
          })(),
          (row) => JSON.stringify(row),
        );
        return;
      }
      out.result(`${analyseText(r, o.top)}\n${findingsText(f)}`, undefined);
      return;
    }
    const r = await analyseCaptures(inputs, { maxSources: o['max-sources'], onProgress });
    bar.end();
    await parquet(r.sources);
    if (o.days) {
      const isps = o.isps !== undefined ? await loadIspTable(o.isps) : undefined;
      const days = dailyAggregates(r.sources, isps);
      await withStore(o.db, (store) => store.darknet.recordDays(days));
      out.info(`stored ${fmt(days.length)} per-day aggregate rows in ${o.db}`);
    }
    if (out.json) {
      // Damage is reported even when stdout carries JSON: one line on stderr.
      if (r.skippedRecords) process.stderr.write(`iotclean darknet: ${fmt(r.records)} records, ${skippedText(r)}\n`);
      await out.stream(
        (async function* () {
          for (const s of r.sources) yield sourceJson(s);
        })(),
        (row) => JSON.stringify(row),
      );
      return;
    }
    out.result(analyseText(r, o.top), r);
  },
});

/**
 * A live sensor: packets from `tcpdump -i IF -w -` (started here with --interface) or from a
 * capture stream on stdin are folded in as they come; each source is reported the moment it
 * becomes a Mirai-style scanner, each UTC day is summarised when it closes, and memory stays
 * bounded however long it runs (closed days are freed).
 */
export const darknetWatchCommand = defineCommand({
  name: 'watch',
  description: 'Watch a live capture (--interface IF through tcpdump, or a pcap stream on stdin) and report Mirai-style sources as they cross the threshold.',
  options: {
    interface: { type: 'string', value: 'IF', description: 'capture on this interface with tcpdump (needs tcpdump and the right to capture); default: read stdin' },
    'max-sources': { type: 'number', value: 'N', integer: true, min: 1000, description: 'sources kept per open day (memory bound)', default: 1_000_000 },
  },
  async run(o, _args, out) {
    const emit = (kind: string, value: Record<string, unknown>, text: string) => {
      if (out.json) process.stdout.write(`${JSON.stringify({ event: kind, ...value })}\n`);
      else process.stdout.write(`${text}\n`);
    };
    const analyser = new DarknetAnalyser({
      maxSources: o['max-sources'],
      onInfected: (s) => emit('infected', sourceJson(s), `infected  ${s.ip}  ${s.day}  after ${s.counts.synProbes} SYN probes (${s.ports.join(',')})`),
      onDay: (sources) => {
        const infected = sources.filter((s) => s.infected).length;
        const day = sources[0]?.day ?? '';
        emit('day', { day, sources: sources.length, infected }, `day ${day} closed: ${fmt(sources.length)} sources, ${fmt(infected)} Mirai-style`);
      },
    });
    let input: CaptureInput = { name: 'stdin', stream: process.stdin };
    let tcpdump: ChildProcess | undefined;
    if (o.interface) {
      // tcpdump's own messages (listening on IF, packets dropped by the kernel) go to our stderr.
      tcpdump = spawn('tcpdump', ['-i', o.interface, '-n', '-U', '-w', '-'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const failed = new Promise<never>((_, reject) => tcpdump!.on('error', (e) => reject(new IotcleanError('E_CAPTURE_FILE', `cannot start tcpdump on ${o.interface}: ${e.message}`, { hint: 'install tcpdump (apt-get install tcpdump) and run with the right to capture' }))));
      void failed.catch(() => {});
      input = { name: `tcpdump -i ${o.interface}`, stream: tcpdump.stdout! };
      await Promise.race([new Promise((r) => tcpdump!.once('spawn', r)), failed]);
    }
    // Ctrl-C ends the watch cleanly: stop tcpdump (or stop reading stdin), then summarise.
    const stop = () => {
      if (tcpdump) tcpdump.kill('SIGINT');
      else process.stdin.destroy();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let stats: Awaited<ReturnType<typeof readCapture>> | undefined;
    try {
      stats = await readCapture(input, (v) => analyser.add(v));
    } catch (e) {
      // A stream cut by Ctrl-C before its first bytes is an empty watch, not a bad capture.
      if (!(e instanceof IotcleanError && /empty/.test(e.message))) throw e;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      tcpdump?.kill('SIGINT');
    }
    analyser.finish();
    if (stats) {
      const skipped = Object.values(stats.skipped).reduce((a, b) => a + b, 0);
      emit('end', { records: stats.records, packets: stats.packets, skipped: stats.skipped }, `watch ended: ${fmt(stats.records)} records, ${fmt(stats.packets)} IP packets, ${skipped ? `${fmt(skipped)} skipped` : 'none skipped'}`);
    }
  },
});

export const darknetGenerateCommand = defineCommand({
  name: 'generate',
  description: 'Write a lab darknet capture (Mirai-style bots, masscan and ZMap scanners, backscatter, noise) and its truth.',
  options: {
    out: { type: 'string', value: 'FILE', description: 'capture to write' },
    truth: { type: 'string', value: 'FILE', description: 'truth JSON to write (what every source really is)' },
    seed: { type: 'string', value: 'S', description: 'seed (same seed, same capture)', default: 'iotclean' },
    packets: { type: 'number', value: 'N', integer: true, min: 1000, max: 100_000_000, description: 'packets to write (the generator holds 4 bytes per packet while shuffling)', default: 200_000 },
    format: { type: 'string', choices: ['pcap', 'pcap-ns', 'pcapng'], description: 'capture format', default: 'pcap' },
    darknet: { type: 'string', value: 'CIDR', description: 'the darknet block in 127.0.0.0/8', default: '127.200.0.0/16' },
  },
  async run(o, _args, out) {
    if (!o.out || !o.truth) {
      throw new IotcleanError('E_ARGS', 'darknet generate needs --out and --truth', { hint: 'e.g. iotclean darknet generate --out lab.pcap --truth lab-truth.json' });
    }
    const truth = generateDarknetCapture({ out: o.out, truth: o.truth, seed: o.seed, packets: o.packets, format: o.format, darknet: o.darknet });
    const byRole = new Map<string, number>();
    for (const s of truth.sources) byRole.set(s.role, (byRole.get(s.role) ?? 0) + 1);
    out.result(`wrote ${fmt(truth.packets)} packets from ${fmt(truth.sources.length)} sources to ${o.out} (${[...byRole].map(([k, v]) => `${k} ${v}`).join(', ')}); truth in ${o.truth}`, { out: o.out, truth: o.truth, packets: truth.packets, sources: truth.sources.length, roles: Object.fromEntries(byRole) });
  },
});

export const darknetDaysCommand = defineCommand({
  name: 'days',
  description: 'The stored per-day aggregates: sources, infected sources and packets per day, class, fingerprint and ISP.',
  options: {
    from: { type: 'string', value: 'DAY', description: 'first UTC day (YYYY-MM-DD)' },
    to: { type: 'string', value: 'DAY', description: 'last UTC day (YYYY-MM-DD)' },
    ...storeOption,
  },
  async run(o, _args, out) {
    for (const [name, v] of [['from', o.from], ['to', o.to]] as const) {
      if (v !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new IotcleanError('E_ARGS', `--${name} ${v} is not a UTC day`, { hint: 'write it as YYYY-MM-DD' });
    }
    const days = await withStore(o.db, (store) => store.darknet.days({ ...(o.from !== undefined ? { from: o.from } : {}), ...(o.to !== undefined ? { to: o.to } : {}) }));
    if (out.json) {
      await out.stream((async function* () { yield* days; })(), (d) => JSON.stringify(d));
      return;
    }
    if (!days.length) {
      out.result('no darknet aggregates stored (iotclean darknet analyse FILE --days)', undefined);
      return;
    }
    const rows = days.map((d) => [d.day, d.class, d.fingerprint, d.isp ?? '-', fmt(d.sources), fmt(d.infected), fmt(d.packets), d.topPorts.slice(0, 3).map((p) => p.port).join(' ')]);
    out.result(table([['day', 'class', 'fingerprint', 'isp', 'sources', 'infected', 'packets', 'top ports'], ...rows]), undefined);
  },
});

export const darknetCommand = defineCommand({
  name: 'darknet',
  description: 'Darknet captures: darknet analyse | watch | generate | days.',
  subcommands: [darknetAnalyseCommand, darknetWatchCommand, darknetGenerateCommand, darknetDaysCommand] as never[],
});
