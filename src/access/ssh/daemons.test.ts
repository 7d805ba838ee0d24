/**
 * The ssh access module against REAL dropbear and OpenSSH (Debian packages) in a network namespace
 * this file creates, with a namespace-private /etc/passwd, shadow and shells (files in
 * /etc/netns/NS/ are bind-mounted over /etc/ for `ip netns exec NS` processes; the host's are never
 * touched). A weak pair at position 5 of 8 is found; a strong password is not. The users' login
 * shell is a script that writes a marker file, and OpenSSH logs at DEBUG1: after our logins no
 * shell or command ran and no session channel was asked for. A control run of the real `ssh`
 * client with a command shows both checks do catch one.
 *
 * Network rule: the namespace's only interface is lo; the daemons bind 127.72.0.1 and 127.72.0.2
 * in it, and the module runs inside it (test/ssh-access-probe.ts under `ip netns exec`).
 * Needs Linux, root, iproute2, dropbear-bin and openssh-server; skips with a message otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../../test/helpers.js';
import { missingDaemons, whyNotDaemons } from '../../../test/real-daemons.js';
import type { ModuleVerdict } from '../module.js';

function skipWhy(): string | undefined {
  const why = whyNotDaemons();
  if (why) return why;
  const missing = missingDaemons(['dropbear', 'openssh']);
  if (missing.length > 0) return `not installed: ${missing.join(', ')} (dropbear-bin, openssh-server)`;
  if (spawnSync('sh', ['-c', 'command -v openssl && command -v ssh'], { stdio: 'ignore' }).status !== 0) return 'needs openssl and the ssh client';
  return undefined;
}
const skipReason = skipWhy();
if (skipReason) console.warn(`[ssh-access-daemons] skipping the real dropbear/OpenSSH login tests: ${skipReason}`);

const ns = `iotclean-ssh7-${process.pid}`;
const etc = `/etc/netns/${ns}`;
const dropbearAt = { ip: '127.72.0.1', port: 22 };
const opensshAt = { ip: '127.72.0.2', port: 22 };
const strongPassword = `S${randomBytes(12).toString('base64url')}!9`;

/** 8 entries, the weak one (support/support) 5th; root is locked in the namespace's shadow. */
const weakList = [
  ['root', 'root'],
  ['support', 'admin'],
  ['operator', 'operator'],
  ['support', '1234'],
  ['support', 'support'],
  ['operator', '123456'],
  ['root', 'admin'],
  ['support', 'password'],
].map(([username, password], i) => ({ id: `e${i + 1}`, username: username!, password: password! }));
/** 8 entries for the user with a strong password. */
const strongList = ['operator', 'admin', '1234', '123456', 'password', 'root', '12345678', 'operator1'].map((password, i) => ({ id: `s${i + 1}`, username: 'operator', password }));

let dir = '';
const children: ChildProcess[] = [];
const logs = new Map<string, string>();

function run(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000, killSignal: 'SIGKILL', ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  return r.stdout;
}

function startDaemon(name: string, argv: readonly string[]): void {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  logs.set(name, '');
  const keep = (d: Buffer) => logs.set(name, `${logs.get(name) ?? ''}${d.toString()}`.slice(-200_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
}

async function listening(addresses: readonly string[], ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const out = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
    if (addresses.every((a) => out.includes(a))) return;
    if (Date.now() > end) throw new Error(`daemons did not listen: ${[...logs.entries()].map(([k, v]) => `[${k}] ${v.slice(-2000)}`).join(' ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Run the module inside the namespace; resolves with its verdict. */
function probe(at: { ip: string; port: number }, credentials: readonly { id: string; username: string; password: string }[]): Promise<ModuleVerdict & { elapsedMs: number; applies: boolean; authMethods: string[] | null }> {
  const argv = ['ip', 'netns', 'exec', ns, process.execPath, '--import', 'tsx', join(repoRoot, 'test/ssh-access-probe.ts'), JSON.stringify({ ...at, credentials })];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`probe exited ${code}: ${err.slice(-3000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? ''));
      } catch (e) {
        reject(new Error(`probe printed no verdict: ${out.slice(0, 2000)} ${err.slice(-2000)} (${String(e)})`));
      }
    });
  });
}

const markerFile = () => join(dir, 'marks', 'shell-ran');
/** Lines of OpenSSH's DEBUG1 log that mean a channel, shell or command was asked for. */
const sessionLines = (log: string) => log.split('\n').filter((l) => /server_input_channel_open|session_input_channel_req|Starting session|exec_command|do_exec/.test(l));

