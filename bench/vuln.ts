/**
 * Benchmark: vulnerability matching alone (only data: nothing is sent anywhere). Generates, from a
 * seed, a CVE corpus shaped like the real NVD records of ../shared/data/nvd (default 250,000 CVEs):
 * vendors with many CVEs each (Zipf), firmware + hardware AND configurations one per model (D-Link,
 * Dahua: up to 25 per CVE), exact firmware version lists (Tenda, DrayTek), SDK application ranges
 * (Realtek), NA firmware (Hikvision, Huawei), 1–50 criteria per CVE; and identified devices
 * (default 100,000) of popular models with firmware around the bounds, some with versions that
 * cannot be ordered and some of models no CVE names. Times the indexed matcher over all devices
 * (index build, which compiles every record, timed separately), prints rate, CPU time and peak RSS, then a naive full scan (every CVE judged for
 * each device) on a sample of devices, extrapolated to all of them and labelled so, and the ratio.
 *
 * Run: npm run build && npm run bench:vuln -- [--cves N] [--devices N] [--seed S] [--naive-sample N]
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRng, type Rng } from '../src/core/rng.js';
import { buildIndex, deviceCpes, judgeStatus, matchEach } from '../src/vuln/match.js';
import type { Configuration, CpeCriterion, CveRecord } from '../src/vuln/types.js';

const TARGET_SECONDS = 10;

function options(): { cves: number; devices: number; seed: string; naiveSample: number } {
  const { values } = parseArgs({
    options: { cves: { type: 'string', default: '250000' }, devices: { type: 'string', default: '100000' }, seed: { type: 'string', default: 'vuln-bench' }, 'naive-sample': { type: 'string', default: '20' } },
  });
  const n = (s: string, max: number, name: string): number => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`--${name} must be an integer in 1..${max}`);
    return v;
  };
  return { cves: n(values.cves, 2_000_000, 'cves'), devices: n(values.devices, 1_000_000, 'devices'), seed: values.seed, naiveSample: n(values['naive-sample'], 1000, 'naive-sample') };
}

/**
 * Zipf-like pick: index k with weight 1/(k+q) (inverse of its continuous CDF). q flattens the
 * head: with 3,000 vendors and q = 10 the biggest maker has ~2% of the CVEs, as the biggest IoT
 * makers have in NVD.
 */
function zipf(rng: Rng, n: number, q = 10): number {
  const k = Math.exp(Math.log(q) + rng.next() * (Math.log(n + q) - Math.log(q))) - q;
  return Math.max(0, Math.min(n - 1, Math.floor(k)));
}

interface Model {
  readonly vendor: string;
  readonly name: string;
  readonly revisions: readonly string[];
  /** Firmware line: major.minor with build suffix style. */
  readonly style: 'dotted' | 'dlink' | 'dahua' | 'tplink';
}

function version(rng: Rng, style: Model['style'], major: number): string {
  const minor = rng.int(20);
  switch (style) {
    case 'dlink':
      return `${major}.${String(minor).padStart(2, '0')}b${String(1 + rng.int(9)).padStart(2, '0')}`;
    case 'dahua':
      return `${major}.${800 + rng.int(40)}.0000000.${rng.int(30)}.r.${210000 + rng.int(1300)}`;
    case 'tplink':
      return `${major}.${rng.int(3)}.${rng.int(9)} Build 2023${String(1 + rng.int(12)).padStart(2, '0')}${String(1 + rng.int(28)).padStart(2, '0')}`;
    default:
      return `${major}.${minor}.${rng.int(10)}.${rng.int(40)}`;
  }
}

const esc = (s: string): string => s.replace(/ /g, '\\ ');

export function makeModels(rng: Rng): Model[][] {
  const vendors: Model[][] = [];
  const styles: Model['style'][] = ['dotted', 'dlink', 'dahua', 'tplink'];
  for (let v = 0; v < 3000; v++) {
    const vendor = `vendor${v}`;
    // Big makers have hundreds of models.
    const count = Math.max(2, Math.floor(600 / (1 + v / 4)));
    const models: Model[] = [];
    const style = styles[rng.int(styles.length)]!;
    for (let m = 0; m < count; m++) models.push({ vendor, name: `model-${m}${rng.int(3) === 0 ? 'l' : ''}`, revisions: rng.int(3) === 0 ? ['a1', 'b1'] : ['-'], style });
    vendors.push(models);
  }
  return vendors;
}

