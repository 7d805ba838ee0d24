/**
 * The Basic and Digest modules against a real lighttpd (Debian package) with mod_auth +
 * mod_authn_file, in a network namespace this file creates (only lo, 127.73.0.N addresses): an
 * htpasswd file (apache2-utils' htpasswd, APR1-MD5) for Basic and an htdigest file with SHA-256 and
 * MD5 lines for Digest (lighttpd offers the SHA-256 challenge first). For each, a weak pair at #5 of
 * 8 is found and a strong one is not. lighttpd's 1 s delay after a failure is disabled
 * (auth.delay-invalid-creds), as RECIPES.md says. The modules run in a child process inside the
 * namespace (probe-cli.ts); the measured attempts/s are printed, never asserted. Needs root, ip,
 * lighttpd and htpasswd; skips, saying why, otherwise. Every process is stopped in afterAll.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleVerdict } from '../module.js';
import { dictionary } from './test-support.js';

const lighttpd = '/usr/sbin/lighttpd';
const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const skip =
  process.getuid?.() !== 0 ? 'needs root (network namespace)' : !existsSync(lighttpd) ? 'needs lighttpd' : !onPath('htpasswd') ? 'needs htpasswd (apache2-utils)' : !onPath('ip') ? 'needs ip (iproute2)' : undefined;
if (skip) console.warn(`[access lighttpd] skipping: ${skip}`);

const ns = `iotclean-h7-${process.pid}`;
const ip = '127.73.0.5';
const weak = { username: 'admin', password: '1234' };
const strong = { username: 'admin', password: 'k9!Vx2#qLm7z' };
const probe = fileURLToPath(new URL('./probe-cli.ts', import.meta.url));
const children: ChildProcess[] = [];
let dir = '';
let nsMade = false;

function run(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** One lighttpd, `kind` auth for user admin with `password`, on `port`. */
function startLighttpd(kind: 'basic' | 'digest', password: string, port: number): void {
  const tag = `${kind}-${port}`;
  const users = join(dir, `${tag}.users`);
  if (kind === 'basic') run('htpasswd', ['-b', '-c', '-m', users, 'admin', password]);
  else {
    const h = (alg: string): string => createHash(alg).update(`admin:dev:${password}`).digest('hex');
    writeFileSync(users, `admin:dev:${h('sha256')}\nadmin:dev:${h('md5')}\n`);
  }
  const conf = join(dir, `${tag}.conf`);
  writeFileSync(
    conf,
    [
      `server.document-root = "${dir}/www"`,
      `server.bind = "${ip}"`,
      `server.port = ${port}`,
      `server.errorlog = "${dir}/${tag}.err"`,
      'server.modules = ( "mod_auth", "mod_authn_file" )',
      'server.feature-flags = ( "auth.delay-invalid-creds" => "disable" )',
      'index-file.names = ( "index.html" )',
      kind === 'basic' ? 'auth.backend = "htpasswd"' : 'auth.backend = "htdigest"',
      `auth.backend.${kind === 'basic' ? 'htpasswd' : 'htdigest'}.userfile = "${users}"`,
      `auth.require = ( "/" => ( "method" => "${kind}", ${kind === 'digest' ? '"algorithm" => "SHA-256|MD5", ' : ''}"realm" => "dev", "require" => "valid-user" ) )`,
      '',
    ].join('\n'),
  );
  const child = spawn('ip', ['netns', 'exec', ns, lighttpd, '-D', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', () => {});
  children.push(child);
}

interface Probe {
  readonly applies: boolean;
  readonly verdict: ModuleVerdict;
  readonly ms: number;
  readonly connections: number;
}

/** Run a module inside the namespace (waits for the server to listen: a refused grab is retried, bounded). */
async function probeIn(module: string, port: number, list: unknown, sessions = 1): Promise<Probe> {
  for (let i = 0; ; i++) {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', probe, module, ip, String(port), JSON.stringify(list), String(sessions)], { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
    if (out.code !== 0) throw new Error(`probe failed: ${out.stderr}`);
    const p = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as Probe;
    if (p.applies || i >= 20) return p;
    await new Promise((r) => setTimeout(r, 200)); // lighttpd not listening yet
  }
}

describe.skipIf(skip !== undefined)('real lighttpd mod_auth in a network namespace', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'iotclean-access-lighttpd-'));
    mkdirSync(join(dir, 'www'));
    writeFileSync(join(dir, 'www', 'index.html'), '<html><head><title>Admin</title></head><body>status</body></html>');
    run('ip', ['netns', 'add', ns]);
    nsMade = true;
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    startLighttpd('basic', weak.password, 8001);
    startLighttpd('basic', strong.password, 8002);
    startLighttpd('digest', weak.password, 8003);
    startLighttpd('digest', strong.password, 8004);
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    for (let i = 0; i < 40 && children.some((c) => c.exitCode === null && c.signalCode === null); i++) await new Promise((r) => setTimeout(r, 50));
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (nsMade) {
      // Whatever is still in our namespace was started here.
      for (const pid of (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // gone already
        }
      }
      spawnSync('ip', ['netns', 'del', ns]);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['http-basic', 8001, 8002],
    ['http-digest', 8003, 8004],
  ] as const)('%s: finds the weak pair at #5 of 8 and not the strong one', async (module, weakPort, strongPort) => {
    const found = await probeIn(module, weakPort, dictionary(8, 5, weak));
    expect(found.applies).toBe(true);
    expect(found.verdict).toMatchObject({ verdict: 'weak-credential', entry: 'e5' });
    expect(found.verdict.attempts.map((a) => a.outcome)).toEqual(['failure', 'failure', 'failure', 'failure', 'failure', 'success']);
    const notFound = await probeIn(module, strongPort, dictionary(8, 5, weak));
    expect(notFound.verdict).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(notFound.verdict.controlAccepted).toBeUndefined();
  }, 120_000);

  it.each([
    ['http-basic', 8001, 8002],
    ['http-digest', 8003, 8004],
  ] as const)('%s with 4 sessions: finds the weak pair at #30 of 40, every entry before it answered, and not the strong one', async (module, weakPort, strongPort) => {
    const found = await probeIn(module, weakPort, dictionary(40, 30, weak), 4);
    expect(found.verdict).toMatchObject({ verdict: 'weak-credential', entry: 'e30' });
    const failed = new Set(found.verdict.attempts.filter((a) => a.outcome === 'failure').map((a) => a.entry));
    for (let i = 1; i < 30; i++) expect(failed.has(`e${i}`)).toBe(true);
    const notFound = await probeIn(module, strongPort, dictionary(40, 30, weak), 4);
    expect(notFound.verdict).toMatchObject({ verdict: 'no-weak-credential', entry: null });
    expect(notFound.verdict.attempts).toHaveLength(41);
  }, 120_000);

  it.each([
    ['http-basic', 8002, 1],
    ['http-basic', 8002, 4],
    ['http-digest', 8004, 1],
    ['http-digest', 8004, 4],
  ] as const)('%s on port %i: attempts per second over 500 wrong pairs, %i session(s) (printed, not asserted)', async (module, port, sessions) => {
    const p = await probeIn(module, port, dictionary(500, 0, weak), sessions);
    expect(p.verdict.verdict).toBe('no-weak-credential');
    expect(p.verdict.attempts).toHaveLength(501); // the control pair, then 500
    console.log(`[access lighttpd] ${module}, ${sessions} session(s): ${p.verdict.attempts.length} attempts in ${p.ms.toFixed(0)} ms = ${((p.verdict.attempts.length * 1000) / p.ms).toFixed(0)} attempts/s on ${p.connections} connections`);
  }, 120_000);
});
