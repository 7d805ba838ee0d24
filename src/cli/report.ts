/**
 * What `discover` and `demo` print about a survey: one set of figures under one set of JSON keys,
 * so a script reading one command reads the other. Ports are shown as the device's ports (before
 * any lab port map); probe counts and elapsed time cover every run of a resumed survey.
 */
import type { Endpoint } from '../core/records.js';
import type { IspSummary } from '../pipeline/summary.js';
import type { SurveyOutcome, SurveyStart } from '../pipeline/survey.js';
import { countAddresses } from '../scope/range-set.js';

/** The JSON both commands print (demo adds totalMs). */
export interface SurveyReport {
  readonly surveyId: number;
  readonly status: SurveyOutcome['status'];
  readonly resumed: boolean;
  /** Addresses in the survey's targets (its stored targets on resume). */
  readonly addresses: number;
  /** Device ports surveyed. */
  readonly ports: readonly number[];
  readonly shard: string;
  /** Probes sent over all runs of the survey. */
  readonly probesSent: number;
  readonly probesSentThisRun: number;
  /** Discovery time over all runs. */
  readonly elapsedMs: number;
  /** Probes/s achieved by this run. */
  readonly rate: number;
  readonly engine: SurveyOutcome['stats']['engine'];
  /** Why that engine ran (auto's choice, or the flag). */
  readonly engineReason: string;
  readonly open: number;
  readonly timeouts: number;
  readonly denied: number;
  /** Targets the network said it cannot reach (no route, filtered by a local rule). */
  readonly unreachable: number;
  readonly localErrors: number;
  /** Open endpoints per device port. */
  readonly byPort: Readonly<Record<string, number>>;
  /** Device port → port the lab bound it on (only ports that moved). */
  readonly portMap: Readonly<Record<string, number>>;
  readonly isps?: readonly IspSummary[];
  readonly peakRssMb: number;
}

/** Bound port → device port, the inverse of a lab port map. */
export function devicePorts(portMap: ReadonlyMap<number, number>): (port: number) => number {
  const back = new Map([...portMap].map(([device, bound]) => [bound, device]));
  return (p) => back.get(p) ?? p;
}

/** Endpoints per device port, in port order. */
export function countByPort(endpoints: readonly Endpoint[], devicePort: (port: number) => number = (p) => p): Record<string, number> {
  const counts = new Map<number, number>();
  for (const e of endpoints) {
    const p = devicePort(e.port);
    counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => a[0] - b[0]).map(([p, n]) => [String(p), n]));
}

export function surveyReport(
  outcome: SurveyOutcome,
  start: SurveyStart,
  endpoints: readonly Endpoint[],
  portMap: ReadonlyMap<number, number>,
  isps?: readonly IspSummary[],
): SurveyReport {
  const s = outcome.stats;
  const toDevice = devicePorts(portMap);
  return {
    surveyId: outcome.surveyId,
    status: outcome.status,
    resumed: outcome.resumed,
    addresses: countAddresses(start.targets),
    ports: start.ports.map(toDevice),
    shard: `${start.shard.index + 1}/${start.shard.count}`,
    probesSent: start.probesBefore + s.sent,
    probesSentThisRun: s.sent,
    elapsedMs: Math.round(start.elapsedMsBefore + s.elapsedMs),
    rate: Math.round(s.rate),
    engine: s.engine,
    engineReason: s.engineReason,
    open: endpoints.length,
    timeouts: s.timeouts,
    denied: s.denied,
    unreachable: s.unreachable,
    localErrors: s.localErrors,
    byPort: countByPort(endpoints, toDevice),
    portMap: Object.fromEntries(portMap),
    ...(isps ? { isps } : {}),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

const n = (x: number) => x.toLocaleString('en');

/** "65,536 addresses × 39 ports = 2,555,904 targets": the size line of a start message or report. */
export function sizeLine(addresses: number, ports: number, shard: { index: number; count: number }): string {
  const sharded = shard.count > 1 ? ` (shard ${shard.index + 1}/${shard.count}: about 1/${shard.count} of them)` : '';
  return `${n(addresses)} addresses × ${ports} ports = ${n(addresses * ports)} targets${sharded}`;
}

/** The report as text for people (without the per-ISP blocks, which callers append). */
export function formatSurveyReport(r: SurveyReport): string {
  const [si, sc] = r.shard.split('/').map(Number) as [number, number];
  const run = r.resumed
    ? `  probes sent ${n(r.probesSent)} over all runs, ${n(r.probesSentThisRun)} in this run at ${n(r.rate)} probes/s (${r.engine} engine: ${r.engineReason}); ${(r.elapsedMs / 1000).toFixed(1)} s in all`
    : `  probes sent ${n(r.probesSent)} in ${(r.elapsedMs / 1000).toFixed(1)} s: ${n(r.rate)} probes/s (${r.engine} engine: ${r.engineReason})`;
  const moved = Object.entries(r.portMap);
  const lines = [
    `survey ${r.surveyId} ${r.status}${r.resumed ? ' (resumed)' : ''}: ${sizeLine(r.addresses, r.ports.length, { index: si - 1, count: sc })}`,
    run,
    `  open endpoints ${n(r.open)}${r.timeouts ? `, timeouts ${r.timeouts}` : ''}${r.denied ? `, refused by scope ${r.denied}` : ''}${r.unreachable ? `, unreachable ${r.unreachable}` : ''}${r.localErrors ? `, given up after local errors ${r.localErrors}` : ''}`,
    ...Object.entries(r.byPort).map(([port, count]) => `    ${port.padStart(5)}/tcp  ${count}`),
  ];
  if (moved.length) lines.push(`  (device ports moved by the lab: ${moved.map(([d, b]) => `${d}→${b}`).join(' ')}; shown as device ports)`);
  if (r.status === 'interrupted') lines.push(`  interrupted: resume with  iotclean discover --resume ${r.surveyId}`);
  return lines.join('\n');
}