function fwCriterion(m: Model, c: Partial<CpeCriterion>, v = '*'): CpeCriterion {
  return { vulnerable: true, criteria: `cpe:2.3:o:${m.vendor}:${m.name}_firmware:${esc(v)}:*:*:*:*:*:*:*`, ...c };
}

export function makeCve(rng: Rng, i: number, vendors: Model[][]): CveRecord {
  const models = vendors[zipf(rng, vendors.length)]!;
  const template = rng.int(10);
  const configurations: Configuration[] = [];
  let budget = 1 + Math.min(49, Math.floor(-Math.log(1 - rng.next()) * 4)); // 1–50 criteria, mostly few
  const pickModel = (): Model => models[zipf(rng, models.length, 5)]!;
  if (template < 6) {
    // Firmware + hardware per model (D-Link, Dahua, TP-Link).
    while (budget > 1) {
      const m = pickModel();
      const major = 1 + rng.int(3);
      const bound = version(rng, m.style, major);
      const key = rng.int(2) === 0 ? 'versionEndIncluding' : 'versionEndExcluding';
      const hw = m.revisions.map((r) => ({ vulnerable: false, criteria: `cpe:2.3:h:${m.vendor}:${m.name}:${r}:*:*:*:*:*:*:*` }));
      configurations.push({ operator: 'AND', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [fwCriterion(m, { [key]: bound })] }, { operator: 'OR', negate: false, cpeMatch: hw }] });
      budget -= 1 + hw.length;
    }
  } else if (template < 8) {
    // Exact firmware versions (Tenda, DrayTek).
    const m = pickModel();
    const list = Array.from({ length: Math.max(1, Math.min(budget - 1, 5)) }, () => fwCriterion(m, {}, version(rng, m.style, 1 + rng.int(3))));
    configurations.push({ operator: 'AND', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: list }, { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: false, criteria: `cpe:2.3:h:${m.vendor}:${m.name}:-:*:*:*:*:*:*:*` }] }] });
  } else if (template < 9) {
    // An SDK or daemon in many products (Realtek, BusyBox): application ranges.
    configurations.push({ operator: 'OR', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [{ vulnerable: true, criteria: `cpe:2.3:a:${models[0]!.vendor}:sdk${zipf(rng, 40, 2)}:*:*:*:*:*:*:*:*`, versionStartIncluding: '2.0', versionEndIncluding: `3.4.${rng.int(20)}b` }] }] });
  } else {
    // NA firmware per model (Hikvision, Huawei).
    while (budget > 1) {
      const m = pickModel();
      configurations.push({ operator: 'AND', negate: false, nodes: [{ operator: 'OR', negate: false, cpeMatch: [fwCriterion(m, {}, '-')] }, { operator: 'OR', negate: false, cpeMatch: [{ vulnerable: false, criteria: `cpe:2.3:h:${m.vendor}:${m.name}:-:*:*:*:*:*:*:*` }] }] });
      budget -= 2;
    }
  }
  const year = 2014 + (i % 12);
  return {
    id: `CVE-${year}-${String(100000 + i)}`,
    published: null,
    lastModified: null,
    description: '',
    configurations,
    affected: [],
    cvss: [{ version: '3.1', score: 5 + rng.int(50) / 10, vector: 'CVSS:3.1/AV:N', source: 'nvd' }],
    references: [],
    sources: ['nvd'],
  };
}

