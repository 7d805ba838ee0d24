/**
 * bench/discover: iotclean's connect scan against nmap -sT over the same lab /16 × the default
 * plan's 39 ports, in one invocation, printing probes/s, recall and the ratio.
 *
 * As root it runs inside its own network namespace (only `lo`), so nothing else on the machine
 * is disturbed; otherwise on the host's loopback. Every target is in the lab's 127.x network.
 * Usage: node dist/bench/discover.js [--devices N] [--min-rate N]
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { loadDefaultPlan, withPortMap } from '../src/discover/plan.js';
import { readGroundTruth } from '../src/lab/ground-truth.js';
import { labDown, labUp } from '../src/lab/runtime.js';
import { labPortMap } from '../src/lab/state.js';

const { values: args } = parseArgs({
  options: {
    devices: { type: 'string', default: '1000' },
    'min-rate': { type: 'string', default: '100000' },
    inner: { type: 'boolean', default: false },
  },
});

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** As root, re-run this script inside a fresh namespace and clean it up afterwards. */
function runInNamespace(): boolean {
  if (args.inner || process.getuid?.() !== 0 || !have('ip')) return false;
  const ns = `iotclean-bench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2), '--inner'], { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  return true;
}

interface Run {
  tool: string;
  probes: number;
  seconds: number;
  found: Set<string>;
  peakRssMb?: number;
}

function runIotclean(labDir: string, network: string, dbDir: string): Promise<Run> {
  const cli = new URL(import.meta.url.endsWith('.ts') ? '../src/cli/main.ts' : '../src/cli/main.js', import.meta.url).pathname;
  const db = join(dbDir, 'bench.db');
  const argv = [...(cli.endsWith('.ts') ? ['--import', 'tsx'] : []), cli, 'discover', '--lab', labDir, '--targets', network, '--rate', '0', '--seed', '1', '--db', db, '--json'];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`iotclean discover exited ${code}`));
      const r = JSON.parse(out) as { probesSent: number; elapsedMs: number; peakRssMb: number; surveyId: number };
      const d = new SQLite(db, { readonly: true });
      const rows = d.prepare('select ip, port from endpoints where survey_id = ?').all(r.surveyId) as { ip: string; port: number }[];
      d.close();
      resolve({ tool: 'iotclean', probes: r.probesSent, seconds: r.elapsedMs / 1000, found: new Set(rows.map((x) => `${x.ip}:${x.port}`)), peakRssMb: r.peakRssMb });
    });
  });
}

function runNmap(network: string, ports: readonly number[], addresses: number, dir: string): Run {
  const out = join(dir, 'nmap.gnmap');
  const t0 = performance.now();
  const r = spawnSync('nmap', ['-sT', '-T5', '--min-rate', args['min-rate']!, '-n', '-Pn', '-p', ports.join(','), '-oG', out, network], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 30 * 60_000 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`nmap exited ${r.status}`);
  const found = new Set<string>();
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const m = /^Host: (\S+) .*Ports: (.*)$/.exec(line);
    if (!m) continue;
    for (const entry of m[2]!.split(', ')) {
      const [port, state] = entry.split('/');
      if (state === 'open') found.add(`${m[1]}:${port}`);
    }
  }
  return { tool: 'nmap -sT', probes: addresses * ports.length, seconds, found };
}

async function main(): Promise<void> {
  if (runInNamespace()) return;
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-'));
  const labDir = join(dir, 'lab');
  const state = await labUp({ dir: labDir, devices: Number(args.devices) });
  try {
    const truth = readGroundTruth(labDir);
    const expected = new Set(truth.devices.flatMap((d) => d.services.map((s) => `${d.ip}:${s.boundPort}`)));
    const plan = withPortMap(await loadDefaultPlan(), labPortMap(state));
    const ports = plan.ports.map((p) => p.port);
    const prefixLen = Number(state.network.split('/')[1]);
    const addresses = 2 ** (32 - prefixLen);
    console.log(`lab: ${state.devices} devices, ${expected.size} listening endpoints in ${state.network}; ${addresses} addresses × ${ports.length} ports = ${(addresses * ports.length).toLocaleString('en')} probes per tool`);

    const runs: Run[] = [await runIotclean(labDir, state.network, dir)];
    if (have('nmap')) runs.push(runNmap(state.network, ports, addresses, dir));
    else console.log('nmap not installed (apt-get install nmap): iotclean alone');

    console.log('\ntool        probes/s   seconds   recall   false+   peak RSS');
    for (const r of runs) {
      const hits = [...r.found].filter((x) => expected.has(x)).length;
      const rate = r.probes / r.seconds;
      console.log(
        `${r.tool.padEnd(10)} ${Math.round(rate).toLocaleString('en').padStart(9)} ${r.seconds.toFixed(1).padStart(9)}   ${((100 * hits) / expected.size).toFixed(2).padStart(6)}%  ${String(r.found.size - hits).padStart(6)}   ${r.peakRssMb !== undefined ? `${r.peakRssMb} MB` : '-'}`,
      );
    }
    const [ours, nmap] = runs;
    if (ours && nmap) console.log(`\nratio iotclean / nmap -sT: ${(ours.probes / ours.seconds / (nmap.probes / nmap.seconds)).toFixed(2)}x probes/s`);
  } finally {
    await labDown(labDir);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
