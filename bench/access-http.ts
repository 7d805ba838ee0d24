/**
 * bench/access-http: attempts per second of the HTTP Basic and Digest access modules, in process,
 * per session count, over N wrong pairs against real lighttpd mod_auth servers (bench/access-servers:
 * Basic, Digest MD5, Digest SHA-256 offered first; fail delay off) in a fresh network namespace with
 * only `lo` (127.74.0.N). The outer run starts the servers and re-runs this script inside the
 * namespace (`--inner`), where the modules run exactly as the runner calls them (default connection
 * limits, the default loopback-only scope, no pause). Every run is bounded by its pair count and by
 * --timeout; the figures are printed, never asserted.
 *
 * medusa (the fastest of the three reference tools on HTTP Basic here) runs right after each
 * iotclean run on the same list with -t set to the session count, when it is installed (--no-medusa
 * skips it); the ratio iotclean/medusa is printed. medusa's Digest answers lighttpd's challenge
 * with requests lighttpd refuses as 400 Bad Request: its row says so (not a correct run).
 *
 * Usage (root): node dist/bench/access-http.js [--pairs 2000] [--sessions 1,2,4] [--protocols http-basic,http-digest,http-digest-sha256] [--timeout 60] [--repeat 1] [--warmup 1000] [--no-medusa]
 * or from source: node --import tsx bench/access-http.ts ...; add --cpu-prof before the script to profile (the inner run writes the profile).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { httpBasicAccess, httpDigestAccess } from '../src/access/http/index.js';
import type { AccessContext, AccessModule, Credential } from '../src/access/module.js';
import { grabEndpoint } from '../src/grab/runner.js';
import { defaultLimits, openConnection } from '../src/scope/connection.js';
import { compileScope, defaultScope } from '../src/scope/scope.js';
import { startAccessServers, type AccessServerName } from './access-servers.js';

const protocols = ['http-basic', 'http-digest', 'http-digest-sha256'] as const;
type Protocol = (typeof protocols)[number];
const moduleOf: Readonly<Record<Protocol, AccessModule>> = { 'http-basic': httpBasicAccess, 'http-digest': httpDigestAccess, 'http-digest-sha256': httpDigestAccess };

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '2000' },
    sessions: { type: 'string', default: '1,2,4' },
    protocols: { type: 'string', default: protocols.join(',') },
    timeout: { type: 'string', default: '60' },
    repeat: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '1000' },
    inner: { type: 'boolean', default: false },
    'no-medusa': { type: 'boolean', default: false },
    target: { type: 'string', multiple: true, default: [] },
  },
});

const pairs = Number(values.pairs);
const sessionCounts = values.sessions.split(',').map(Number);
const chosen = values.protocols.split(',') as Protocol[];
const timeoutS = Number(values.timeout);
const repeat = Number(values.repeat);
const warmup = Number(values.warmup);
if (!Number.isInteger(pairs) || pairs < 1 || pairs > 50_000) throw new Error('--pairs: 1..50000');
if (sessionCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 16)) throw new Error('--sessions: integers 1..16');
if (chosen.some((p) => !protocols.includes(p))) throw new Error(`--protocols: some of ${protocols.join(',')}`);
if (!(timeoutS > 0 && timeoutS <= 600)) throw new Error('--timeout: 1..600 s');
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 10) throw new Error('--repeat: 1..10');
if (!Number.isInteger(warmup) || warmup < 0 || warmup > 5000) throw new Error('--warmup: 0..5000 pairs');

/** `n` wrong pairs (none is any server's pair: those are not "wrong-…"). */
function wrongPairs(n: number): Credential[] {
  return Array.from({ length: n }, (_, i) => ({ id: `e${i + 1}`, username: i % 3 === 0 ? 'root' : 'admin', password: `wrong-${i + 1}` }));
}

const medusaArgs: Readonly<Record<Protocol, readonly string[]>> = {
  'http-basic': ['-M', 'http', '-m', 'DIR:/'],
  'http-digest': ['-M', 'http', '-m', 'DIR:/', '-m', 'AUTH:DIGEST'],
  'http-digest-sha256': ['-M', 'http', '-m', 'DIR:/', '-m', 'AUTH:DIGEST'],
};

const medusaInstalled = (): boolean => spawnSync('sh', ['-c', 'command -v medusa'], { stdio: 'ignore' }).status === 0;

