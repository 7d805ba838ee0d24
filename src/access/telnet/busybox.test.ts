/**
 * The telnet access module against a real busybox telnetd + busybox login (Debian's busybox-static
 * or busybox), in a network namespace this test creates (RECIPES.md): the namespace gets a private
 * /etc/passwd, /etc/shadow and /etc/group through /etc/netns/NS/, so the host's accounts are never
 * read or changed. busybox login allows 3 tries per connection and sleeps 3 s after each wrong
 * password, so the module must reconnect and keep the list's order. The module runs inside the
 * namespace (netns-probe.ts), the only place the daemon is reachable from.
 *
 * Needs Linux, root, `ip` and busybox; skipped with the reason otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credential, ModuleVerdict } from '../module.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const probe = join(here, 'netns-probe.ts');
const ip = '127.71.0.1';
const port = 23;

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, /etc/netns, telnetd on port 23)';
  if (!onPath('ip')) return 'needs iproute2 (`ip`)';
  if (!onPath('busybox')) return 'needs busybox (Debian busybox-static or busybox)';
  return undefined;
}
const skip = whyNot();
if (skip) console.warn(`[busybox telnet access] skipped: ${skip}`);

const ns = `iotclean-telnet7-${process.pid}`;
const etc = `/etc/netns/${ns}`;
let dir = '';
let telnetd: ChildProcess | undefined;
let nsCreated = false;
let log = '';

function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.error?.message ?? r.stderr}`);
  return r.stdout;
}

const hash = (password: string): string => run('busybox', ['mkpasswd', '-m', 'sha512', password]).trim();

function cleanup(): void {
  if (telnetd && telnetd.exitCode === null && telnetd.signalCode === null) telnetd.kill('SIGKILL');
  if (nsCreated) {
    // Everything in the namespace was started by this file (telnetd, its login and shell children).
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
    nsCreated = false;
  }
  rmSync(etc, { recursive: true, force: true });
  if (dir) rmSync(dir, { recursive: true, force: true });
}

beforeAll(async () => {
  if (skip) return;
  process.once('exit', cleanup);
  dir = mkdtempSync(join(tmpdir(), 'iotclean-telnet7-'));
  mkdirSync(etc, { recursive: true });
  // root has the weak password (hydra's case: it reported root/1234 for root/admin), the others strong ones.
  writeFileSync(join(etc, 'passwd'), ['root:x:0:0:root:/root:/bin/sh', 'admin:x:1000:1000:admin:/tmp:/bin/sh', 'operator:x:1001:1001:operator:/tmp:/bin/sh', ''].join('\n'));
  writeFileSync(join(etc, 'shadow'), [`root:${hash('admin')}:19000:0:99999:7:::`, `admin:${hash('R00t-Str0ng-9x!')}:19000:0:99999:7:::`, `operator:${hash('Xk9#vT2!qLm-7')}:19000:0:99999:7:::`, ''].join('\n'), { mode: 0o600 });
  writeFileSync(join(etc, 'group'), ['root:x:0:', 'admin:x:1000:', 'operator:x:1001:', ''].join('\n'));
  run('ip', ['netns', 'add', ns]);
  nsCreated = true;
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const login = join(dir, 'login');
  symlinkSync(run('sh', ['-c', 'command -v busybox']).trim(), login); // busybox dispatches on argv[0]
  const issue = join(dir, 'issue.net');
  writeFileSync(issue, '');
  telnetd = spawn('ip', ['netns', 'exec', ns, 'busybox', 'telnetd', '-F', '-b', `${ip}:${port}`, '-l', login, '-f', issue], { stdio: ['ignore', 'pipe', 'pipe'] });
  telnetd.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4096)));
  telnetd.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4096)));
  for (let i = 0; i < 100; i++) {
    const ss = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn'], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
    if (ss.includes(`${ip}:${port}`)) return;
    if (telnetd.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`busybox telnetd did not listen: ${log}`);
}, 60_000);

afterAll(async () => {
  if (telnetd && telnetd.exitCode === null && telnetd.signalCode === null) {
    telnetd.kill('SIGTERM');
    for (let i = 0; i < 40 && telnetd.exitCode === null && telnetd.signalCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  }
  cleanup();
  process.off('exit', cleanup);
});

/** Run the module inside the namespace; resolves with its verdict and elapsed time. */
function probeInNs(credentials: readonly Credential[], sessions = 1, timeoutMs = 150_000): Promise<ModuleVerdict & { elapsedMs: number }> {
  const arg = JSON.stringify({ ip, port, credentials, sessions, limits: { idleTimeoutMs: 5000, firstByteTimeoutMs: 5000, deadlineMs: 40_000 } });
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', probe, arg], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4096)));
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as ModuleVerdict & { elapsedMs: number });
      } catch {
        reject(new Error(`probe exited ${code}: ${err || out}`));
      }
    });
  });
}

