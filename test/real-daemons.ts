/**
 * Real reference daemons from Debian packages, started in a fresh network namespace for a test:
 * dropbear, OpenSSH, busybox telnetd, lighttpd, nginx, mosquitto, vsftpd, Apache httpd and
 * mini_httpd (the web server of many embedded devices), each on its own
 * 127.69.0.N address with a private configuration in a temporary folder (nothing under /etc is
 * read or written, except /run/sshd, OpenSSH's privilege-separation folder, created when absent).
 *
 * Each daemon comes back with what it really runs: the product and the upstream version of the
 * installed package (`dpkg-query`), or the daemon's own version output where dpkg is missing, so a
 * test compares identification against the machine and not against numbers written in the test.
 *
 * Network rule: the namespace's only interface is lo and every daemon binds a 127.69.0.N address
 * in it; nothing is reachable from outside the namespace, and the test's clients must run inside it
 * (`ip netns exec`). Every process is started with the caller's environment, so test/processes.ts
 * finds it by its marker; stop() kills them all anyway and deletes the namespace and the folder.
 *
 * Needs Linux, root and `ip`; a daemon whose binary is missing is reported by missingDaemons().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The daemons this module can start. */
export const daemonNames = ['dropbear', 'openssh', 'busybox-telnetd', 'lighttpd', 'nginx', 'mosquitto', 'vsftpd', 'apache2', 'mini-httpd'] as const;
export type DaemonName = (typeof daemonNames)[number];

/** Protocol a daemon speaks (the grab module that should recognise it). */
export type DaemonProtocol = 'ssh' | 'telnet' | 'http' | 'mqtt' | 'ftp';

/** One running daemon and what it really is. */
export interface RealDaemon {
  readonly name: DaemonName;
  readonly ip: string;
  readonly port: number;
  readonly protocol: DaemonProtocol;
  /** Product as a person would name it ("OpenSSH", "BusyBox telnetd"). */
  readonly product: string;
  /** What the identified vendor + product must match (rule sets spell names differently: "Dropbear SSH", "Apache HTTPD"). */
  readonly productPattern: RegExp;
  /** Upstream version of the installed package ("9.2p1" from "1:9.2p1-2+deb12u10"). */
  readonly version: string;
  /**
   * Whether the version can be known from the outside: false when the daemon never shows it
   * before login (busybox telnetd sends option negotiation and a login prompt, no version).
   */
  readonly versionVisible: boolean;
  /** Where `version` came from: "dpkg openssh-server 1:9.2p1-2+deb12u10" or "sshd -V". */
  readonly versionSource: string;
  readonly pid: number;
}

/** A namespace with daemons running in it. */
export interface DaemonLab {
  readonly ns: string;
  readonly dir: string;
  readonly daemons: readonly RealDaemon[];
  /** argv that runs `args` inside the namespace. */
  inNs(args: readonly string[]): string[];
  /** What a daemon wrote on stdout/stderr so far (bounded), for failure messages. */
  log(name: DaemonName): string;
  /** Kill every process of the namespace, delete it and the folder. Safe to call twice. */
  stop(): Promise<void>;
}

interface Recipe {
  readonly binary: string;
  readonly protocol: DaemonProtocol;
  readonly port: number;
  readonly product: string;
  readonly productPattern: RegExp;
  readonly versionVisible: boolean;
  /** Debian packages that may provide it, first installed one wins. */
  readonly packages: readonly string[];
  /** The daemon's own version output, when dpkg cannot tell. */
  readonly versionCommand: readonly string[];
  readonly versionPattern: RegExp;
  /** Write its configuration into `dir`; returns the argv that runs it in the foreground. */
  setup(dir: string, ip: string, port: number): string[];
}