describe.skipIf(skipReason !== undefined)('sshAccess against real dropbear and OpenSSH in a namespace', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'iotclean-ssh7-'));
    chmodSync(dir, 0o755);
    run('ip', ['netns', 'add', ns]);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    expect(run('ip', ['-n', ns, '-o', 'link', 'show']).trim().split('\n')).toHaveLength(1);

    // The users' login shell records that it ran (a shell or a command would run it).
    const shell = join(dir, 'marker-shell');
    // Writable by the test users, whose shell writes the marker.
    mkdirSync(join(dir, 'marks'));
    chmodSync(join(dir, 'marks'), 0o1777);
    writeFileSync(shell, `#!/bin/sh\necho "ran: $*" >> ${markerFile()}\n`, { mode: 0o755 });
    const hash = (pw: string) => run('openssl', ['passwd', '-6', '-stdin'], `${pw}\n`).trim();
    mkdirSync(etc, { recursive: true });
    // The host's passwd has no secrets; shadow is written anew (every host account locked, no hash copied).
    const hostUsers = readFileSync('/etc/passwd', 'utf8').trimEnd().split('\n').filter((l) => !/^(support|operator):/.test(l));
    writeFileSync(join(etc, 'passwd'), `${hostUsers.join('\n')}\nsupport:x:1501:1501::${dir}:${shell}\noperator:x:1502:1502::${dir}:${shell}\n`);
    const locked = hostUsers.map((l) => `${l.split(':')[0]}:!:19000::::::`).join('\n');
    writeFileSync(join(etc, 'shadow'), `${locked}\nsupport:${hash('support')}:19000:0:99999:7:::\noperator:${hash(strongPassword)}:19000:0:99999:7:::\n`, { mode: 0o640 });
    writeFileSync(join(etc, 'shells'), `/bin/sh\n/bin/bash\n${shell}\n`);

    const dbKey = join(dir, 'dropbear_ed25519_host_key');
    run('dropbearkey', ['-t', 'ed25519', '-f', dbKey]);
    startDaemon('dropbear', ['dropbear', '-F', '-E', '-p', `${dropbearAt.ip}:${dropbearAt.port}`, '-r', dbKey]);

    const hk = join(dir, 'ssh_host_ed25519_key');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hk]);
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const cfg = join(dir, 'sshd_config');
    writeFileSync(
      cfg,
      [`ListenAddress ${opensshAt.ip}:${opensshAt.port}`, `HostKey ${hk}`, `PidFile ${join(dir, 'sshd.pid')}`, 'UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication yes', 'PermitRootLogin no', 'LogLevel DEBUG1', ''].join('\n'),
    );
    const sshd = spawnSync('sh', ['-c', 'command -v sshd'], { encoding: 'utf8' }).stdout.trim();
    startDaemon('openssh', [sshd, '-D', '-e', '-f', cfg]);
    await listening([`${dropbearAt.ip}:${dropbearAt.port}`, `${opensshAt.ip}:${opensshAt.port}`], 30_000);
  }, 60_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    // Everything in the namespace was started by this file (daemons and their per-connection children).
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5_000 }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns], { timeout: 5_000 });
    rmSync(etc, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const [name, at] of [['dropbear', dropbearAt], ['openssh', opensshAt]] as const) {
    it(`${name}: the weak pair at position 5 of 8 is found, and no shell or command ran`, async () => {
      const v = await probe(at, weakList);
      expect(v.applies).toBe(true);
      expect(v.verdict).toBe('weak-credential');
      expect(v.entry).toBe('e5');
      expect(v.attempts.filter((a) => a.outcome === 'success').map((a) => a.entry)).toEqual(['e5']);
      expect(v.attempts.some((a) => a.entry === 'e8')).toBe(false);
      await new Promise((r) => setTimeout(r, 500)); // the daemon's child logs its exit after we leave
      const log = logs.get(name) ?? '';
      expect(log).toMatch(name === 'dropbear' ? /Password auth succeeded for 'support'/ : /Accepted password for support/);
      expect(existsSync(markerFile()), 'the login shell ran').toBe(false);
      if (name === 'openssh') expect(sessionLines(log)).toEqual([]);
    }, 150_000);

    it(`${name}: a strong password is not found`, async () => {
      const v = await probe(at, strongList);
      expect(v.verdict).toBe('no-weak-credential');
      expect(v.entry).toBeNull();
      expect(new Set(v.attempts.filter((a) => a.outcome === 'failure').map((a) => a.entry))).toEqual(new Set(strongList.map((c) => c.id)));
      expect(logs.get(name) ?? '').not.toMatch(/Accepted password for operator|Password auth succeeded for 'operator'/);
    }, 150_000);
  }

  it('dropbear: attempts per second over 30 wrong passwords (one connection at a time)', async () => {
    const list = Array.from({ length: 30 }, (_, i) => ({ id: `r${i + 1}`, username: 'operator', password: `wrong-${i}` }));
    const v = await probe(dropbearAt, list);
    expect(v.verdict).toBe('no-weak-credential');
    const tries = v.attempts.length;
    console.info(`[ssh-access-daemons] dropbear: ${tries} attempts (${v.attempts.filter((a) => a.outcome === 'failure').length} answered) in ${v.elapsedMs} ms = ${((tries * 1000) / v.elapsedMs).toFixed(2)} attempts/s`);
    expect(tries).toBeGreaterThanOrEqual(30);
  }, 150_000);

  it('control: a real ssh client running a command IS seen by both checks', async () => {
    const askpass = join(dir, 'askpass');
    writeFileSync(askpass, '#!/bin/sh\necho support\n', { mode: 0o755 });
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, 'ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'PreferredAuthentications=password', '-o', 'NumberOfPasswordPrompts=1', '-o', 'ConnectTimeout=10', `support@${opensshAt.ip}`, 'true'],
      { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL', env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(r.status, r.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(markerFile())).toBe(true);
    expect(sessionLines(logs.get('openssh') ?? '').length).toBeGreaterThan(0);
  }, 60_000);
});
