/**
 * bench/access: weak-credential checks, iotclean against hydra, ncrack and medusa on the same real
 * targets, with the same list and the same per-host parallelism, in one invocation.
 *
 * Targets (bench/access-servers.ts): busybox telnetd + busybox login, dropbear, lighttpd mod_auth
 * Basic and Digest (fail delay off; Digest once MD5 only, once SHA-256 offered first), each with one weak pair, in a fresh network namespace with
 * only `lo` (127.74.0.N); every tool runs inside it through `ip netns exec`, so nothing leaves it.
 * For each protocol, a list of --pairs N pairs holds the right one at --position K; each tool runs
 * once per --parallelism value (hydra -t, medusa -t, ncrack cl=CL=), stops at its first find, and
 * is killed at --timeout seconds. Printed per run:
 *   attempts/s      (K when the right pair was reported, else N) / seconds, as the issue defines it
 *   hosts/s         targets finished (the tool exited by itself) / seconds
 *   false positives reported pairs that are not the right one
 * The iotclean row runs `iotclean access --targets IP --ports P --json` (see iotcleanArgv).
 *
 * Usage (root): node dist/bench/access.js [--pairs N] [--position K] [--parallelism 1,4]
 *   [--protocols telnet,ssh,http-basic,http-digest,http-digest-sha256] [--tools iotclean,hydra,ncrack,medusa]
 *   [--timeout S] [--fail-delay] [--show-output]
 *   lab mode: [--lab DEVICES] [--lab-hosts M] — instead of the real servers, a lab of DEVICES
 *   devices (re-run inside a fresh namespace), M hosts per protocol (telnet-login, ssh, http-basic,
 *   http-digest as the ground truth says), one host after another, each tool with one list per
 *   protocol: decoys, then every chosen device's accepted pairs at the end. Honeypots count any
 *   report as a false positive (they accept anything); a strong device, any report.
 * or from source: node --import tsx bench/access.ts ...
 * The defaults (10 pairs, right at #9, 60 s per run) take a few minutes; the issue's figures are
 * --pairs 100 --position 95 --timeout 600 (telnet then takes up to an hour for the three tools).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { rerunInNamespace } from './namespace.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IotcleanError } from '../src/core/errors.js';
import { readGroundTruth, type GroundTruthDevice } from '../src/lab/ground-truth.js';
import { labDown, labUp } from '../src/lab/runtime.js';
import {
  accessServerNames,
  missingTools,
  startAccessServers,
  whyNotAccessServers,
  writeCredentialList,
  dictionaryLines,
  type AccessLab,
  type AccessServer,
  type AccessServerName,
  type CredentialList,
  type Pair,
} from './access-servers.js';

/** The tools compared, iotclean first. */
export const toolNames = ['iotclean', 'hydra', 'ncrack', 'medusa'] as const;
export type ToolName = (typeof toolNames)[number];

/** How one tool is run against one target and what it reported. */
export interface ToolAdapter {
  readonly name: Exclude<ToolName, 'iotclean'>;
  /** argv (run inside the namespace) for one target, one list, `parallel` sessions on the host. */
  argv(server: AccessServer, list: CredentialList, parallel: number): string[];
  /** The pairs the tool's output says work. */
  parse(output: string): Pair[];
}

/** hydra's module per target (http-get does Basic and Digest from the challenge). */
const hydraModule: Record<AccessServerName, string> = { telnet: 'telnet', ssh: 'ssh', 'http-basic': 'http-get', 'http-digest': 'http-get', 'http-digest-sha256': 'http-get' };
const medusaModule: Record<AccessServerName, string[]> = {
  telnet: ['-M', 'telnet'],
  ssh: ['-M', 'ssh'],
  'http-basic': ['-M', 'http', '-m', 'DIR:/'],
  'http-digest': ['-M', 'http', '-m', 'DIR:/', '-m', 'AUTH:DIGEST'],
  'http-digest-sha256': ['-M', 'http', '-m', 'DIR:/', '-m', 'AUTH:DIGEST'],
};
const ncrackService: Record<AccessServerName, string> = { telnet: 'telnet', ssh: 'ssh', 'http-basic': 'http', 'http-digest': 'http', 'http-digest-sha256': 'http' };