const recipes: Record<DaemonName, Recipe> = {
  dropbear: {
    binary: 'dropbear',
    protocol: 'ssh',
    port: 22,
    product: 'Dropbear SSH',
    productPattern: /dropbear/i,
    versionVisible: true,
    packages: ['dropbear-bin', 'dropbear'],
    versionCommand: ['dropbear', '-V'],
    versionPattern: /Dropbear v(\S+)/,
    setup(dir, ip, port) {
      const key = join(dir, 'dropbear_ed25519_host_key');
      run('dropbearkey', ['-t', 'ed25519', '-f', key]);
      // -F foreground, -E log to stderr.
      return ['dropbear', '-F', '-E', '-p', `${ip}:${port}`, '-r', key];
    },
  },
  openssh: {
    binary: 'sshd',
    protocol: 'ssh',
    port: 22,
    product: 'OpenSSH',
    productPattern: /openssh/i,
    versionVisible: true,
    packages: ['openssh-server'],
    versionCommand: ['sshd', '-V'],
    versionPattern: /OpenSSH_([^\s,]+)/,
    setup(dir, ip, port) {
      const key = join(dir, 'ssh_host_ed25519_key');
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      // Privilege separation needs its empty folder; Debian's init script makes it, we have none.
      mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
      const cfg = join(dir, 'sshd_config');
      writeFileSync(
        cfg,
        [`ListenAddress ${ip}:${port}`, `HostKey ${key}`, `PidFile ${join(dir, 'sshd.pid')}`, 'UsePAM no', 'PasswordAuthentication yes', 'KbdInteractiveAuthentication yes', ''].join('\n'),
      );
      // sshd must be started by its absolute path (it re-executes itself per connection).
      return [which('sshd'), '-D', '-e', '-f', cfg];
    },
  },
  'busybox-telnetd': {
    binary: 'busybox',
    protocol: 'telnet',
    port: 23,
    product: 'BusyBox telnetd',
    productPattern: /busybox|telnetd/i,
    versionVisible: false,
    packages: ['busybox-static', 'busybox'],
    versionCommand: ['busybox'],
    versionPattern: /BusyBox v(\d[^\s(]*)/,
    setup(dir, ip, port) {
      // busybox dispatches on argv[0]: a symlink named login is its login applet (RECIPES.md).
      const login = join(dir, 'login');
      symlinkSync(which('busybox'), login);
      // An empty issue file, as on most devices: the host's /etc/issue.net would say "Debian".
      const issue = join(dir, 'issue.net');
      writeFileSync(issue, '');
      return ['busybox', 'telnetd', '-F', '-b', `${ip}:${port}`, '-l', login, '-f', issue];
    },
  },
  lighttpd: {
    binary: 'lighttpd',
    protocol: 'http',
    port: 80,
    product: 'lighttpd',
    productPattern: /lighttpd/i,
    versionVisible: true,
    packages: ['lighttpd'],
    versionCommand: ['lighttpd', '-v'],
    versionPattern: /lighttpd\/(\S+)/,
    setup(dir, ip, port) {
      const root = webRoot(dir, 'lighttpd');
      const cfg = join(dir, 'lighttpd.conf');
      writeFileSync(
        cfg,
        [
          `server.document-root = "${root}"`,
          `server.bind = "${ip}"`,
          `server.port = ${port}`,
          `server.pid-file = "${join(dir, 'lighttpd.pid')}"`,
          `server.errorlog = "${join(dir, 'lighttpd-error.log')}"`,
          'index-file.names = ( "index.html" )',
          'mimetype.assign = ( ".html" => "text/html" )',
          '',
        ].join('\n'),
      );
      return ['lighttpd', '-D', '-f', cfg];
    },
  },
  nginx: {
    binary: 'nginx',
    protocol: 'http',
    port: 80,
    product: 'nginx',
    productPattern: /nginx/i,
    versionVisible: true,
    packages: ['nginx-light', 'nginx-core', 'nginx-full', 'nginx-extras', 'nginx'],
    versionCommand: ['nginx', '-v'],
    versionPattern: /nginx\/(\S+)/,
    setup(dir, ip, port) {
      const root = webRoot(dir, 'nginx');
      const tmp = join(dir, 'nginx');
      mkdirSync(tmp);
      const cfg = join(dir, 'nginx.conf');
      const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${join(tmp, k)};`);
      writeFileSync(
        cfg,
        [
          `pid ${join(tmp, 'nginx.pid')};`,
          `error_log ${join(tmp, 'error.log')};`,
          'worker_processes 1;',
          'events { worker_connections 64; }',
          'http {',
          '  access_log off;',
          ...temp,
          `  server { listen ${ip}:${port}; root ${root}; }`,
          '}',
          '',
        ].join('\n'),
      );
      return ['nginx', '-c', cfg, '-g', 'daemon off;'];
    },
  },
  mosquitto: {
    binary: 'mosquitto',
    protocol: 'mqtt',
    port: 1883,
    product: 'Mosquitto',
    productPattern: /mosquitto/i,
    versionVisible: true, // in $SYS/broker/version, readable when anonymous access is allowed
    packages: ['mosquitto'],
    versionCommand: ['mosquitto', '-h'],
    versionPattern: /mosquitto version (\S+)/,
    setup(dir, ip, port) {
      const cfg = join(dir, 'mosquitto.conf');
      writeFileSync(cfg, [`listener ${port} ${ip}`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', ''].join('\n'));
      return ['mosquitto', '-c', cfg];
    },
  },
  vsftpd: {
    binary: 'vsftpd',
    protocol: 'ftp',
    port: 21,
    product: 'vsFTPd',
    productPattern: /vsftpd/i,
    versionVisible: true,
    packages: ['vsftpd'],
    versionCommand: ['vsftpd', '-v'],
    versionPattern: /version (\S+)/,
    setup(dir, ip, port) {
      // vsftpd refuses to start with no kind of login enabled: anonymous into an empty root folder.
      const empty = join(dir, 'vsftpd-empty');
      mkdirSync(empty, { mode: 0o755 });
      const cfg = join(dir, 'vsftpd.conf');
      writeFileSync(
        cfg,
        [
          'listen=YES',
          `listen_address=${ip}`,
          `listen_port=${port}`,
          'background=NO',
          'anonymous_enable=YES',
          'no_anon_password=YES',
          // Anonymous sessions run as this user; Debian's package adds "ftp", which a machine may lack.
          'ftp_username=nobody',
          `anon_root=${empty}`,
          'local_enable=NO',
          'write_enable=NO',
          `secure_chroot_dir=${empty}`,
          'run_as_launching_user=YES',
          '',
        ].join('\n'),
      );
      return ['vsftpd', cfg];
    },
  },
  apache2: {
    binary: 'apache2',
    protocol: 'http',
    port: 80,
    product: 'Apache HTTP Server',
    productPattern: /apache/i,
    versionVisible: true, // "Server: Apache/2.4.71 (Debian)": ServerTokens defaults to Full
    packages: ['apache2-bin', 'apache2'],
    versionCommand: ['apache2', '-v'],
    versionPattern: /Apache\/(\S+)/,
    setup(dir, ip, port) {
      const root = webRoot(dir, 'apache2');
      const modules = '/usr/lib/apache2/modules';
      const cfg = join(dir, 'apache2.conf');
      // Only what serving a file needs; Debian's /etc/apache2 (and its envvars) is not read.
      writeFileSync(
        cfg,
        [
          `ServerRoot ${dir}`,
          ...['mpm_event', 'authz_core', 'dir', 'mime'].map((m) => `LoadModule ${m}_module ${modules}/mod_${m}.so`),
          'TypesConfig /etc/mime.types',
          `Listen ${ip}:${port}`,
          'ServerName localhost',
          `PidFile ${join(dir, 'apache2.pid')}`,
          `ErrorLog ${join(dir, 'apache2-error.log')}`,
          `DefaultRuntimeDir ${dir}`,
          `Mutex file:${dir} default`,
          'User nobody',
          'Group nogroup',
          `DocumentRoot ${root}`,
          'DirectoryIndex index.html',
          '',
        ].join('\n'),
      );
      return ['apache2', '-f', cfg, '-DFOREGROUND'];
    },
  },
  'mini-httpd': {
    binary: 'mini_httpd',
    protocol: 'http',
    port: 80,
    product: 'mini_httpd',
    productPattern: /mini_?httpd/i,
    versionVisible: true, // "Server: mini_httpd/1.30 26Oct2018"
    packages: ['mini-httpd'],
    versionCommand: ['mini_httpd', '-V'],
    versionPattern: /mini_httpd\/(\S+)/,
    setup(dir, ip, port) {
      const root = webRoot(dir, 'mini-httpd');
      // -D stays in the foreground.
      return ['mini_httpd', '-D', '-h', ip, '-p', String(port), '-d', root, '-u', 'nobody', '-i', join(dir, 'mini_httpd.pid'), '-l', join(dir, 'mini_httpd.log')];
    },
  },
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

/** A small page to serve: both web servers get the same, so only the server itself differs. */
function webRoot(dir: string, name: string): string {
  const root = join(dir, `www-${name}`);
  mkdirSync(root, { mode: 0o755 });
  writeFileSync(join(root, 'index.html'), '<!doctype html>\n<html><head><title>Welcome</title></head><body><p>It works.</p></body></html>\n');
  return root;
}

/** Debian version → upstream version: no epoch ("1:"), no revision ("-2+deb12u10"), no repack tag. */
export function upstreamVersion(debian: string): string {
  let v = debian.trim().replace(/^\d+:/, '');
  const dash = v.lastIndexOf('-');
  if (dash > 0) v = v.slice(0, dash);
  return v.replace(/[+~](dfsg|ds|repack)[\w.]*$/i, '');
}

/** The version a daemon really runs, and where that was read. */
export function installedVersion(name: DaemonName): { version: string; source: string } | undefined {
  const r = recipes[name];
  for (const pkg of r.packages) {
    const q = spawnSync('dpkg-query', ['-W', '-f=${Status}\t${Version}', pkg], { encoding: 'utf8', timeout: 10_000 });
    const [status, version] = (q.stdout ?? '').split('\t');
    if (q.status === 0 && status?.endsWith(' installed') && version) return { version: upstreamVersion(version), source: `dpkg ${pkg} ${version}` };
  }
  const out = spawnSync(r.versionCommand[0]!, r.versionCommand.slice(1), { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  const m = r.versionPattern.exec(`${out.stdout ?? ''}\n${out.stderr ?? ''}`);
  return m?.[1] ? { version: m[1], source: r.versionCommand.join(' ') } : undefined;
}

/** The daemons of `names` whose binary is not installed. */
export function missingDaemons(names: readonly DaemonName[] = daemonNames): DaemonName[] {
  return names.filter((n) => !onPath(recipes[n].binary) || (n === 'dropbear' && !onPath('dropbearkey')) || (n === 'openssh' && !onPath('ssh-keygen')));
}

/** Why daemons cannot be started here at all, or undefined when they can. */
export function whyNotDaemons(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, daemons binding privileged ports)';
  if (!onPath('ip')) return 'needs iproute2 (`ip`)';
  if (!onPath('ss')) return 'needs `ss` (iproute2) to see the daemons listen';
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

let sequence = 0;

/**
 * Start `names` (default: all) in a fresh namespace, daemon i on 127.69.0.(i+1), and wait until each
 * listens (checked with `ss` inside the namespace, so no traffic). Throws, after cleaning up, when a
 * daemon exits or does not listen within `readyMs`.
 */
export async function startDaemons(opts: { names?: readonly DaemonName[]; readyMs?: number } = {}): Promise<DaemonLab> {
  const names = opts.names ?? daemonNames;
  const why = whyNotDaemons();
  if (why) throw new Error(`cannot start real daemons: ${why}`);
  const missing = missingDaemons(names);
  if (missing.length > 0) throw new Error(`not installed: ${missing.join(', ')} (see .ci/run for the packages)`);

  const ns = `iotclean-daemons-${process.pid}-${++sequence}`;
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-daemons-'));
  // Daemons that drop privileges (nginx's worker runs as nobody) must read their web roots.
  chmodSync(dir, 0o755);
  const children = new Map<DaemonName, ChildProcess>();
  const logs = new Map<DaemonName, string>();
  let nsCreated = false;
  let stopped = false;

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopNow);
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    // A moment to exit cleanly (removing pid files), then whatever is left in our namespace dies.
    const running = () => [...children.values()].some((c) => c.exitCode === null && c.signalCode === null);
    for (let i = 0; i < 20 && running(); i++) await sleep(50);
    stopNow();
    // Until Node has reaped them (no zombies left for the caller to mistake for live daemons).
    for (let i = 0; i < 100 && running(); i++) await sleep(50);
  };
  /** Synchronous part of stop, also run at process exit when a test runner dies first. */
  function stopNow(): void {
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (nsCreated) {
      // Everything in this namespace was started here (daemons and their per-connection children).
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
      for (const pid of pids.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', ns], { timeout: 5000 });
      nsCreated = false;
    }
    rmSync(dir, { recursive: true, force: true });
  }
  process.once('exit', stopNow);

  try {
    run('ip', ['netns', 'add', ns]);
    nsCreated = true;
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const links = run('ip', ['-n', ns, '-o', 'link', 'show']).trim().split('\n');
    if (links.length !== 1) throw new Error(`namespace ${ns} has more than lo: ${links.join(' | ')}`);

    const daemons: RealDaemon[] = [];
    for (const [i, name] of names.entries()) {
      const r = recipes[name];
      const ip = `127.69.0.${i + 1}`;
      const installed = installedVersion(name);
      if (!installed) throw new Error(`cannot tell which version of ${name} is installed`);
      const argv = r.setup(dir, ip, r.port);
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      children.set(name, child);
      logs.set(name, '');
      const keep = (d: Buffer) => logs.set(name, `${logs.get(name) ?? ''}${d.toString()}`.slice(-8192));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
      daemons.push({
        name,
        ip,
        port: r.port,
        protocol: r.protocol,
        product: r.product,
        productPattern: r.productPattern,
        version: installed.version,
        versionVisible: r.versionVisible,
        versionSource: installed.source,
        pid: child.pid ?? -1,
      });
    }

    const deadline = Date.now() + (opts.readyMs ?? 30_000);
    for (;;) {
      const up = listening(ns);
      const waiting = daemons.filter((d) => !up.has(`${d.ip}:${d.port}`));
      if (waiting.length === 0) break;
      const dead = waiting.filter((d) => children.get(d.name)!.exitCode !== null || children.get(d.name)!.signalCode !== null);
      if (dead.length > 0 || Date.now() > deadline) {
        const which = dead.length > 0 ? dead : waiting;
        throw new Error(
          `${which.map((d) => d.name).join(', ')} ${dead.length > 0 ? 'exited' : 'did not listen in time'}: ${which.map((d) => `[${d.name}] ${logs.get(d.name)?.trim() || '(no output)'}`).join(' ')}`,
        );
      }
      await sleep(100);
    }
    return { ns, dir, daemons, inNs: (args) => ['ip', 'netns', 'exec', ns, ...args], log: (n) => logs.get(n) ?? '', stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
