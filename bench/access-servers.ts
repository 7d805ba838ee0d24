/**
 * Real weak-credential targets from Debian packages, started in a fresh network namespace, for
 * bench/access and test/reference-access.test.ts (test/access-servers.ts re-exports this module;
 * it lives under bench/ so the built benchmark can import it):
 *
 *   telnet       busybox telnetd + busybox login   127.74.0.1:23  (3 s sleep after a wrong password, 3 tries per connection)
 *   ssh          dropbear                          127.74.0.2:22  (5 unauthenticated connections per source)
 *   http-basic   lighttpd mod_auth Basic          127.74.0.3:80  (htpasswd, apr1-MD5)
 *   http-digest  lighttpd mod_auth Digest (MD5)   127.74.0.4:80  (htdigest, RFC 7616)
 *   http-digest-sha256  the same offering SHA-256 first, then MD5   127.74.0.5:80  (hydra's http-get cannot log in there)
 *
 * Each login has one chosen pair. busybox login and dropbear read /etc/passwd and /etc/shadow: the
 * namespace gets private ones in /etc/netns/NS/, which `ip netns exec` bind-mounts over the host's
 * /etc files for the processes it starts (RECIPES.md); the host's files are never touched.
 * lighttpd's fail delay (1 s per invalid login) is off unless `failDelay` is set.
 *
 * Network rule: the namespace's only interface is lo, every server binds a 127.74.0.N address in
 * it and every client must run inside it (`inNs`). Processes inherit the caller's environment, so
 * test/processes.ts finds them by their marker; stop() kills everything in the namespace, deletes
 * it, its /etc/netns folder and the temporary folder.
 *
 * Also: writeCredentialList, the same N-pair list in the file formats hydra, medusa and ncrack read,
 * with the right pair at position K.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IotcleanError } from '../src/core/errors.js';

/** The servers this module starts, in address order (server i on 127.74.0.(i+1)). */
export const accessServerNames = ['telnet', 'ssh', 'http-basic', 'http-digest', 'http-digest-sha256'] as const;
export type AccessServerName = (typeof accessServerNames)[number];

/** A user name and password. */
export interface Pair {
  readonly username: string;
  readonly password: string;
}

/** One running server and the one pair it accepts. */
export interface AccessServer {
  readonly name: AccessServerName;
  readonly ip: string;
  readonly port: number;
  readonly pair: Pair;
  /** What it is, for tables ("busybox telnetd + login", "dropbear", "lighttpd Basic"). */
  readonly product: string;
  /** HTTP servers: the protected path and realm. */
  readonly path?: string;
  readonly realm?: string;
}

/** A namespace with the servers running in it. */
export interface AccessLab {
  readonly ns: string;
  readonly dir: string;
  readonly servers: readonly AccessServer[];
  server(name: AccessServerName): AccessServer;
  /** argv that runs `args` inside the namespace. */
  inNs(args: readonly string[]): string[];
  /** What a server wrote on stdout/stderr so far (bounded), for failure messages. */
  log(name: AccessServerName): string;
  /** Kill every process of the namespace, delete it, /etc/netns/NS and the folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface AccessServerOptions {
  readonly names?: readonly AccessServerName[];
  /** The pair each login accepts (defaults: defaultPairs). */
  readonly pairs?: Partial<Record<AccessServerName, Pair>>;
  /** Keep lighttpd's 1 s delay after an invalid login (default off, as the issue's figures). */
  readonly failDelay?: boolean;
  readonly readyMs?: number;
}

/**
 * Default pairs. telnet is the issue's case (hydra reported root/1234 against root/admin); the
 * logins share the namespace's passwd, so telnet and ssh use different user names.
 */
export const defaultPairs: Readonly<Record<AccessServerName, Pair>> = {
  telnet: { username: 'root', password: 'admin' },
  ssh: { username: 'support', password: 'support123' },
  'http-basic': { username: 'admin', password: 'admin1234' },
  'http-digest': { username: 'admin', password: 'dvr2580' },
  'http-digest-sha256': { username: 'admin', password: 'cam5678' },
};