/** medusa over the same list (its -C ":user:pass" lines), -t `threads`: attempts/s, or why the run is not a correct one. */
function runMedusa(protocol: Protocol, ip: string, port: number, combo: string, threads: number): { readonly perSecond: number; readonly note: string } {
  const t0 = performance.now();
  const r = spawnSync('medusa', ['-b', '-f', '-t', String(threads), '-h', ip, '-n', String(port), '-C', combo, ...medusaArgs[protocol]], { encoding: 'utf8', timeout: timeoutS * 1000, killSignal: 'SIGKILL' });
  const ms = performance.now() - t0;
  const out = `${r.stdout}${r.stderr}`;
  const note = r.error ? `killed: ${r.error.message}` : /ERROR|ACCOUNT FOUND/.test(out) ? `not correct: ${out.split('\n').find((l) => /ERROR|ACCOUNT FOUND/.test(l))?.slice(0, 120) ?? ''}` : 'ok';
  return { perSecond: (pairs * 1000) / ms, note };
}

async function inner(): Promise<void> {
  const scope = compileScope(defaultScope());
  const withMedusa = !values['no-medusa'] && medusaInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-bench-access-http-'));
  const combo = join(dir, 'combo.txt');
  writeFileSync(combo, `${wrongPairs(pairs).map((p) => `:${p.username}:${p.password}`).join('\n')}\n`);
  try {
    await innerRuns(scope, withMedusa, combo);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function innerRuns(scope: ReturnType<typeof compileScope>, withMedusa: boolean, combo: string): Promise<void> {
  for (const spec of values.target) {
    const [protocol, ip = '', portText = ''] = spec.split(':') as [Protocol, string, string];
    if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)) throw new Error(`not a loopback target: ${ip}`);
    const port = Number(portText);
    const observations = await grabEndpoint({ scope, ip, port, limits: defaultLimits, service: 'http' });
    const target = { ip, port, observations };
    const module = moduleOf[protocol];
    if (!module.applies(target)) throw new Error(`${protocol} does not apply to ${ip}:${port}`);
    // A short unmeasured run first, so the figures are the steady state rather than the JIT's warm-up.
    if (warmup > 0) await module.run(target, wrongPairs(warmup), { scope, limits: defaultLimits, pauseMs: 0, open: (o) => openConnection(scope, ip, port, defaultLimits, o ?? {}) });
    for (const sessions of sessionCounts) {
      for (let r = 0; r < repeat; r++) {
        const signal = AbortSignal.timeout(timeoutS * 1000);
        let opened = 0;
        const ctx: AccessContext = {
          scope,
          limits: defaultLimits,
          pauseMs: 0,
          sessions,
          signal,
          open: (o) => {
            opened++;
            return openConnection(scope, ip, port, defaultLimits, o ?? {});
          },
        };
        const list = wrongPairs(pairs);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const v = await module.run(target, list, ctx);
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const cpuUs = (cpu.user + cpu.system) / v.attempts.length;
        const tries = v.attempts.length;
        console.log(
          `${protocol.padEnd(19)} sessions ${String(sessions).padStart(2)}  ${String(tries).padStart(6)} tries in ${ms.toFixed(0).padStart(6)} ms = ${((tries * 1000) / ms).toFixed(0).padStart(6)} attempts/s  ${cpuUs.toFixed(0).padStart(4)} µs CPU/try  ${opened} connections  verdict ${v.verdict}${v.reason ? ` (${v.reason})` : ''}`,
        );
        if (withMedusa) {
          const m = runMedusa(protocol, ip, port, combo, sessions);
          console.log(`${'  medusa'.padEnd(19)} -t ${String(sessions).padStart(5)}  ${String(pairs).padStart(6)} tries         = ${m.perSecond.toFixed(0).padStart(6)} attempts/s  iotclean/medusa ${m.note === 'ok' ? ((tries * 1000) / ms / m.perSecond).toFixed(2) : 'n/a'}  ${m.note}`);
        }
      }
    }
  }
}

async function outer(): Promise<void> {
  const names = chosen as AccessServerName[];
  const lab = await startAccessServers({ names });
  try {
    const targets = lab.servers.map((s) => `--target=${s.name}:${s.ip}:${s.port}`);
    console.log(`bench/access-http: ${pairs} wrong pairs per run, sessions ${sessionCounts.join(',')}, lighttpd (fail delay off) in ${lab.ns}`);
    const argv = [process.execPath, ...process.execArgv, process.argv[1]!, ...process.argv.slice(2), ...targets, '--inner'];
    const r = spawnSync(lab.inNs(argv)[0]!, lab.inNs(argv).slice(1), { stdio: 'inherit', timeout: (timeoutS * sessionCounts.length * repeat * chosen.length + 60) * 1000, killSignal: 'SIGKILL' });
    if (r.status !== 0) process.exitCode = 1;
  } finally {
    await lab.stop();
  }
}

await (values.inner ? inner() : outer());