/** Every match of `re` (global, with username and password groups) in `text`, distinct. */
function pairsOf(text: string, re: RegExp): Pair[] {
  const seen = new Map<string, Pair>();
  for (const m of text.matchAll(re)) {
    const username = m.groups?.user ?? '';
    const password = m.groups?.pass ?? '';
    seen.set(`${username}\0${password}`, { username, password });
  }
  return [...seen.values()];
}

/** The three reference tools: how each is called and how its findings are read. */
export const adapters: readonly ToolAdapter[] = [
  {
    name: 'hydra',
    // -I: ignore a restore file; -f: stop at the first pair found; -C: "user:pass" lines.
    argv: (s, l, p) => ['hydra', '-I', '-f', '-t', String(p), '-C', l.combo, '-s', String(s.port), s.ip, hydraModule[s.name], ...(s.path ? [s.path] : [])],
    // "[23][telnet] host: 127.74.0.1   login: root   password: 1234"
    parse: (out) => pairsOf(out, /^\[\d+\]\[[\w-]+\] host: \S+\s+login: (?<user>.*?)\s+password: (?<pass>.*?)\s*$/gm),
  },
  {
    name: 'ncrack',
    // --pairwise: line i of -U with line i of -P (the list's order); -f: stop at the first find;
    // cl/CL: minimum and maximum parallel connections to the service.
    argv: (s, l, p) => [
      'ncrack', '--pairwise', '-f', '-U', l.users, '-P', l.passwords,
      `${ncrackService[s.name]}://${s.ip}:${s.port},cl=${p},CL=${p}${s.path ? `,path=${s.path}` : ''}`,
    ],
    // "127.74.0.1 23/tcp telnet: 'root' 'admin'"
    parse: (out) => pairsOf(out, /^\S+ \d+\/tcp [\w-]+: '(?<user>.*)' '(?<pass>.*)'\s*$/gm),
  },
  {
    name: 'medusa',
    // -C: ":user:pass" lines (the host from -h); -t: parallel logins per host; -f: stop at the first find; -b: no banner.
    argv: (s, l, p) => ['medusa', '-b', '-f', '-t', String(p), '-h', s.ip, '-n', String(s.port), '-C', l.medusaCombo, ...medusaModule[s.name]],
    // "ACCOUNT FOUND: [telnet] Host: 127.74.0.1 User: root Password: admin [SUCCESS]"
    parse: (out) => pairsOf(out, /^ACCOUNT FOUND: \[[\w-]+\] Host: \S+ User: (?<user>.*?) Password: (?<pass>.*?) \[SUCCESS\]\s*$/gm),
  },
];

/** One tool's run against one target. */
export interface RunResult {
  readonly tool: ToolName;
  readonly protocol: AccessServerName;
  readonly parallel: number;
  readonly seconds: number;
  readonly timedOut: boolean;
  readonly exitCode: number | null;
  readonly reported: readonly Pair[];
  readonly foundRight: boolean;
  readonly falsePositives: readonly Pair[];
  /** K when the right pair was reported, else N (the issue's definition). */
  readonly attempts: number;
  readonly output: string;
  /**
   * iotclean only: seconds from its first try to its last (the results' startedAt/finishedAt),
   * i.e. the check without the process start, discovery, grab and identify around it.
   */
  readonly checkSeconds?: number;
}

/** The span of the services' checks in iotclean's JSON lines, in seconds (undefined when none). */
export function iotcleanCheckSeconds(output: string): number | undefined {
  let first = Infinity;
  let last = -Infinity;
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as { startedAt?: unknown; finishedAt?: unknown };
      if (typeof v.startedAt === 'string' && typeof v.finishedAt === 'string') {
        first = Math.min(first, Date.parse(v.startedAt));
        last = Math.max(last, Date.parse(v.finishedAt));
      }
    } catch {
      // not a result line
    }
  }
  return Number.isFinite(first) && Number.isFinite(last) ? Math.max(0.001, (last - first) / 1000) : undefined;
}