const ports: Readonly<Record<AccessServerName, number>> = { telnet: 23, ssh: 22, 'http-basic': 80, 'http-digest': 80, 'http-digest-sha256': 80 };
const products: Readonly<Record<AccessServerName, string>> = {
  telnet: 'busybox telnetd + login',
  ssh: 'dropbear',
  'http-basic': 'lighttpd mod_auth Basic',
  'http-digest': 'lighttpd mod_auth Digest MD5',
  'http-digest-sha256': 'lighttpd mod_auth Digest SHA-256|MD5',
};
const binaries: Readonly<Record<AccessServerName, readonly string[]>> = {
  telnet: ['busybox'],
  ssh: ['dropbear', 'dropbearkey'],
  'http-basic': ['lighttpd', 'htpasswd'],
  'http-digest': ['lighttpd'],
  'http-digest-sha256': ['lighttpd'],
};

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

function which(cmd: string): string {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path) throw new Error(`${cmd} is not on PATH`);
  return path;
}

/** Run a short setup command to completion (bounded); throws with its stderr on failure. */
function run(cmd: string, args: readonly string[], timeoutMs = 15_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  return r.stdout;
}

/** Why the servers cannot be started here, or undefined when they can. */
export function whyNotAccessServers(names: readonly AccessServerName[] = accessServerNames): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, /etc/netns, servers binding privileged ports)';
  if (!onPath('ip') || !onPath('ss')) return 'needs iproute2 (`ip`, `ss`)';
  const missing = [...new Set(names.flatMap((n) => binaries[n]))].filter((b) => !onPath(b));
  if (missing.length > 0) return `not installed: ${missing.join(', ')} (packages busybox-static, dropbear-bin, lighttpd, apache2-utils; see .ci/run)`;
  return undefined;
}

/** The reference tools bench/access compares, those not installed. */
export function missingTools(tools: readonly string[] = ['hydra', 'ncrack', 'medusa']): string[] {
  return tools.filter((t) => !onPath(t));
}

/** A pair that can be written in every tool's file format (no separators, no line breaks). */
function checkPair(p: Pair, what: string): void {
  for (const v of [p.username, p.password]) {
    if (v === '' || /[:\r\n\0]/.test(v)) {
      throw new IotcleanError('E_ARGS', `${what}: "${v}" cannot be written in hydra/medusa list files`, { hint: 'use user names and passwords without ":", line breaks or NUL, and not empty' });
    }
  }
}

/** passwd/shadow/group for the namespace: root, nobody, and the telnet and ssh users. */
function writeAccounts(etc: string, home: string, accounts: readonly Pair[]): void {
  const users = new Map<string, string>();
  for (const a of accounts) {
    const prev = users.get(a.username);
    if (prev !== undefined && prev !== a.password) {
      throw new IotcleanError('E_ARGS', `two logins want user "${a.username}" with different passwords`, { hint: 'the telnet and ssh servers share the namespace passwd: give them different user names or the same pair' });
    }
    users.set(a.username, a.password);
  }
  const passwd: string[] = [];
  const shadow: string[] = [];
  const hash = (pw: string) => run('busybox', ['mkpasswd', '-m', 'sha512', pw]).trim();
  // A root entry always exists (daemons and ip netns exec need uid 0 to resolve); locked unless chosen.
  if (!users.has('root')) users.set('root', '');
  let uid = 1000;
  for (const [name, password] of users) {
    const id = name === 'root' ? 0 : uid++;
    const dir = join(home, name);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    passwd.push(`${name}:x:${id}:${id}:${name}:${dir}:/bin/sh`);
    shadow.push(`${name}:${password === '' ? '!' : hash(password)}:19000:0:99999:7:::`);
  }
  passwd.push('nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin');
  shadow.push('nobody:*:19000:0:99999:7:::');
  const group = ['root:x:0:', 'nogroup:x:65534:', ...[...users.keys()].filter((n) => n !== 'root').map((n, i) => `${n}:x:${1000 + i}:`)];
  writeFileSync(join(etc, 'passwd'), `${passwd.join('\n')}\n`, { mode: 0o644 });
  writeFileSync(join(etc, 'shadow'), `${shadow.join('\n')}\n`, { mode: 0o640 });
  writeFileSync(join(etc, 'group'), `${group.join('\n')}\n`, { mode: 0o644 });
}

