/**
 * The ssh access module against the lab's ssh service (every lab profile with SSH: weak pair found
 * late in the list, strong pair not, honeypot, lock-out) and against ssh2 Servers built here for
 * what the lab does not do: partial success (password, then an OTP), publickey only, an OTP-only
 * keyboard-interactive, a password-prompt keyboard-interactive, hostile bytes after the
 * identification line. Every target is 127.72.x.x on loopback.
 */
import { randomInt } from 'node:crypto';
import ssh2 from 'ssh2';
import type { AuthContext, Connection as SshServerConnection } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { conformanceLimits } from '../../../test/grab-conformance.js';
import { serveRaw, type TestServer } from '../../../test/grab-servers.js';
import { createRng } from '../../core/rng.js';
import { grabWith } from '../../grab/runner.js';
import { sshModule } from '../../grab/ssh/index.js';
import { createDeviceState, createServiceContext } from '../../lab/context.js';
import { loadProfiles } from '../../lab/profiles.js';
import { createSshHandler } from '../../lab/services/ssh.js';
import type { DeviceProfile, LabCredential, LabDevice, ServiceContext } from '../../lab/types.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { openConnection, type ConnectionLimits } from '../../scope/connection.js';
import type { AccessContext, AccessTarget, Credential } from '../module.js';
import { isPasswordPrompt } from './client.js';
import { createSshAccess, sshAccess } from './index.js';

const { Server: SshServer, utils: sshUtils } = ssh2;

const scope = compileScope(defaultScope());
const limits: ConnectionLimits = { connectTimeoutMs: 3_000, firstByteTimeoutMs: 3_000, idleTimeoutMs: 1_000, deadlineMs: 20_000, maxBytes: 256 * 1024 };
/** Short back-off so lock-out tests end quickly (the defaults wait seconds). */
const quick = createSshAccess({ backoffMs: [50, 100], replyTimeoutMs: 5_000, maxTriesPerConnection: 10 });
/** Hostile peers: a short reply timeout (the fuzz loop meets many silent ones). */
const impatient = createSshAccess({ backoffMs: [20], replyTimeoutMs: 800, maxTriesPerConnection: 10 });

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const testIp = (): string => `127.72.${randomInt(256)}.${1 + randomInt(254)}`;

function accessContext(ip: string, port: number, pauseMs = 0): AccessContext {
  return { scope, limits, pauseMs, open: () => openConnection(scope, ip, port, limits) };
}

/** Dictionary entries e1..eN. */
function dictionary(pairs: readonly (readonly [string, string])[]): Credential[] {
  return pairs.map(([username, password], i) => ({ id: `e${i + 1}`, username, password }));
}

/** What the grab stage sees at ip:port (the module decides `applies` from it). */
async function observe(ip: string, port: number): Promise<AccessTarget> {
  const obs = await grabWith({ scope, ip, port, limits: conformanceLimits }, sshModule);
  return { ip, port, observations: [obs] };
}

/** Decoys that no lab profile uses, interleaving user names as real lists do. */
const decoys: readonly (readonly [string, string])[] = [
  ['root', 'xc3511'],
  ['admin', 'admin1234'],
  ['root', 'vizxv'],
  ['root', '888888'],
  ['support', 'support123'],
  ['admin', 'smcadmin'],
  ['root', 'jvbzd'],
  ['guest', 'guest12345'],
  ['root', 'anko'],
  ['admin', '7ujMko0admin'],
];

const sshProfiles = loadProfiles().filter((p) => p.services.some((s) => s.protocol === 'ssh'));

interface LabSsh {
  readonly ip: string;
  readonly port: number;
  readonly server: TestServer;
  /** Every (username, password) the device was asked to check. */
  readonly tried: [string, string][];
}