/** Score a run's findings against the right pair. */
export function score(reported: readonly Pair[], list: CredentialList): { foundRight: boolean; falsePositives: Pair[]; attempts: number } {
  const same = (p: Pair) => p.username === list.right.username && p.password === list.right.password;
  const foundRight = reported.some(same);
  return { foundRight, falsePositives: reported.filter((p) => !same(p)), attempts: foundRight ? list.position : list.pairs.length };
}

const outputCap = 1 << 20;

/** Run argv with a time limit: its process group is killed at it. Output (stdout + stderr) bounded. */
export function runBounded(argv: readonly string[], cwd: string, limitSeconds: number): Promise<{ seconds: number; timedOut: boolean; code: number | null; output: string }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    const keep = (d: Buffer) => {
      if (output.length < outputCap) output += d.toString('latin1').slice(0, outputCap - output.length);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone already
      }
    };
    const guard = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, limitSeconds * 1000);
    child.on('error', (e) => {
      output += `spawn error: ${e.message}\n`;
    });
    child.on('close', (code) => {
      clearTimeout(guard);
      killGroup(); // a tool's leftover children (ssh helpers) end with it
      resolve({ seconds: (performance.now() - t0) / 1000, timedOut, code, output });
    });
  });
}

function cliArgv(): string[] {
  const cli = new URL(import.meta.url.endsWith('.ts') ? '../src/cli/main.ts' : '../src/cli/main.js', import.meta.url).pathname;
  return [process.execPath, ...(cli.endsWith('.ts') ? ['--import', 'tsx'] : []), cli];
}

/** Whether `iotclean access` exists yet (its --help exits 0). */
function iotcleanAccessAvailable(): boolean {
  const r = spawnSync(cliArgv()[0]!, [...cliArgv().slice(1), 'access', '--help'], { encoding: 'utf8', timeout: 60_000 });
  return r.status === 0 && /--targets/.test(`${r.stdout}`);
}

/**
 * iotclean's row: `iotclean access --targets IP --ports P --json` with the bench list as its
 * dictionary and the same sessions per host as the other tools get threads; it prints one JSON
 * object per service (ip, port, protocol, verdict, entry, username).
 */
function iotcleanArgv(s: AccessServer, l: CredentialList, parallel: number, db: string): string[] {
  // --pause 0: the other tools do not pause between tries either.
  return [...cliArgv(), 'access', '--targets', s.ip, '--ports', String(s.port), '--dictionary', l.entries, '--sessions', String(parallel), '--pause', '0', '--db', db, '--json'];
}

/** The pairs iotclean's `access --json` output names as weak (entry ids "bench-<i>" → the list's pair i). */
export function parseIotclean(output: string, s: AccessServer, l: CredentialList): Pair[] {
  const found: Pair[] = [];
  for (const line of output.split('\n')) {
    const text = line.trim();
    if (!text.startsWith('{')) continue;
    let v: { ip?: unknown; port?: unknown; verdict?: unknown; entry?: unknown };
    try {
      v = JSON.parse(text) as typeof v;
    } catch {
      continue;
    }
    if (v.ip !== s.ip || v.port !== s.port || v.verdict !== 'weak-credential' || typeof v.entry !== 'string') continue;
    const i = /^bench-(\d+)$/.exec(v.entry)?.[1];
    const pair = i === undefined ? undefined : l.pairs[Number(i) - 1];
    found.push(pair ?? { username: `(unknown entry ${v.entry})`, password: '' });
  }
  return found;
}

