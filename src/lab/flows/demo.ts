/**
 * The demo's flow step: a few days of lab flow records (bots beaconing to C&C servers that move,
 * DDoS, ordinary traffic) written as Parquet, C&C detection over them with the generator's
 * known-bad list (the stand-in for the survey's and darknet's findings in the flows' address
 * space), candidates stored in store.flows, and the result scored against the truth for the
 * summary line only (detection never sees the truth).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ipv4Range } from '../../core/ip.js';
import { parseTarget } from '../../scope/target.js';
import { detectC2 } from '../../flows/detect/detect.js';
import { closeDuck, openDuck } from '../../flows/detect/relation.js';
import { readAddressList } from '../../cli/commands/flows-detect.js';
import type { Store } from '../../store/store.js';
import { evaluate } from './evaluate.js';
import { generateLabFlows, writeLabFlows } from './generate.js';

export interface DemoFlowsResult {
  readonly flows: number;
  readonly candidates: number;
  readonly c2: number;
  readonly precision: number;
  readonly recall: number;
  readonly elapsedMs: number;
  readonly dir: string;
}

export async function demoFlows(store: Store, o: { readonly dir: string; readonly seed: number; readonly flows?: number; readonly days?: number }): Promise<DemoFlowsResult> {
  const d = await openDuck();
  try {
    const truth = await generateLabFlows(d.conn, { seed: o.seed, days: o.days ?? 3, flows: o.flows ?? 400_000, hosts: 10_000 });
    const truthFile = join(o.dir, 'truth.json');
    await writeLabFlows(d.conn, o.dir, truth, truthFile);
    const internal = (JSON.parse(readFileSync(join(o.dir, 'lab.json'), 'utf8')) as { internal: string[] }).internal.map((c) => {
      const t = parseTarget(c);
      if (!t.ok) throw new Error(`lab.json: ${c}: ${t.message}`);
      return t.range;
    }) satisfies Ipv4Range[];
    const t0 = performance.now();
    const res = await detectC2(d.conn, { internal, knownBad: readAddressList(join(o.dir, 'known-bad.txt')) });
    const elapsedMs = performance.now() - t0;
    await store.flows.upsert(res.candidates, new Date().toISOString());
    const e = evaluate(res, truth);
    return { flows: truth.flows, candidates: res.candidates.length, c2: e.detectable, precision: e.precision, recall: e.recall, elapsedMs, dir: o.dir };
  } finally {
    closeDuck(d);
  }
}
