/**
 * Benchmark: prefix → ISP longest-prefix match, and the scope guard's allows().
 *
 * Builds a seeded random table of 10,000 nested prefixes (/8../30, all inside 127.0.0.0/8 like the
 * lab; it is only data, nothing is sent), runs 5,000,000 lookups of random addresses and prints
 * lookups/s against the 1 M/s target. For comparison, a naive linear scan over the prefix list runs
 * on a small sample, checked against the compiled answers, and the speed-up is printed.
 *
 * Run: npx tsx bench/scope.ts   (or node dist/bench/scope.js after npm run build)
 */
import { cidrRange, formatIpv4 } from '../src/core/ip.js';
import { compileIspTable, compileScope, type IspRow } from '../src/scope/index.js';
import { createRng } from '../src/core/rng.js';

const SEED = 20240601;
const PREFIXES = 10_000;
const LOOKUPS = 5_000_000;
const NAIVE_SAMPLE = 20_000;
const TARGET_PER_SECOND = 1_000_000;
const LOOPBACK = 0x7f000000;


const rnd = createRng(SEED).next;
const randomLoopback = (): number => (LOOPBACK | Math.floor(rnd() * 2 ** 24)) >>> 0;

/** 10,000 distinct prefixes in 127/8; lengths skew long so they fit, and short ones make nesting. */
function randomTable(): IspRow[] {
  const rows: IspRow[] = [{ prefix: '127.0.0.0/8', ispId: 'isp0', name: 'ループバック回線', participating: true }];
  const seen = new Set(rows.map((r) => r.prefix));
  const isps = 400;
  while (rows.length < PREFIXES) {
    const len = 9 + Math.floor(Math.sqrt(rnd()) * 22); // 9..30, weighted towards longer prefixes
    const r = cidrRange(randomLoopback(), len);
    const prefix = `${formatIpv4(r.start)}/${len}`;
    if (seen.has(prefix)) continue;
    seen.add(prefix);
    const k = 1 + Math.floor(rnd() * (isps - 1));
    // Every tenth ISP resells lines of one of the first twenty (a wholesale parent).
    const parent = k % 10 === 0 && k > 20 ? `isp${k % 20}` : undefined;
    rows.push({ prefix, ispId: `isp${k}`, name: `ISP ${k}`, participating: k % 3 !== 0, ...(parent ? { parent } : {}) });
  }
  return rows;
}

function seconds(fromNs: bigint): number {
  return Number(process.hrtime.bigint() - fromNs) / 1e9;
}

function main(): void {
  const rows = randomTable();
  let t0 = process.hrtime.bigint();
  const table = compileIspTable(rows, 'bench');
  const compileSeconds = seconds(t0);

  const addresses = new Uint32Array(LOOKUPS);
  for (let i = 0; i < LOOKUPS; i++) addresses[i] = randomLoopback();

  // Warm up so the JIT has compiled lookup before the timed run.
  let hits = 0;
  for (let i = 0; i < 200_000; i++) if (table.lookup(addresses[i] as number) !== undefined) hits++;

  hits = 0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < LOOKUPS; i++) if (table.lookup(addresses[i] as number) !== undefined) hits++;
  const lookupSeconds = seconds(t0);
  const perSecond = LOOKUPS / lookupSeconds;

  // Naive reference: scan every prefix, keep the longest that contains the address.
  const plain = rows.map((r) => {
    const [base, len] = r.prefix.split('/') as [string, string];
    const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
    const range = cidrRange(((a << 24) | (b << 16) | (c << 8) | d) >>> 0, Number(len));
    return { start: range.start, end: range.end, len: Number(len), id: r.ispId };
  });
  const naive = (ip: number): string | undefined => {
    let bestLen = -1;
    let best: string | undefined;
    for (const p of plain) {
      if (ip >= p.start && ip <= p.end && p.len > bestLen) {
        bestLen = p.len;
        best = p.id;
      }
    }
    return best;
  };
  let mismatches = 0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < NAIVE_SAMPLE; i++) {
    const ip = addresses[i] as number;
    if (naive(ip) !== table.lookup(ip)?.id) mismatches++;
  }
  const naivePerSecond = NAIVE_SAMPLE / seconds(t0);

  // The scope guard's hot-path check, on a scope with many holes.
  const excludes = Array.from({ length: 5_000 }, () => {
    const r = cidrRange(randomLoopback(), 20 + Math.floor(rnd() * 13));
    return { start: r.start, end: r.end };
  });
  const scope = compileScope({ includes: [{ start: LOOPBACK, end: 0x7fffffff }], excludes, allowReserved: [{ start: LOOPBACK, end: 0x7fffffff }], source: 'bench' });
  let allowed = 0;
  t0 = process.hrtime.bigint();
  for (let i = 0; i < LOOKUPS; i++) if (scope.allows(addresses[i] as number)) allowed++;
  const allowsPerSecond = LOOKUPS / seconds(t0);

  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(`prefix table: ${fmt(rows.length)} prefixes, ${table.isps.length} ISPs, compiled in ${(compileSeconds * 1000).toFixed(1)} ms`);
  console.log(`lookup:       ${fmt(LOOKUPS)} lookups in ${lookupSeconds.toFixed(3)} s = ${fmt(perSecond)} lookups/s (${fmt(hits)} attributed)`);
  console.log(`target:       ${fmt(TARGET_PER_SECOND)} lookups/s; ratio ${(perSecond / TARGET_PER_SECOND).toFixed(1)}x ${perSecond >= TARGET_PER_SECOND ? 'PASS' : 'FAIL'}`);
  console.log(`naive scan:   ${fmt(naivePerSecond)} lookups/s on ${fmt(NAIVE_SAMPLE)} addresses; compiled is ${(perSecond / naivePerSecond).toFixed(0)}x faster; ${mismatches} disagreements`);
  console.log(`scope allows: ${fmt(allowsPerSecond)} checks/s over ${scope.ranges.length} allowed ranges (${fmt(allowed)} allowed)`);
  if (mismatches > 0 || perSecond < TARGET_PER_SECOND) process.exitCode = 1;
}

main();
