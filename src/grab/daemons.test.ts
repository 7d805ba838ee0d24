/**
 * The grab modules against real daemons from Debian packages, started by this file on a 127.62
 * loopback address: dropbear and OpenSSH, also one offering only legacy algorithms (ident, host key fingerprint as their own tools print it,
 * auth methods; the logs show only "none" was tried), busybox telnetd with its login, vsftpd and
 * mosquitto. Skips, saying why, without root or without the binaries.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grabTestIp } from '../../test/grab-servers.js';
import { openConnection } from '../scope/connection.js';
import { compileScope, defaultScope } from '../scope/scope.js';
import { grabEndpoint } from './runner.js';

const binaries = ['dropbear', 'dropbearkey', 'sshd', 'ssh-keygen', 'busybox', 'vsftpd', 'mosquitto'];
const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = binaries.filter((b) => !onPath(b) && !onPath(`/usr/sbin/${b}`));
const skip = process.getuid?.() !== 0 ? 'needs root (sshd, vsftpd)' : missing.length > 0 ? `needs ${missing.join(', ')}` : undefined;
if (skip) console.warn(`[grab daemons] skipping the real-daemon tests: ${skip}`);

const scope = compileScope(defaultScope());
const ip = grabTestIp().replace(/^127\.61\./, '127.62.');
const dir = mkdtempSync(join(tmpdir(), 'iotclean-grab-daemons-'));
const children: { name: string; child: ChildProcess; log: string[] }[] = [];

function start(name: string, cmd: string, args: string[]): { log: string[] } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  child.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  children.push({ name, child, log });
  return { log };
}

async function listening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await openConnection(scope, ip, port, { connectTimeoutMs: 1000, firstByteTimeoutMs: 1000, idleTimeoutMs: 1000, deadlineMs: 2000, maxBytes: 1 });
    if (r.status === 'success') {
      r.connection.close();
      return;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`nothing listens on ${ip}:${port}`);
}

/** "SHA256:…" as ssh-keygen prints it for a public key file. */
function fingerprint(pubFile: string): string {
  const out = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }).stdout;
  return /SHA256:\S+/.exec(out)?.[0] ?? `no fingerprint in ${out}`;
}

const logs: Record<string, string[]> = {};
let dropbearVersion = '';