/** What one bench run does (from the command line). */
export interface Options {
  readonly pairs: number;
  readonly position: number;
  readonly parallelism: readonly number[];
  readonly protocols: readonly AccessServerName[];
  readonly tools: readonly ToolName[];
  readonly timeout: number;
  readonly failDelay: boolean;
  readonly showOutput: boolean;
  /** Lab mode: devices in the lab (0 = the real servers instead). */
  readonly lab: number;
  /** Lab mode: hosts per protocol. */
  readonly labHosts: number;
  readonly inner: boolean;
}

/** bench/access's command line as options (throws IotcleanError E_ARGS on a bad value). */
export function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      pairs: { type: 'string', default: '10' },
      position: { type: 'string' },
      parallelism: { type: 'string', default: '1,4' },
      protocols: { type: 'string', default: accessServerNames.join(',') },
      tools: { type: 'string', default: toolNames.join(',') },
      timeout: { type: 'string', default: '60' },
      'fail-delay': { type: 'boolean', default: false },
      'show-output': { type: 'boolean', default: false },
      lab: { type: 'string', default: '0' },
      'lab-hosts': { type: 'string', default: '4' },
      inner: { type: 'boolean', default: false },
    },
  });
  const int = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) throw new IotcleanError('E_ARGS', `--${name} must be a whole number in ${min}..${max}, got "${text}"`, { hint: 'see the usage lines at the top of bench/access.ts' });
    return n;
  };
  const list = <T extends string>(name: string, text: string, allowed: readonly T[]): T[] => {
    const items = text.split(',').map((x) => x.trim()).filter(Boolean);
    const bad = items.filter((x) => !(allowed as readonly string[]).includes(x));
    if (bad.length > 0 || items.length === 0) throw new IotcleanError('E_ARGS', `--${name}: unknown ${bad.join(', ') || '(empty)'}`, { hint: `choose from ${allowed.join(', ')}` });
    return items as T[];
  };
  const pairs = int('pairs', values.pairs!, 1, 10_000);
  return {
    pairs,
    position: int('position', values.position ?? String(Math.max(1, pairs - 1)), 1, pairs),
    parallelism: values.parallelism!.split(',').map((p) => int('parallelism', p.trim(), 1, 64)),
    protocols: list('protocols', values.protocols!, accessServerNames),
    tools: list('tools', values.tools!, toolNames),
    timeout: int('timeout', values.timeout!, 1, 3600),
    failDelay: values['fail-delay']!,
    showOutput: values['show-output']!,
    lab: int('lab', values.lab!, 0, 10_000),
    labHosts: int('lab-hosts', values['lab-hosts']!, 1, 100),
    inner: values.inner!,
  };
}

const show = (p: Pair) => `${p.username}/${p.password}`;

function printTable(results: readonly RunResult[], o: Options): void {
  console.log(`\nprotocol           tool       par  result          seconds  attempts/s  hosts/s  false positives  (iotclean: check s, attempts/s in the check)`);
  for (const r of results) {
    const result = r.falsePositives.length > 0 ? `WRONG` : r.foundRight ? 'right' : r.timedOut ? 'timeout' : 'not found';
    const secs = `${r.timedOut ? '≥' : ''}${r.seconds.toFixed(r.seconds < 1 ? 3 : 1)}`;
    const rate = `${r.timedOut ? '≤' : ''}${(r.attempts / r.seconds).toFixed(1)}`;
    const hosts = r.timedOut ? '0' : (1 / r.seconds).toFixed(3);
    const fp = r.falsePositives.length === 0 ? '0' : `${r.falsePositives.length} (${r.falsePositives.slice(0, 3).map(show).join(', ')})`;
    const check = r.checkSeconds !== undefined ? `  (${r.checkSeconds.toFixed(3)} s, ${(r.attempts / r.checkSeconds).toFixed(1)}/s)` : '';
    console.log(`${r.protocol.padEnd(18)} ${r.tool.padEnd(10)} ${String(r.parallel).padStart(3)}  ${result.padEnd(14)} ${secs.padStart(8)} ${rate.padStart(11)} ${hosts.padStart(8)}  ${fp.padEnd(15)}${check}`);
  }
  console.log(`(list: ${o.pairs} pairs, the right one at #${o.position}; attempts = #${o.position} when found, else ${o.pairs}; ≥/≤: stopped at the ${o.timeout} s limit;`);
  console.log(` seconds are wall time of the whole process; iotclean's also include Node's start, loading its rules (Recog's ~0.8 s) and the discover and grab before the check)`);
}