/** An identified device: a popular model, a firmware near the bounds (1 in 25 unorderable), maybe an SDK. */
export function makeDevice(rng: Rng, vendors: Model[][]): string[] {
  if (rng.int(20) === 0) return [`cpe:2.3:h:nobody:thing${rng.int(1000)}:-:*:*:*:*:*:*:*`];
  const models = vendors[zipf(rng, vendors.length)]!;
  const m = models[zipf(rng, models.length, 5)]!;
  const rev = m.revisions[rng.int(m.revisions.length)]!;
  const v = rng.int(25) === 0 ? 'V100R001C00SPC200' : version(rng, m.style, 1 + rng.int(3));
  const out = [`cpe:2.3:h:${m.vendor}:${m.name}:${rev}:*:*:*:*:*:*:*`, `cpe:2.3:o:${m.vendor}:${m.name}_firmware:${esc(v)}:*:*:*:*:*:*:*`];
  if (rng.int(4) === 0) out.push(`cpe:2.3:a:${models[0]!.vendor}:sdk${zipf(rng, 40, 2)}:3.4.${rng.int(20)}:*:*:*:*:*:*:*`);
  return out;
}

const mb = (kb: number): string => `${(kb / 1024).toFixed(0)} MB`;

async function main(): Promise<void> {
  const o = options();
  const rng = createRng(o.seed);
  let t = performance.now();
  const vendors = makeModels(rng);
  const cves: CveRecord[] = [];
  let criteria = 0;
  for (let i = 0; i < o.cves; i++) {
    const c = makeCve(rng, i, vendors);
    for (const conf of c.configurations) for (const n of conf.nodes) criteria += n.cpeMatch.length;
    cves.push(c);
  }
  const devices = Array.from({ length: o.devices }, () => makeDevice(rng, vendors));
  console.log(`corpus: ${o.cves} CVEs (${criteria} criteria, ${(criteria / o.cves).toFixed(1)} per CVE), ${o.devices} devices, generated in ${((performance.now() - t) / 1000).toFixed(1)} s (seed ${o.seed})`);

  const heap = (): string => `${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB heap`;
  console.log(`  after generation: ${heap()}`);
  t = performance.now();
  const index = buildIndex(cves, { eager: true });
  const buildS = (performance.now() - t) / 1000;
  console.log(`index: ${index.byKey.size} part:vendor:product keys, ${index.everywhere.length} CVEs checked for every device (wildcard names), built (every record compiled: CPEs and version bounds parsed) in ${buildS.toFixed(2)} s`);

  t = performance.now();
  const cpu0 = process.cpuUsage();
  const byStatus = { affected: 0, 'not-affected': 0, unknown: 0 };
  let considered = 0;
  // As the survey's vuln stage does: every identified host of the survey in one call.
  matchEach(index, devices, (_, verdicts) => {
    for (const v of verdicts) {
      byStatus[v.status]++;
      considered++;
    }
  });
  const matchS = (performance.now() - t) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const rss = process.resourceUsage().maxRSS;
  console.log(`indexed matching: ${o.devices} devices in ${matchS.toFixed(2)} s (${Math.round(o.devices / matchS)} devices/s; index build excluded), target < ${TARGET_SECONDS} s: ${matchS < TARGET_SECONDS ? 'met' : 'NOT met'}`);
  console.log(`  ${considered} CVE judgements (${(considered / o.devices).toFixed(1)} per device): ${byStatus.affected} affected, ${byStatus['not-affected']} not-affected, ${byStatus.unknown} unknown`);
  console.log(`  after matching: ${heap()}`);
  console.log(`  CPU time ${cpuS.toFixed(2)} s (the machine is shared: wall time includes waiting for a core)`);
  console.log(`  peak RSS ${mb(rss)}`);

  // Naive full scan: every CVE judged for each device of a sample, records already compiled.
  const sample = devices.slice(0, o.naiveSample).map((d) => deviceCpes(d));
  t = performance.now();
  let naiveAffected = 0;
  for (const d of sample) for (let at = 0; at < index.records.length; at++) if (judgeStatus(index, at, d) === 'affected') naiveAffected++;
  const perDevice = (performance.now() - t) / 1000 / sample.length;
  const naiveS = perDevice * o.devices;
  console.log(`naive full scan: ${(perDevice * 1000).toFixed(0)} ms per device (measured on ${sample.length} devices × ${o.cves} CVEs, ${naiveAffected} affected); EXTRAPOLATED to ${o.devices} devices: ${naiveS.toFixed(0)} s`);
  console.log(`ratio: indexed is ${(naiveS / matchS).toFixed(0)}× faster than the naive full scan (extrapolated)`);
  console.log(`peak RSS at end ${mb(process.resourceUsage().maxRSS)}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