describe.skipIf(skip !== undefined)('grab against real daemons', () => {
  beforeAll(async () => {
    spawnSync('dropbearkey', ['-t', 'ed25519', '-f', join(dir, 'dropbear_key')], { stdio: 'ignore' });
    const pub = spawnSync('dropbearkey', ['-y', '-f', join(dir, 'dropbear_key')], { encoding: 'utf8' }).stdout;
    writeFileSync(join(dir, 'dropbear_key.pub'), `${/^ssh-\S+ \S+/m.exec(pub)?.[0] ?? ''}\n`);
    dropbearVersion = /v(\d{4}\.\d+)/.exec(spawnSync('dropbear', ['-V'], { encoding: 'utf8' }).stderr)?.[1] ?? '?';
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'sshd_key')], { stdio: 'ignore' });
    mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
    writeFileSync(join(dir, 'sshd_config'), `ListenAddress ${ip}:22\nHostKey ${join(dir, 'sshd_key')}\nPidFile ${join(dir, 'sshd.pid')}\nUsePAM no\nPasswordAuthentication yes\nLogLevel VERBOSE\n`);
    // An old device's SSH: only algorithms OpenSSH dropped from its defaults years ago.
    spawnSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(dir, 'legacy_key')], { stdio: 'ignore' });
    writeFileSync(
      join(dir, 'sshd_legacy'),
      `ListenAddress ${ip}:2200\nHostKey ${join(dir, 'legacy_key')}\nPidFile ${join(dir, 'sshd_legacy.pid')}\nUsePAM no\n` +
        'KexAlgorithms diffie-hellman-group1-sha1\nHostKeyAlgorithms ssh-rsa\nCiphers 3des-cbc\nMACs hmac-sha1\n',
    );
    symlinkSync('/usr/bin/busybox', join(dir, 'login'));
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'vsftpd.conf'), `listen=YES\nlisten_address=${ip}\nlisten_port=21\nbackground=NO\nanonymous_enable=NO\nlocal_enable=YES\nsecure_chroot_dir=${join(dir, 'empty')}\n`);
    writeFileSync(join(dir, 'mosquitto.conf'), `listener 1883 ${ip}\nallow_anonymous true\n`);

    logs['dropbear'] = start('dropbear', 'dropbear', ['-F', '-E', '-p', `${ip}:2222`, '-r', join(dir, 'dropbear_key')]).log;
    logs['sshd'] = start('sshd', '/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')]).log;
    start('sshd-legacy', '/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_legacy')]);
    start('telnetd', 'busybox', ['telnetd', '-F', '-b', `${ip}:23`, '-l', join(dir, 'login')]);
    start('vsftpd', '/usr/sbin/vsftpd', [join(dir, 'vsftpd.conf')]);
    start('mosquitto', '/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')]);
    await Promise.all([2222, 22, 2200, 23, 21, 1883].map(listening));
  });

  afterAll(async () => {
    await Promise.all(
      children.map(({ child }) => new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      })),
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it('dropbear: ident, host key as dropbear/ssh-keygen print it, auth methods; only "none" tried', async () => {
    const obs = await grabEndpoint({ scope, ip, port: 2222, service: 'ssh' });
    expect(obs).toHaveLength(1);
    const f = obs[0]!.fields;
    expect(obs[0]).toMatchObject({ module: 'ssh', status: 'success', recognised: true });
    expect(f['software']).toBe(`dropbear_${dropbearVersion}`);
    expect(f['hostKey']).toEqual({ algorithm: 'ssh-ed25519', sha256: fingerprint(join(dir, 'dropbear_key.pub')) });
    expect(f['authMethods']).toEqual(expect.arrayContaining(['publickey', 'password']));
    expect(f['kexAlgorithms']).toContain('curve25519-sha256');
    // dropbear logs the "none" request as a login attempt, and a password try as "Bad password".
    await expect.poll(() => logs['dropbear']!.join(''), { timeout: 5_000 }).toMatch(/Login attempt for nonexistent user/);
    expect(logs['dropbear']!.join('')).not.toMatch(/password/i);
  });

  it('OpenSSH: ident with its comment, host key, auth methods; only "none" tried', async () => {
    const obs = await grabEndpoint({ scope, ip, port: 22, service: 'ssh' });
    const f = obs[0]!.fields;
    expect(obs[0]).toMatchObject({ module: 'ssh', status: 'success', recognised: true });
    expect(f['software']).toMatch(/^OpenSSH_\d+\.\d+p\d+$/);
    expect(f['hostKey']).toEqual({ algorithm: 'ssh-ed25519', sha256: fingerprint(join(dir, 'sshd_key.pub')) });
    expect(f['authMethods']).toEqual(expect.arrayContaining(['publickey', 'password']));
    expect(f['noneAccepted']).toBe(false);
    await expect.poll(() => logs['sshd']!.join(''), { timeout: 5_000 }).toMatch(/Invalid user iotclean-survey/);
    expect(logs['sshd']!.join('')).not.toMatch(/Failed password|Failed keyboard|Accepted/);
  });

  it('OpenSSH offering only legacy algorithms (group1-sha1, ssh-rsa, 3des-cbc): the exchange still completes', async () => {
    const obs = await grabEndpoint({ scope, ip, port: 2200, service: 'ssh' });
    const f = obs[0]!.fields;
    expect(obs[0]).toMatchObject({ module: 'ssh', status: 'success', recognised: true });
    expect(f['kexAlgorithms']).toContain('diffie-hellman-group1-sha1');
    expect(f['ciphers']).toEqual(['3des-cbc']);
    expect(f['hostKey']).toEqual({ algorithm: 'ssh-rsa', sha256: fingerprint(join(dir, 'legacy_key.pub')) });
    expect(f['authMethods']).toEqual(expect.arrayContaining(['publickey', 'password']));
  });

  it('busybox telnetd: banner and login prompt, planned as telnet and found on an unplanned service', async () => {
    for (const service of ['telnet', 'unknown'] as const) {
      const obs = await grabEndpoint({ scope, ip, port: 23, service });
      const last = obs[obs.length - 1]!;
      expect(last).toMatchObject({ module: 'telnet', status: 'success', recognised: true });
      expect(last.fields['loginPrompt']).toBe(true);
      expect(String(last.fields['prompt'])).toMatch(/login:$/);
    }
  });

  it('vsftpd: the 220 greeting', async () => {
    const obs = await grabEndpoint({ scope, ip, port: 21, service: 'ftp' });
    expect(obs[0]).toMatchObject({ module: 'ftp', status: 'success', recognised: true });
    expect(obs[0]!.fields).toMatchObject({ code: 220 });
    expect(String(obs[0]!.fields['banner'])).toMatch(/^220 \(vsFTPd \d+\.\d+\.\d+\)$/);
  });

  it('mosquitto: anonymous access and the broker version from $SYS', async () => {
    const obs = await grabEndpoint({ scope, ip, port: 1883, service: 'mqtt' });
    expect(obs[0]).toMatchObject({ module: 'mqtt', status: 'success', recognised: true });
    expect(obs[0]!.fields).toMatchObject({ returnCode: 0, anonymous: true });
    expect(String(obs[0]!.fields['brokerVersion'])).toMatch(/^mosquitto version \d+\.\d+\.\d+$/);
  });

  it('ssh on the telnet port and telnet on an ssh-planned port are both found', async () => {
    const a = await grabEndpoint({ scope, ip, port: 22, service: 'telnet' });
    expect(a.map((o) => [o.module, o.recognised])).toEqual([['telnet', false], ['ssh', true]]);
    const b = await grabEndpoint({ scope, ip, port: 23, service: 'ssh' });
    expect(b.map((o) => [o.module, o.recognised])).toEqual([['ssh', false], ['telnet', true]]);
  });
});