/** One lab device's ssh service, on a fresh 127.72 address. */
async function labSsh(profile: DeviceProfile, credentials: readonly LabCredential[]): Promise<LabSsh> {
  const service = profile.services.find((s) => s.protocol === 'ssh')!;
  const ip = testIp();
  const device: LabDevice = { id: `t-${profile.id}`, ip, ispId: 'isp-t', profile, weak: true, credentials };
  const base = createServiceContext(device, service, createDeviceState());
  const tried: [string, string][] = [];
  const ctx: ServiceContext = {
    ...base,
    checkLogin(u, p) {
      tried.push([u, p]);
      return base.checkLogin(u, p);
    },
  };
  // failDelayMs 20: the lab default is 100 ms; the module does not depend on it.
  const handler = createSshHandler({ failDelayMs: 20 });
  const server = await serveRaw((s) => handler(s, ctx), 0, ip);
  servers.push(server);
  return { ip, port: server.port, server, tried };
}

describe('sshAccess against the lab ssh service', () => {
  it('has lab profiles with SSH to test', () => {
    expect(sshProfiles.length).toBeGreaterThanOrEqual(4);
  });

  for (const profile of sshProfiles.filter((p) => p.behaviour !== 'honeypot')) {
    it(`${profile.id}: the weak pair is found at a late position, every earlier entry tried once`, async () => {
      const weak = profile.weakCredentials[profile.weakCredentials.length - 1] ?? { username: 'root', password: 'root' };
      const lab = await labSsh(profile, [weak]);
      const target = await observe(lab.ip, lab.port);
      expect(sshAccess.applies(target)).toBe(true);
      const list = dictionary([...decoys, [weak.username, weak.password], [weak.username, 'after-the-weak-one']]);
      const v = await sshAccess.run(target, list, accessContext(lab.ip, lab.port));
      expect(v.verdict).toBe('weak-credential');
      expect(v.entry).toBe('e11');
      expect(v.attempts.filter((a) => a.outcome === 'success').map((a) => a.entry)).toEqual(['e11']);
      // Never the entry after the success; each decoy of the found user name at most once answered.
      expect(lab.tried.some(([, p]) => p === 'after-the-weak-one')).toBe(false);
      const failures = v.attempts.filter((a) => a.outcome === 'failure').map((a) => a.entry);
      expect(new Set(failures).size).toBe(failures.length);
      // Several tries per connection: fewer connections than tries (one for the grab).
      expect(lab.server.accepted() - 1).toBeLessThan(lab.tried.length);
    }, 60_000);

    it(`${profile.id}: a strong pair is not found; all entries are tried`, async () => {
      const lab = await labSsh(profile, [{ username: 'admin', password: 'Q7#vL2!pZx9@Tm4' }]);
      const target = await observe(lab.ip, lab.port);
      const list = dictionary(decoys);
      const v = await sshAccess.run(target, list, accessContext(lab.ip, lab.port));
      expect(v.verdict).toBe('no-weak-credential');
      expect(v.entry).toBeNull();
      expect(new Set(v.attempts.filter((a) => a.outcome === 'failure').map((a) => a.entry))).toEqual(new Set(list.map((c) => c.id)));
      // Each pair reached the device, and none more often than it was retried after a cut-off.
      for (const c of list) expect(lab.tried.filter(([u, p]) => u === c.username && p === c.password).length).toBeGreaterThanOrEqual(1);
    }, 60_000);
  }

  it('a honeypot lets the first entry in (the runner then calls it accepts-any)', async () => {
    const profile = sshProfiles.find((p) => p.behaviour === 'honeypot')!;
    const lab = await labSsh(profile, []);
    const target = await observe(lab.ip, lab.port);
    const v = await sshAccess.run(target, dictionary(decoys), accessContext(lab.ip, lab.port));
    expect(v.verdict).toBe('weak-credential');
    expect(v.entry).toBe('e1');
  }, 30_000);

  it('a lock-out device ends locked-out, with no more tries than its limit plus one connection', async () => {
    const base = sshProfiles.find((p) => p.id === 'busybox-nas-dropbear')!;
    const profile: DeviceProfile = { ...base, id: 'ssh-lockout', behaviour: 'lockout', lockoutAfter: 3, lockoutSeconds: 600 };
    const weak = { username: 'root', password: 'late-but-right' };
    const lab = await labSsh(profile, [weak]);
    const target = await observe(lab.ip, lab.port);
    const v = await quick.run(target, dictionary([...decoys, [weak.username, weak.password]]), accessContext(lab.ip, lab.port));
    expect(v.verdict).toBe('locked-out');
    expect(v.entry).toBeNull();
    // Three failures lock it; we stop instead of hammering a locked device.
    expect(lab.tried.length).toBe(3);
    // The third failure is the one the device answers by disconnecting (recorded as no answer).
    expect(v.attempts.filter((a) => a.outcome === 'failure').length).toBe(2);
    expect(v.attempts.length).toBe(3);
  }, 30_000);

  it('keeps a pause between tries when asked to (politeness)', async () => {
    const profile = sshProfiles[0]!;
    const lab = await labSsh(profile, [{ username: 'root', password: 'nope-strong-1' }]);
    const target = await observe(lab.ip, lab.port);
    const v = await sshAccess.run(target, dictionary(decoys.slice(0, 3)), accessContext(lab.ip, lab.port, 30));
    expect(v.verdict).toBe('no-weak-credential');
    // Starts of tries on one host never overlap and are at least the pause apart.
    const starts = v.attempts.map((a) => Date.parse(a.startedAt));
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(25);
  }, 30_000);
});

