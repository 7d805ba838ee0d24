/**
 * A darknet capture for the lab's own population, for the demo and the tests: a seeded share of the
 * lab devices with weak credentials scan like Mirai (what an owner of such a device would see),
 * as do further addresses in the lab ISPs' prefixes and a few outside every ISP (held `no-isp`),
 * among masscan- and ZMap-style research scanners, backscatter and noise (src/lab/darknet/generate.ts).
 * The capture and its truth go to two files; detection reads only the capture.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { IotcleanError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { parseScannerList, type ScannerList } from '../../darknet/scanners.js';
import { parseTarget } from '../../scope/target.js';
import type { LabPlan } from '../population.js';
import { generateDarknetCapture, type DarknetTruth, type LabIspPrefix } from './generate.js';

export interface LabDarknetOptions {
  /** Folder the capture and its truth are written to (created when missing). */
  readonly dir: string;
  /** Seed (default: the plan's). */
  readonly seed?: string | number;
  /** Packets in the capture (default 200,000). */
  readonly packets?: number;
  /** Share of the weak-credential devices that are bots (default 0.25). */
  readonly botShare?: number;
  /** Capture start, UTC (default 2026-01-15T00:00:00Z); 20 hours are captured. */
  readonly start?: string;
  /** The darknet block (default: the first /16 from 127.200.0.0/16 up that misses the lab network); must not overlap it. */
  readonly darknet?: string;
}

/** The files written. `truth` is for tests and benchmarks only. */
export interface LabDarknetCapture {
  readonly capture: string;
  readonly truth: string;
  /** The darknet block the capture was addressed to. */
  readonly darknet: string;
  /** Lab devices made bots (also listed in the truth). */
  readonly deviceBots: readonly string[];
}

/** Where bots outside every lab ISP live (inside the generator's "elsewhere" 127.240.0.0/12, not its research /16). */
export const outsideIspBlock = '127.241.0.0/16';

/** The lab ISP's share of random bots goes to this pseudo-ISP (truth only: no ISP table holds it). */
export const outsideIspId = 'outside';

/** Candidate default darknet blocks, 127.200.0.0/16 to 127.239.0.0/16 (below the generator's "elsewhere" /12). */
const defaultBlocks = Array.from({ length: 40 }, (_, i) => `127.${200 + i}.0.0/16`);

const rangeOf = (cidr: string): { start: number; end: number } => {
  const t = parseTarget(cidr);
  if (!t.ok) throw new IotcleanError('E_ARGS', `"${cidr}" is not a CIDR block: ${t.message}`, { hint: 'e.g. 127.200.0.0/16' });
  return t.range;
};

/** Generate the lab's darknet capture (see the module comment). Same plan and options, same files. */
export function darknetFindingsForLab(plan: LabPlan, options: LabDarknetOptions): LabDarknetCapture {
  const taken = [plan.network, outsideIspBlock, '127.250.0.0/16'];
  const overlapping = (cidr: string): string | undefined => {
    const dark = rangeOf(cidr);
    return taken.find((other) => {
      const r = rangeOf(other);
      return r.start <= dark.end && dark.start <= r.end;
    });
  };
  // Without a block named, the first free /16 from 127.200 up: a lab may itself sit in 127.200.
  const darknet = options.darknet ?? defaultBlocks.find((b) => overlapping(b) === undefined)!;
  const clash = overlapping(darknet);
  if (clash !== undefined) {
    throw new IotcleanError('E_ARGS', `darknet ${darknet} overlaps ${clash}`, { hint: 'the darknet must be unused space: choose another block inside 127.0.0.0/8, e.g. 127.200.0.0/16' });
  }
  const seed = String(options.seed ?? plan.seed);
  const packets = Math.max(1000, Math.floor(options.packets ?? 200_000));
  const share = Math.min(1, Math.max(0, options.botShare ?? 0.25));
  const rng = createRng(`lab-darknet:${seed}`);
  const weak = plan.devices.filter((d) => d.weak);
  // The generator makes max(20, packets / 1500) bots; lab devices take at most half of them so that
  // other ISP addresses and the outside block get bots too.
  const botCount = Math.max(20, Math.round(packets / 1500));
  const wanted = Math.min(Math.floor(botCount / 2), Math.round(weak.length * share));
  const picked = new Set<number>();
  while (picked.size < wanted) picked.add(rng.int(weak.length));
  const deviceBots = [...picked].sort((a, b) => a - b).map((i) => weak[i]!.ip);
  const isps: LabIspPrefix[] = [...plan.ispRows.map((r) => ({ id: r.ispId, prefix: r.prefix })), { id: outsideIspId, prefix: outsideIspBlock }];
  mkdirSync(options.dir, { recursive: true });
  const capture = join(options.dir, 'darknet.pcap');
  const truth = join(options.dir, 'darknet-truth.json');
  generateDarknetCapture({ out: capture, truth, seed, packets, darknet, isps, botIps: deviceBots, ...(options.start !== undefined ? { start: options.start } : {}) });
  return { capture, truth, darknet, deviceBots };
}

/**
 * The operator's research-scanner list for the lab: the generator's research block, where its
 * masscan- and ZMap-style scanners live. The classifier keeps those out by fingerprint already;
 * the list is the operator's second line (and what a real sensor needs for scanners whose packets
 * look like nothing in particular).
 */
export function labScannerList(): ScannerList {
  return parseScannerList('cidr,name\n127.250.0.0/16,lab research scanners\n', 'lab research scanners');
}

export type { DarknetTruth };
