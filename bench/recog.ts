/**
 * Benchmark: the Recog rule source alone. Loads a copy of Recog's xml/ (findRecogDir), prints the
 * load time, then matches realistic inputs: every <example> under its own key (hits), the same
 * texts under the IoT keys with their last character changed (mostly misses, which try every
 * fingerprint of the key and so cost the most), and prints inputs/s for each against the identify
 * engine's 50,000 observations/s target. Bounded: ROUNDS passes over a fixed input list.
 * Nothing is sent anywhere; this is CPU only.
 *
 * Run: npx tsx bench/recog.ts [rounds]   (or node dist/bench/recog.js after npm run build)
 */
import { performance } from 'node:perf_hooks';
import { compileRecog, loadRecog } from '../src/identify/recog/loader.js';
import { findRecogDir, recogMissingMessage } from '../src/identify/recog/locate.js';
import type { IdentifyInput } from '../src/identify/source.js';

const ROUNDS = Math.max(1, Math.min(1000, Number(process.argv[2] ?? 5) || 5));
const TARGET_PER_SECOND = 50_000;
/** Keys the grab modules produce inputs for (src/identify/inputs.ts), where speed matters most. */
const IOT_KEYS = ['ssh.banner', 'telnet.banner', 'ftp.banner', 'http_header.server', 'http_header.wwwauth', 'http_header.cookie', 'html_title', 'favicon.md5', 'x509.subject', 'x509.issuer', 'rtsp_header.server'];

function rate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en')}/s`;
}

function run(label: string, match: (i: IdentifyInput) => unknown, inputs: readonly IdentifyInput[]): number {
  // Warm up so V8 has compiled the regexes (they compile on first use) before the timed passes.
  for (const i of inputs) match(i);
  let hits = 0;
  const t0 = performance.now();
  for (let r = 0; r < ROUNDS; r++) for (const i of inputs) if (match(i) !== undefined) hits++;
  const ms = performance.now() - t0;
  const n = inputs.length * ROUNDS;
  const perSecond = (n / ms) * 1000;
  console.log(`${label.padEnd(34)} ${n.toLocaleString('en').padStart(9)} inputs  ${(ms / 1000).toFixed(2)} s  ${rate(n, ms).padStart(12)}  hits ${((100 * hits) / n).toFixed(1)}%`);
  return perSecond;
}

function main(): void {
  const dir = findRecogDir();
  if (!dir) {
    console.log(`bench/recog: ${recogMissingMessage}`);
    return;
  }
  let t0 = performance.now();
  const load = loadRecog(dir);
  const loadMs = performance.now() - t0;
  t0 = performance.now();
  loadRecog(dir);
  const reloadMs = performance.now() - t0;
  console.log(`recog: ${load.files} files, ${load.fingerprints.toLocaleString('en')} fingerprints, ${load.unconverted.length} unconverted; load ${loadMs.toFixed(0)} ms (again, warm: ${reloadMs.toFixed(0)} ms)`);

  const compiled = compileRecog(dir);
  const alias = (key: string): string => (key === 'telnet_banners' ? 'telnet.banner' : key);
  const all: IdentifyInput[] = compiled.fingerprints.flatMap((fp) => fp.examples.map((ex) => ({ key: alias(fp.key), text: ex.text })));
  const iot = all.filter((i) => IOT_KEYS.includes(i.key));
  // A changed last character: the exact-match databases (favicon.md5, titles) then miss.
  const misses = iot.map((i) => ({ key: i.key, text: i.text.length > 0 ? `${i.text.slice(0, -1)}\u00a7` : '\u00a7' }));
  const match = (i: IdentifyInput): unknown => load.source.match(i);
  console.log(`rounds ${ROUNDS}; target ${TARGET_PER_SECOND.toLocaleString('en')} observations/s for the whole engine`);
  run('every example, own key', match, all);
  const iotRate = run('IoT keys: examples', match, iot);
  const missRate = run('IoT keys: examples, last char changed', match, misses);
  for (const key of IOT_KEYS) {
    const mine = iot.filter((i) => i.key === key);
    if (mine.length > 0) run(`  ${key}`, match, mine);
  }
  const worst = Math.min(iotRate, missRate);
  console.log(`slowest IoT mix: ${Math.round(worst).toLocaleString('en')} inputs/s = ${(worst / TARGET_PER_SECOND).toFixed(1)}× the 50,000/s target, per input`);
}

main();