interface Scripted {
  readonly server: TestServer;
  /** Methods and answers the server saw, in order: "none:root", "password:root:x", "kbd-answer:...". */
  readonly log: string[];
}

/** One host key for the scripted servers (ssh2 now and then generates one it cannot parse back). */
const hostKey = ((): string => {
  for (;;) {
    const k = sshUtils.generateKeyPairSync('ed25519').private;
    if (!(sshUtils.parseKey(k) instanceof Error)) return k;
  }
})();

/** An ssh2 Server whose authentication is decided by `auth`. */
async function scripted(auth: (ctx: AuthContext, log: string[], conn: SshServerConnection) => void): Promise<Scripted> {
  const log: string[] = [];
  const server = new SshServer({ hostKeys: [hostKey], ident: 'OpenSSH_8.9p1' }, (client) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => {
      log.push(`${ctx.method}:${ctx.username}${ctx.method === 'password' ? `:${ctx.password}` : ''}`);
      auth(ctx, log, client);
    });
    client.on('ready', () => log.push('ready'));
    client.on('session', () => log.push('SESSION-OPENED'));
  });
  const raw = await serveRaw((s) => server.injectSocket(s), 0, testIp());
  servers.push(raw);
  return { server: raw, log };
}

describe('sshAccess against scripted ssh2 servers', () => {
  it('partial success (password right, then an OTP) is not weak; the OTP prompt is never answered', async () => {
    const s = await scripted((ctx, log) => {
      if (ctx.method === 'password' && ctx.username === 'root' && ctx.password === 'admin') return ctx.reject(['keyboard-interactive'], true);
      if (ctx.method === 'keyboard-interactive') {
        return ctx.prompt([{ prompt: 'Verification code: ', echo: false }], (answers) => {
          log.push(`kbd-answer:${String(answers)}`);
          ctx.reject(['keyboard-interactive']);
        });
      }
      ctx.reject(['password', 'keyboard-interactive']);
    });
    const target = await observe(s.server.ip, s.server.port);
    expect(sshAccess.applies(target)).toBe(true);
    const list = dictionary([['root', 'root'], ['root', '1234'], ['root', 'admin'], ['root', 'toor'], ['admin', 'admin']]);
    const v = await sshAccess.run(target, list, accessContext(s.server.ip, s.server.port));
    expect(v.verdict).toBe('no-weak-credential');
    expect(v.entry).toBeNull();
    expect(v.reason).toMatch(/partial success/);
    expect(v.attempts.find((a) => a.entry === 'e3')).toMatchObject({ outcome: 'failure', detail: expect.stringMatching(/partial/) });
    expect(v.attempts.some((a) => a.outcome === 'success')).toBe(false);
    expect(s.log.some((l) => l.startsWith('kbd-answer') || l === 'ready' || l === 'SESSION-OPENED')).toBe(false);
    // The other root entry after the partial one is skipped (its password is known); admin is tried.
    expect(s.log).not.toContain('password:root:toor');
    expect(s.log).toContain('password:admin:admin');
  }, 30_000);

  it('a server offering only publickey is unsupported, and no password is sent', async () => {
    const s = await scripted((ctx) => ctx.reject(['publickey']));
    const target = await observe(s.server.ip, s.server.port);
    expect(sshAccess.applies(target)).toBe(false);
    const v = await sshAccess.run(target, dictionary(decoys), accessContext(s.server.ip, s.server.port));
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toMatch(/publickey/);
    expect(v.attempts).toEqual([]);
    expect(s.log.every((l) => l.startsWith('none:'))).toBe(true);
  }, 30_000);

  it('keyboard-interactive asking for an OTP only is unsupported, nothing answered', async () => {
    const s = await scripted((ctx, log) => {
      if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
      ctx.prompt([{ prompt: 'One-time password (OATH) for `root\': ', echo: false }], (answers) => {
        log.push(`kbd-answer:${String(answers)}`);
        ctx.reject(['keyboard-interactive']);
      });
    });
    const target = await observe(s.server.ip, s.server.port);
    const v = await sshAccess.run(target, dictionary(decoys), accessContext(s.server.ip, s.server.port));
    expect(v.verdict).toBe('unsupported');
    expect(v.reason).toMatch(/One-time password/);
    expect(s.log.some((l) => l.startsWith('kbd-answer'))).toBe(false);
  }, 30_000);

  it('keyboard-interactive with a hidden "Password:" prompt is answered; success found, no session opened', async () => {
    const s = await scripted((ctx, log) => {
      if (ctx.method !== 'keyboard-interactive') return ctx.reject(['keyboard-interactive']);
      ctx.prompt([{ prompt: 'Password: ', echo: false }], (answers) => {
        const a = Array.isArray(answers) ? String(answers[0]) : '';
        log.push(`kbd-answer:${a}`);
        if (ctx.username === 'admin' && a === 'admin1234') ctx.accept();
        else ctx.reject(['keyboard-interactive']);
      });
    });
    const target = await observe(s.server.ip, s.server.port);
    expect(sshAccess.applies(target)).toBe(true);
    const v = await sshAccess.run(target, dictionary(decoys), accessContext(s.server.ip, s.server.port));
    expect(v.verdict).toBe('weak-credential');
    expect(v.entry).toBe('e2');
    expect(s.log).toContain('ready');
    expect(s.log).not.toContain('SESSION-OPENED');
  }, 30_000);

  it('a login banner that turns into a lock-out notice after failures gives locked-out', async () => {
    let failures = 0;
    const raw = await serveRaw((sock) => {
      const banner = failures >= 3 ? 'Too many failed logins: account locked for 10 minutes.\r\n' : 'Authorized users only.\r\n';
      const server = new SshServer({ hostKeys: [hostKey], ident: 'dropbear_2019.78', banner }, (c) => {
        c.on('error', () => {});
        c.on('authentication', (ctx) => {
          if (ctx.method === 'password') failures++;
          // Two failures per connection, then a disconnect (a small MaxAuthTries).
          if (ctx.method === 'password' && failures % 2 === 0) return void c.end();
          ctx.reject(['password']);
        });
      });
      server.injectSocket(sock);
    }, 0, testIp());
    servers.push(raw);
    const v = await quick.run({ ip: raw.ip, port: raw.port, observations: [] }, dictionary(decoys), accessContext(raw.ip, raw.port));
    expect(v.verdict).toBe('locked-out');
    expect(v.reason).toMatch(/banner changed.*account locked/);
  }, 30_000);

  it('a server that accepts "none" lets the first entry in without a password', async () => {
    const s = await scripted((ctx) => (ctx.method === 'none' ? ctx.accept() : ctx.reject(['password'])));
    const v = await sshAccess.run({ ip: s.server.ip, port: s.server.port, observations: [] }, dictionary(decoys), accessContext(s.server.ip, s.server.port));
    expect(v.verdict).toBe('weak-credential');
    expect(v.entry).toBe('e1');
    expect(v.attempts).toEqual([expect.objectContaining({ entry: 'e1', outcome: 'success', detail: expect.stringMatching(/none/) })]);
    expect(s.log.some((l) => l.startsWith('password:'))).toBe(false);
  }, 30_000);

  it('an aborted survey tries nothing', async () => {
    const s = await scripted((ctx) => ctx.reject(['password']));
    const ctx = { ...accessContext(s.server.ip, s.server.port), signal: AbortSignal.abort() };
    const v = await sshAccess.run({ ip: s.server.ip, port: s.server.port, observations: [] }, dictionary(decoys), ctx);
    expect(v.verdict).toBe('error');
    expect(v.reason).toBe('aborted');
    expect(s.server.accepted()).toBe(0);
  }, 30_000);

  it('a server that cuts every connection after 2 answered failures still gets every entry tried', async () => {
    let failures = 0;
    const s = await scripted((ctx, _log, conn) => {
      if (ctx.method !== 'password') return ctx.reject(['password']);
      if (ctx.username === 'root' && ctx.password === 'anko') return ctx.accept();
      // Like OpenSSH at MaxAuthTries: the third failure is a disconnect, not an answer.
      if (++failures % 3 === 0) return void conn.end();
      ctx.reject(['password']);
    });
    const target = await observe(s.server.ip, s.server.port);
    const v = await sshAccess.run(target, dictionary(decoys), accessContext(s.server.ip, s.server.port));
    expect(v.verdict).toBe('weak-credential');
    expect(v.entry).toBe('e9');
    // Every root entry before it answered as a failure exactly once.
    const rootBefore = ['e1', 'e3', 'e4', 'e7'];
    for (const id of rootBefore) expect(v.attempts.filter((a) => a.entry === id && a.outcome === 'failure').length).toBe(1);
  }, 30_000);
});