async function runOne(tool: ToolName, s: AccessServer, list: CredentialList, parallel: number, inNs: (argv: readonly string[]) => string[], work: string, o: Options): Promise<RunResult> {
  let argv: string[];
  let parse: (out: string) => Pair[];
  if (tool === 'iotclean') {
    argv = iotcleanArgv(s, list, parallel, join(work, `iotclean-${s.name}-${parallel}.db`));
    parse = (out) => parseIotclean(out, s, list);
  } else {
    const a = adapters.find((x) => x.name === tool)!;
    argv = a.argv(s, list, parallel);
    parse = a.parse;
  }
  const m = await runBounded(inNs(argv), work, o.timeout);
  const reported = parse(m.output);
  if (o.showOutput) console.log(`--- ${tool} ${s.name} -t ${parallel}: ${argv.join(' ')}\n${m.output.slice(-4000)}`);
  const check = tool === 'iotclean' ? iotcleanCheckSeconds(m.output) : undefined;
  return { tool, protocol: s.name, parallel, seconds: m.seconds, timedOut: m.timedOut, exitCode: m.code, reported, ...score(reported, list), output: m.output, ...(check !== undefined ? { checkSeconds: check } : {}) };
}

/** Run the whole bench; returns every run's result (also printed). */
export async function benchAccess(o: Options): Promise<RunResult[]> {
  const why = o.lab > 0 ? (process.getuid?.() === 0 ? undefined : 'lab mode needs root (its own namespace)') : whyNotAccessServers(o.protocols);
  if (why) throw new IotcleanError('E_ARGS', `bench/access cannot start its targets: ${why}`, { hint: 'run as root on Linux with the packages of .ci/run' });
  const missing = missingTools(o.tools.filter((t) => t !== 'iotclean'));
  if (missing.length > 0) console.log(`not installed, skipped: ${missing.join(', ')} (apt-get install ${missing.join(' ')})`);
  let tools = o.tools.filter((t) => !missing.includes(t));
  if (tools.includes('iotclean') && !iotcleanAccessAvailable()) {
    console.log('iotclean: `iotclean access` is not available yet (issue 7 CLI): iotclean row skipped');
    tools = tools.filter((t) => t !== 'iotclean');
  }
  if (o.lab > 0) {
    await benchLab(o, tools);
    return [];
  }
  const work = mkdtempSync(join(tmpdir(), 'iotclean-bench-access-'));
  const lab = await startAccessServers({ names: o.protocols, failDelay: o.failDelay });
  const results: RunResult[] = [];
  try {
    console.log(`\n== bench/access: ${tools.join(', ')} on ${lab.servers.map((s) => `${s.name} (${s.product}, ${s.ip}:${s.port})`).join('; ')}`);
    console.log(`list: ${o.pairs} pairs, right at #${o.position}; per-host parallelism ${o.parallelism.join(', ')}; each run bounded by ${o.timeout} s; lighttpd fail delay ${o.failDelay ? 'on' : 'off'}`);
    const exclude = lab.servers.map((s) => s.pair);
    for (const s of lab.servers) {
      const list = writeCredentialList(work, { right: s.pair, position: o.position, total: o.pairs, exclude, name: s.name });
      for (const tool of tools) {
        for (const parallel of o.parallelism) {
          const r = await runOne(tool, s, list, parallel, lab.inNs, work, o);
          results.push(r);
          const verdict = r.falsePositives.length > 0 ? `WRONG: ${r.falsePositives.map(show).join(', ')}` : r.foundRight ? 'right' : r.timedOut ? 'timeout' : 'not found';
          console.log(`  ${s.name} ${tool} par ${parallel}: ${verdict} in ${r.seconds.toFixed(1)} s`);
        }
      }
    }
    printTable(results, o);
    return results;
  } finally {
    await lab.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The lab's auth kinds bench/access can check, and its protocol name for each. */
const labAuth: Readonly<Record<string, AccessServerName>> = { 'telnet-login': 'telnet', ssh: 'ssh', 'http-basic': 'http-basic', 'http-digest': 'http-digest' };

/** One lab host's tally for one tool and parallelism. */
interface LabTally {
  hosts: number;
  finished: number;
  right: number;
  weak: number;
  falsePositives: number;
  attempts: number;
  seconds: number;
  timedOut: number;
  wrong: string[];
}

/** Lab mode (inside its namespace): the tools on lab devices, scored against the ground truth. */
async function benchLab(o: Options, tools: readonly ToolName[]): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'iotclean-bench-access-lab-'));
  const labDir = join(work, 'lab');
  try {
    await labUp({ dir: labDir, devices: o.lab });
    const truth = readGroundTruth(labDir);
    // An empty password cannot be written in every tool's files (ncrack skips empty lines).
    const usable = (d: GroundTruthDevice) => d.credentials.every((c) => c.username !== '' && c.password !== '' && !/[:\r\n]/.test(c.username + c.password));
    console.log(`\n== bench/access, lab mode: ${truth.devices.length} devices in ${truth.network}; ${o.labHosts} host(s) per protocol; tools ${tools.join(', ')}`);
    const table: string[] = [];
    for (const protocol of o.protocols) {
      // Weak devices first (about two thirds of the hosts), then the others (strong, honeypots).
      const candidates: { d: GroundTruthDevice; port: number }[] = [];
      for (const d of truth.devices) {
        const svc = d.services.find((x) => labAuth[x.auth] === protocol);
        if (svc && usable(d)) candidates.push({ d, port: svc.boundPort });
      }
      const isWeakDevice = (d: GroundTruthDevice) => d.weak && d.behaviour !== 'honeypot';
      const weakOnes = candidates.filter((c) => isWeakDevice(c.d)).slice(0, Math.max(1, Math.ceil((o.labHosts * 2) / 3)));
      const others = candidates.filter((c) => !isWeakDevice(c.d)).sort((a, b) => Number(b.d.behaviour !== 'normal') - Number(a.d.behaviour !== 'normal'));
      const chosen = [...weakOnes, ...others].slice(0, o.labHosts);
      if (chosen.length === 0) {
        console.log(`${protocol}: no lab device with this login (and no empty password) among ${truth.devices.length}`);
        continue;
      }
      // Only weak devices' pairs are on the list (a strong device's pair is what no list guesses);
      // decoys avoid every chosen device's pairs, so a report on a strong device is a false positive.
      const accepted = chosen.filter(({ d }) => isWeakDevice(d)).flatMap(({ d }) => d.credentials);
      const distinct = [...new Map(accepted.map((p) => [`${p.username}\0${p.password}`, p])).values()];
      if (distinct.length === 0) {
        console.log(`${protocol}: no weak device with this login among ${truth.devices.length}`);
        continue;
      }
      const total = Math.max(o.pairs, distinct.length);
      // Decoys first, then every weak device's pairs; the list writer places one "right" pair, the rest follow it.
      const base = writeCredentialList(work, { right: distinct[0]!, position: total - distinct.length + 1, total: total - distinct.length + 1, exclude: chosen.flatMap(({ d }) => d.credentials), name: `lab-${protocol}` });
      const pairs = [...base.pairs, ...distinct.slice(1)];
      const list = rewriteList(base, pairs);
      console.log(`${protocol}: ${chosen.map(({ d, port }) => `${d.ip}:${port} ${d.profile}${d.behaviour !== 'normal' ? ` (${d.behaviour})` : ''}${d.weak ? ' weak' : ''}`).join('; ')}; list ${pairs.length} pairs, the devices' ${distinct.length} at the end`);
      for (const tool of tools) {
        for (const parallel of o.parallelism) {
          const t: LabTally = { hosts: 0, finished: 0, right: 0, weak: 0, falsePositives: 0, attempts: 0, seconds: 0, timedOut: 0, wrong: [] };
          for (const { d, port } of chosen) {
            const target: AccessServer = { name: protocol, ip: d.ip, port, pair: d.credentials[0]!, product: d.profile, ...(protocol.startsWith('http') ? { path: '/' } : {}) };
            const r = await runOne(tool, target, list, parallel, (argv) => [...argv], work, o);
            const ok = new Set(d.credentials.map((c) => `${c.username}\0${c.password}`));
            const claimsOk = r.reported.filter((p) => ok.has(`${p.username}\0${p.password}`));
            const isWeak = isWeakDevice(d);
            const fps = d.behaviour === 'honeypot' || !isWeak ? r.reported : r.reported.filter((p) => !ok.has(`${p.username}\0${p.password}`));
            const firstOk = isWeak && claimsOk.length > 0 ? Math.min(...claimsOk.map((c) => pairs.findIndex((p) => p.username === c.username && p.password === c.password) + 1)) : pairs.length;
            t.hosts++;
            if (!r.timedOut) t.finished++;
            if (isWeak) t.weak++;
            if (isWeak && claimsOk.length > 0 && fps.length === 0) t.right++;
            t.falsePositives += fps.length;
            if (fps.length > 0) t.wrong.push(`${d.ip} ${d.profile}: ${fps.map(show).join(', ')}`);
            t.attempts += firstOk;
            t.seconds += r.seconds;
            if (r.timedOut) t.timedOut++;
          }
          table.push(
            `${protocol.padEnd(18)} ${tool.padEnd(10)} ${String(parallel).padStart(3)}  ${`${t.right}/${t.weak}`.padStart(9)}  ${t.seconds.toFixed(1).padStart(8)} ${(t.attempts / t.seconds).toFixed(1).padStart(11)} ${(t.finished / t.seconds).toFixed(3).padStart(8)}  ${t.falsePositives}${t.wrong.length > 0 ? ` (${t.wrong.slice(0, 2).join('; ')})` : ''}${t.timedOut > 0 ? ` [${t.timedOut} timed out]` : ''}`,
          );
          console.log(`  ${table[table.length - 1]}`);
        }
      }
    }
    console.log(`\nprotocol           tool       par  weak found   seconds  attempts/s  hosts/s  false positives`);
    for (const line of table) console.log(line);
    console.log(`(hosts one after another, each bounded by ${o.timeout} s; attempts per host = position of its first accepted pair reported, else the list's length)`);
  } finally {
    await labDown(labDir).catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

/** The same list files holding exactly `pairs` (the lab's lists end with several accepted pairs). */
function rewriteList(l: CredentialList, pairs: readonly Pair[]): CredentialList {
  const write = (path: string, lines: readonly string[]) => writeFileSync(path, `${lines.join('\n')}\n`);
  write(l.combo, pairs.map((p) => `${p.username}:${p.password}`));
  write(l.medusaCombo, pairs.map((p) => `:${p.username}:${p.password}`));
  write(l.users, pairs.map((p) => p.username));
  write(l.passwords, pairs.map((p) => p.password));
  write(l.entries, dictionaryLines(pairs));
  return { ...l, pairs };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  try {
    const o = parseOptions(process.argv.slice(2));
    if (o.lab > 0 && !o.inner) process.exitCode = rerunInNamespace(`iotc-bench-access-${process.pid}`);
    else await benchAccess(o);
  } catch (e) {
    if (e instanceof IotcleanError) {
      console.error(e.format());
      process.exitCode = 2;
    } else throw e;
  }
}