/** lighttpd config protecting "/" with one auth method; fail delay off unless asked. */
function lighttpdConfig(dir: string, name: string, ip: string, port: number, method: 'basic' | 'digest', userfile: string, realm: string, failDelay: boolean, algorithm?: string): string {
  const root = join(dir, `www-${name}`);
  mkdirSync(root, { mode: 0o755 });
  writeFileSync(join(root, 'index.html'), '<!doctype html>\n<html><head><title>Device</title></head><body><p>Status: OK</p></body></html>\n');
  const backend = method === 'basic' ? 'htpasswd' : 'htdigest';
  const cfg = join(dir, `lighttpd-${name}.conf`);
  writeFileSync(
    cfg,
    [
      'server.modules = ( "mod_auth", "mod_authn_file" )',
      `server.document-root = "${root}"`,
      `server.bind = "${ip}"`,
      `server.port = ${port}`,
      `server.pid-file = "${join(dir, `lighttpd-${name}.pid`)}"`,
      `server.errorlog = "${join(dir, `lighttpd-${name}-error.log`)}"`,
      'index-file.names = ( "index.html" )',
      'mimetype.assign = ( ".html" => "text/html" )',
      // lighttpd sleeps after an invalid login by default; the issue's figures are with it off.
      ...(failDelay ? [] : ['server.feature-flags = ( "auth.delay-invalid-creds" => "disable" )']),
      `auth.backend = "${backend}"`,
      `auth.backend.${backend}.userfile = "${userfile}"`,
      // "SHA-256|MD5": one WWW-Authenticate challenge per algorithm, in this order (RFC 7616 §3.7).
      `auth.require = ( "/" => ( "method" => "${method}", "realm" => "${realm}",${algorithm ? ` "algorithm" => "${algorithm}",` : ''} "require" => "valid-user" ) )`,
      '',
    ].join('\n'),
  );
  return cfg;
}