const wrong: readonly [string, string][] = [
  ['root', 'root'],
  ['admin', '1234'],
  ['root', '1234'],
  ['admin', 'password'],
  ['operator', 'operator'],
  ['root', 'xc3511'],
  ['admin', '12345'],
  ['operator', 'admin'],
];

describe.skipIf(skip !== undefined)('telnet access against a real busybox telnetd + login', () => {
  it('finds the weak pair at position 5 of 8, and never a wrong pair', async () => {
    const list: Credential[] = wrong.slice(0, 7).map(([username, password], i) => ({ id: `w${i + 1}`, username, password }));
    list.splice(4, 0, { id: 'weak', username: 'root', password: 'admin' });
    const v = await probeInNs(list);
    console.log(`[busybox telnet access] weak at #5: ${v.attempts.length} attempts in ${v.elapsedMs} ms (${((v.attempts.length * 1000) / v.elapsedMs).toFixed(2)} attempts/s)`);
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('weak');
    expect(v.attempts.map((a) => a.entry)).toEqual(['w1', 'w2', 'w3', 'w4', 'weak']);
    expect(v.attempts.map((a) => a.outcome)).toEqual(['failure', 'failure', 'failure', 'failure', 'success']);
    // busybox login's own words, each try judged on its reply (no guess from a closed socket).
    expect(v.attempts.slice(0, 4).every((a) => /Login incorrect/.test(a.detail ?? ''))).toBe(true);
  }, 180_000);

  it('finds nothing when every pair is wrong (a strong password)', async () => {
    const list: Credential[] = wrong.map(([username, password], i) => ({ id: `s${i + 1}`, username, password }));
    const v = await probeInNs(list);
    console.log(`[busybox telnet access] strong: ${v.attempts.length} attempts in ${v.elapsedMs} ms (${((v.attempts.length * 1000) / v.elapsedMs).toFixed(2)} attempts/s)`);
    expect(v.verdict, JSON.stringify(v)).toBe('no-weak-credential');
    expect(v.entry).toBeNull();
    expect(v.attempts).toHaveLength(8);
    expect(v.attempts.every((a) => a.outcome === 'failure')).toBe(true);
  }, 180_000);

  it('with 4 sessions, still finds only the weak pair', async () => {
    const list: Credential[] = [...wrong, ...wrong].map(([username, password], i) => ({ id: `p${i + 1}`, username, password }));
    list.splice(12, 0, { id: 'weak', username: 'root', password: 'admin' });
    const v = await probeInNs(list, 4);
    console.log(`[busybox telnet access] 4 sessions, weak at #13 of 17: ${v.attempts.length} attempts in ${v.elapsedMs} ms (${((v.attempts.length * 1000) / v.elapsedMs).toFixed(2)} attempts/s)`);
    expect(v.verdict, JSON.stringify(v)).toBe('weak-credential');
    expect(v.entry).toBe('weak');
    expect(v.attempts.filter((a) => a.outcome === 'success').map((a) => a.entry)).toEqual(['weak']);
    expect(v.attempts.filter((a) => a.outcome !== 'success').every((a) => a.outcome === 'failure')).toBe(true);
  }, 180_000);
});
