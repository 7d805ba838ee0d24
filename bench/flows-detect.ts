/**
 * Benchmark: C&C detection on lab flows of a seed the model was not trained on, for each size
 * (default 1 M and 10 M flows): the flows are generated, written as hour-partitioned Parquet and read
 * back through a view (as the collector's store is read), then detection runs over the whole window.
 * Prints precision, recall, detection time (wall and CPU, DuckDB's threads included) and flows/s;
 * beside it a naive baseline run on the same features (flag endpoints with ≥2 known-bad clients
 * making ≥20% of their clients) as the reference, and the ratio. For the smallest size it also
 * runs detection as an operator would (every --step-hours over the last 24 h) and prints how many hours after
 * its first beacon each C&C is found. Only files: nothing is sent anywhere.
 *
 * Run: npm run build && node dist/bench/flows-detect.js [--sizes 1000000,10000000] [--seed 2]
 *        [--hosts 20000] [--days 3] [--no-earliness] [--step-hours 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { detectC2, type DetectResult } from '../src/flows/detect/detect.js';
import { endpointKey } from '../src/flows/detect/features.js';
import { closeDuck, openDuck, openFlowsDir } from '../src/flows/detect/relation.js';
import { c2Keys, earliness, evaluate, labInputs } from '../src/lab/flows/evaluate.js';
import { generateLabFlows, writeLabFlows, type LabFlowsTruth } from '../src/lab/flows/generate.js';

const MAX_FLOWS = 50_000_000;
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000000,10000000' },
    seed: { type: 'string', default: '2' },
    hosts: { type: 'string', default: '20000' },
    days: { type: 'string', default: '3' },
    'no-earliness': { type: 'boolean', default: false },
    'step-hours': { type: 'string', default: '3' },
  },
});
const sizes = values.sizes.split(',').map(Number);
if (sizes.some((n) => !Number.isInteger(n) || n < 10_000 || n > MAX_FLOWS)) throw new Error(`--sizes: whole numbers from 10,000 to ${MAX_FLOWS}`);
const seed = Number(values.seed);
const hosts = Number(values.hosts);
const days = Number(values.days);
const stepHours = Number(values['step-hours']);
if (!(stepHours >= 0.25 && stepHours <= 24)) throw new Error('--step-hours: 0.25 to 24');

function baseline(r: DetectResult, truth: LabFlowsTruth): { precision: number; recall: number } {
  const keys = c2Keys(truth);
  const flagged = r.scored.filter((s) => s.features.badClients >= 2 && s.features.badClients / s.features.clients >= 0.2).map((s) => endpointKey(s.features.ip, s.features.port, s.features.proto));
  const universe = new Set(r.scored.map((s) => endpointKey(s.features.ip, s.features.port, s.features.proto)));
  const detectable = [...keys].filter((k) => universe.has(k)).length;
  const tp = flagged.filter((k) => keys.has(k)).length;
  return { precision: flagged.length ? tp / flagged.length : 1, recall: detectable ? tp / detectable : 1 };
}

const f3 = (x: number) => x.toFixed(3);
console.log(`flows-detect bench: seed ${seed} (the built-in model was trained on seed 1), ${hosts} hosts, ${days} days`);
for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-flows-'));
  try {
    const gen = await openDuck();
    let t = performance.now();
    const truth = await generateLabFlows(gen.conn, { seed, days, flows: n, hosts });
    const genMs = performance.now() - t;
    t = performance.now();
    await writeLabFlows(gen.conn, dir, truth, join(dir, '..', `${dir.split('/').pop()}-truth.json`));
    const writeMs = performance.now() - t;
    closeDuck(gen);
    const d = await openDuck();
    await openFlowsDir(d.conn, dir);
    const cpu0 = process.cpuUsage();
    t = performance.now();
    const r = await detectC2(d.conn, labInputs(truth));
    const wall = performance.now() - t;
    const cpu = process.cpuUsage(cpu0);
    const e = evaluate(r, truth);
    const b = baseline(r, truth);
    console.log(`\n${truth.flows.toLocaleString('en')} flows (generated in ${(genMs / 1000).toFixed(1)} s, Parquet written in ${(writeMs / 1000).toFixed(1)} s)`);
    console.log(`  iotclean  precision ${f3(e.precision)}  recall ${f3(e.recall)}  (tp ${e.tp}, fp ${e.fp}, fn ${e.fn} of ${e.detectable} C&C endpoints; recall over every C&C with a beacon ${f3(e.recallAll)})`);
    console.log(`  baseline  precision ${f3(b.precision)}  recall ${f3(b.recall)}  (≥2 known-bad clients and ≥20% of clients known bad)`);
    console.log(`  ratio     precision ×${f3(e.precision / Math.max(1e-9, b.precision))}, recall ×${f3(e.recall / Math.max(1e-9, b.recall))}`);
    console.log(`  detection ${(wall / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU over Parquet; ${Math.round(truth.flows / (wall / 1000)).toLocaleString('en')} flows/s; ${r.scored.length.toLocaleString('en')} endpoints scored, ${r.candidates.length} candidates`);
    if (e.fp) console.log(`  false positives: ${e.falsePositives.join(' ')}`);
    if (e.fn) console.log(`  missed: ${e.missed.join(' ')}`);
    if (!values['no-earliness'] && n === Math.min(...sizes)) {
      t = performance.now();
      const ea = await earliness(d.conn, truth, { lengthMs: 24 * 3_600_000, stepMs: stepHours * 3_600_000 });
      console.log(`  earliness (a run every ${stepHours} h over the last 24 h, ${ea.windows} runs in ${((performance.now() - t) / 1000).toFixed(1)} s): ${ea.found}/${ea.total} C&C that started inside the data found; hours after first beacon median ${ea.medianHours?.toFixed(1)}, max ${ea.maxHours?.toFixed(1)}; ${ea.falsePositiveEndpoints} false-positive endpoint(s) over all runs`);
      console.log(`    per C&C: ${ea.perC2.map((p) => `${p.key} ${p.hours === null ? 'never' : `${p.hours.toFixed(1)} h`}`).join(', ')}`);
    }
    closeDuck(d);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-truth.json`, { force: true });
  }
}