/** Listening TCP sockets inside the namespace, as "ip:port". */
function listening(ns: string): Set<string> {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ss', '-Hltn'], { encoding: 'utf8', timeout: 10_000 });
  const out = new Set<string>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    if (local) out.add(local);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
let sequence = 0;

/**
 * Start the servers (default: all four) in a fresh namespace and wait until each listens (checked
 * with `ss` inside the namespace, so no traffic). Throws, after cleaning up, when one exits or does
 * not listen within `readyMs`.
 */
export async function startAccessServers(opts: AccessServerOptions = {}): Promise<AccessLab> {
  const names = opts.names ?? accessServerNames;
  const why = whyNotAccessServers(names);
  if (why) throw new Error(`cannot start the access servers: ${why}`);
  const pairs: Record<AccessServerName, Pair> = { ...defaultPairs, ...opts.pairs };
  for (const n of names) checkPair(pairs[n], `${n} pair`);

  // Short: /etc/netns/NS and the namespace name; pid + sequence keep parallel runs apart.
  const ns = `iotc-access-${process.pid}-${++sequence}`;
  const etc = join('/etc/netns', ns);
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-access-'));
  chmodSync(dir, 0o755);
  const children = new Map<AccessServerName, ChildProcess>();
  const logs = new Map<AccessServerName, string>();
  let nsCreated = false;
  let stopped = false;

  const running = () => [...children.values()].some((c) => c.exitCode === null && c.signalCode === null);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopNow);
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    for (let i = 0; i < 20 && running(); i++) await sleep(50);
    stopNow();
    for (let i = 0; i < 100 && running(); i++) await sleep(50);
  };
  /** Synchronous part of stop, also run at process exit when the caller dies first. */
  function stopNow(): void {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (nsCreated) {
      // Everything in this namespace was started here (servers, logins, shells, a tool left over).
      for (let round = 0; round < 5; round++) {
        const pids = (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 }).stdout ?? '').split(/\s+/).filter((p) => /^\d+$/.test(p));
        if (pids.length === 0) break;
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
      nsCreated = false;
    }
    rmSync(etc, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
  process.once('exit', stopNow);

  try {
    if (existsSync(etc)) throw new Error(`${etc} exists already (a namespace of another run?)`);
    mkdirSync(etc, { recursive: true, mode: 0o755 });
    const logins = names.filter((n) => n === 'telnet' || n === 'ssh').map((n) => pairs[n]);
    writeAccounts(etc, join(dir, 'home'), logins);

    run('ip', ['netns', 'add', ns]);
    nsCreated = true;
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const links = run('ip', ['-n', ns, '-o', 'link', 'show']).trim().split('\n');
    if (links.length !== 1) throw new Error(`namespace ${ns} has more than lo: ${links.join(' | ')}`);

    const servers: AccessServer[] = [];
    for (const name of names) {
      const ip = `127.74.0.${accessServerNames.indexOf(name) + 1}`;
      const port = ports[name];
      const pair = pairs[name];
      let argv: string[];
      let http: { path: string; realm: string } | undefined;
      if (name === 'telnet') {
        // busybox dispatches on argv[0]: a symlink named login is its login applet (RECIPES.md).
        const login = join(dir, 'login');
        symlinkSync(which('busybox'), login);
        const issue = join(dir, 'issue.net');
        writeFileSync(issue, '');
        argv = ['busybox', 'telnetd', '-F', '-b', `${ip}:${port}`, '-l', login, '-f', issue];
      } else if (name === 'ssh') {
        const key = join(dir, 'dropbear_ed25519_host_key');
        run('dropbearkey', ['-t', 'ed25519', '-f', key]);
        argv = ['dropbear', '-F', '-E', '-p', `${ip}:${port}`, '-r', key];
      } else if (name === 'http-basic') {
        const realm = 'IP Camera';
        const file = join(dir, 'htpasswd');
        writeFileSync(file, run('htpasswd', ['-n', '-b', '-m', pair.username, pair.password]).trim() + '\n', { mode: 0o644 });
        argv = ['lighttpd', '-D', '-f', lighttpdConfig(dir, name, ip, port, 'basic', file, realm, opts.failDelay === true)];
        http = { path: '/', realm };
      } else {
        const sha = name === 'http-digest-sha256';
        const realm = sha ? 'Camera Web' : 'DVR Web';
        const file = join(dir, `htdigest-${name}`);
        // htdigest's line: user:realm:H(user:realm:password) (what `htdigest` writes, without its tty
        // prompt); lighttpd picks the line whose hash length fits the algorithm, so SHA-256 gets its own.
        const ha1 = (h: string) => createHash(h).update(`${pair.username}:${realm}:${pair.password}`).digest('hex');
        writeFileSync(file, [`${pair.username}:${realm}:${ha1('md5')}`, ...(sha ? [`${pair.username}:${realm}:${ha1('sha256')}`] : []), ''].join('\n'), { mode: 0o644 });
        argv = ['lighttpd', '-D', '-f', lighttpdConfig(dir, name, ip, port, 'digest', file, realm, opts.failDelay === true, sha ? 'SHA-256|MD5' : undefined)];
        http = { path: '/', realm };
      }
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      children.set(name, child);
      logs.set(name, '');
      const keep = (d: Buffer) => logs.set(name, `${logs.get(name) ?? ''}${d.toString()}`.slice(-8192));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
      servers.push({ name, ip, port, pair, product: products[name], ...(http ?? {}) });
    }

    const deadline = Date.now() + (opts.readyMs ?? 30_000);
    for (;;) {
      const up = listening(ns);
      const waiting = servers.filter((s) => !up.has(`${s.ip}:${s.port}`));
      if (waiting.length === 0) break;
      const dead = waiting.filter((s) => children.get(s.name)!.exitCode !== null || children.get(s.name)!.signalCode !== null);
      if (dead.length > 0 || Date.now() > deadline) {
        const list = dead.length > 0 ? dead : waiting;
        throw new Error(`${list.map((s) => s.name).join(', ')} ${dead.length > 0 ? 'exited' : 'did not listen in time'}: ${list.map((s) => `[${s.name}] ${logs.get(s.name)?.trim() || '(no output)'}`).join(' ')}`);
      }
      await sleep(100);
    }
    const server = (n: AccessServerName): AccessServer => {
      const s = servers.find((x) => x.name === n);
      if (!s) throw new Error(`server ${n} was not started (names: ${names.join(', ')})`);
      return s;
    };
    return { ns, dir, servers, server, inNs: (args) => ['ip', 'netns', 'exec', ns, ...args], log: (n) => logs.get(n) ?? '', stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** One credential list in every format the tools read, with the right pair at `position`. */
export interface CredentialList {
  /** The N pairs in order (1-based position K holds the right pair). */
  readonly pairs: readonly Pair[];
  readonly right: Pair;
  readonly position: number;
  /** "user:pass" per line: hydra -C. */
  readonly combo: string;
  /** ":user:pass" per line (host left to -h): medusa -C. */
  readonly medusaCombo: string;
  /** Line i of users pairs with line i of passwords: ncrack -U/-P --pairwise. */
  readonly users: string;
  readonly passwords: string;
  /** An iotclean dictionary (.yaml) of the pairs, entry ids "bench-<i>": for iotclean --dictionary. */
  readonly entries: string;
}

// Decoys as a device list would hold them: common IDs, and passwords from public default lists.
const decoyUsers = ['root', 'admin', 'user', 'support', 'guest', 'default', 'service', 'supervisor', 'ubnt', 'Administrator'];
const decoyPasswords = ['1234', '12345', '123456', 'password', 'pass', 'default', 'root', 'admin', 'vizxv', 'xc3511', '888888', 'juantech', 'system', 'ikwb', 'dreambox', 'user', 'realtek', '00000000', '1111', '54321', 'smcadmin', 'klv123', 'hi3518', 'jvbzd', 'anko', 'zlxx.', '7ujMko0vizxv', 'Zte521', 'meinsm', 'fucker', 'tech', 'changeme', 'guest', 'support', 'qwerty', 'letmein', 'ubnt', 'service', 'supervisor', '666666'];

/**
 * Write an N-pair list with `right` at 1-based `position` into `dir` (files named `<name>.*`).
 * Decoys never equal any pair in `exclude` (every pair any server of the run accepts) nor `right`,
 * and are distinct, so a reported pair other than `right` is a false positive of the tool.
 */
export function writeCredentialList(dir: string, o: { right: Pair; position: number; total: number; exclude?: readonly Pair[]; name?: string }): CredentialList {
  checkPair(o.right, 'right pair');
  if (!Number.isInteger(o.total) || o.total < 1 || o.total > 100_000) throw new IotcleanError('E_ARGS', `list size must be 1..100000, got ${o.total}`, { hint: 'pass --pairs N' });
  if (!Number.isInteger(o.position) || o.position < 1 || o.position > o.total) {
    throw new IotcleanError('E_ARGS', `the right pair's position must be 1..${o.total}, got ${o.position}`, { hint: 'pass --position K with K ≤ --pairs N' });
  }
  const key = (p: Pair) => `${p.username}\0${p.password}`;
  const taken = new Set([key(o.right), ...(o.exclude ?? []).map(key)]);
  // Logins accepting the right pair's password under another name would make a decoy succeed.
  const excludedPasswords = new Set([o.right, ...(o.exclude ?? [])].map((p) => p.password));
  const pairs: Pair[] = [];
  for (let i = 0; pairs.length < o.total - 1; i++) {
    const username = i % 3 === 0 ? o.right.username : decoyUsers[i % decoyUsers.length]!;
    const base = decoyPasswords[i % decoyPasswords.length]!;
    const round = Math.floor(i / decoyPasswords.length);
    const password = round === 0 ? base : `${base}${round}`;
    const p = { username, password };
    if (excludedPasswords.has(password) || taken.has(key(p))) continue;
    taken.add(key(p));
    pairs.push(p);
  }
  pairs.splice(o.position - 1, 0, o.right);
  const name = o.name ?? 'list';
  const file = (ext: string, lines: readonly string[]) => {
    const path = join(dir, `${name}.${ext}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    return path;
  };
  return {
    pairs,
    right: o.right,
    position: o.position,
    combo: file('combo', pairs.map((p) => `${p.username}:${p.password}`)),
    medusaCombo: file('medusa', pairs.map((p) => `:${p.username}:${p.password}`)),
    users: file('users', pairs.map((p) => p.username)),
    passwords: file('passwords', pairs.map((p) => p.password)),
    entries: file('yaml', dictionaryLines(pairs)),
  };
}

/** The pairs as an iotclean dictionary file (JSON strings are YAML double-quoted scalars). */
export function dictionaryLines(pairs: readonly Pair[]): string[] {
  return [
    'version: "bench-1"',
    'name: bench list',
    'sources: { bench: { title: "bench/access-servers.ts decoys", path: bench/access-servers.ts } }',
    'entries:',
    ...pairs.map((p, i) => `  - { id: bench-${i + 1}, username: ${JSON.stringify(p.username)}, password: ${JSON.stringify(p.password)}, sources: [bench] }`),
  ];
}