describe('hostile peers and prompt classification (seeded fuzz)', () => {
  it('garbage after an identification line ends in error, never a throw or a hang', async () => {
    const rng = createRng('ssh-access-fuzz');
    for (let i = 0; i < 12; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + rng.int(600) }, () => rng.int(256)));
      const s = await serveRaw((sock) => void sock.write(Buffer.concat([Buffer.from('SSH-2.0-dropbear_2019.78\r\n'), junk])), 0, testIp());
      servers.push(s);
      const v = await impatient.run({ ip: s.ip, port: s.port, observations: [] }, dictionary(decoys.slice(0, 2)), accessContext(s.ip, s.port));
      expect(['error', 'locked-out']).toContain(v.verdict);
      expect(v.entry).toBeNull();
    }
  }, 120_000);

  it('a tarpit (accepts, never speaks) and a server that closes at once end in error, quickly', async () => {
    const tarpit = await serveRaw(() => {}, 0, testIp());
    const closer = await serveRaw((sock) => sock.destroy(), 0, testIp());
    const identOnly = await serveRaw((sock) => void sock.write('SSH-2.0-OpenSSH_7.4\r\n'), 0, testIp());
    servers.push(tarpit, closer, identOnly);
    for (const s of [tarpit, closer, identOnly]) {
      const v = await impatient.run({ ip: s.ip, port: s.port, observations: [] }, dictionary(decoys), accessContext(s.ip, s.port));
      expect(v.verdict).toBe('error');
      expect(v.attempts).toEqual([]);
      // At most one look again after a pause: no hammering of a host that never answers.
      expect(s.accepted()).toBeLessThanOrEqual(2);
    }
  }, 30_000);

  it('isPasswordPrompt: password prompts yes, second factors and echoed prompts no', () => {
    for (const p of ['Password: ', "root@cam's password: ", 'パスワード:', 'Passwd:']) expect(isPasswordPrompt(p, false), p).toBe(true);
    for (const p of ['Verification code: ', 'One-time password: ', 'OTP: ', 'Enter PIN: ', 'New password: ', 'Login: ']) expect(isPasswordPrompt(p, false), p).toBe(false);
    expect(isPasswordPrompt('Password: ', true)).toBe(false);
    const rng = createRng('prompts');
    for (let i = 0; i < 2000; i++) {
      const s = String.fromCharCode(...Array.from({ length: rng.int(300) }, () => rng.int(0x3100)));
      expect(typeof isPasswordPrompt(s, rng.int(2) === 0)).toBe('boolean');
    }
  });
});
