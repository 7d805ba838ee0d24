/**
 * Running the lab: one listening socket per device service, bound to (device ip, port) on loopback,
 * each accepted socket handed to the handler of the service's protocol.
 *
 * Port map: a device's real port (23, 80, ...) is used when it can be bound. When it cannot (EACCES
 * without root, EADDRINUSE when something on this machine holds it on 0.0.0.0), that port number is
 * moved for the whole lab to a free high port, so one small map (device port → bound port) says
 * where every service listens and can be published with the lab.
 *
 * Scale: a 10,000-device lab needs about 25,000 listeners, more than one process may hold here
 * (fd limit 20,000), so `labUp` shards devices over detached child processes (src/lab/serve.ts),
 * each under `maxListenersPerShard`, and records them in <dir>/state.json. `startLabInProcess`
 * runs a small lab inside the calling process, for tests.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IotcleanError } from '../core/errors.js';
import { parseIpv4 } from '../core/ip.js';
import { createDeviceState, createServiceContext } from './context.js';
import { buildLab, type LabConfig, type LabIsp, type LabPlan } from './population.js';
import { handlers } from './services/index.js';
import type { DeviceProfile, LabAuth, LabCredential, LabDevice, LabProtocol } from './types.js';
import { formatIspTable } from '../scope/isp.js';

/** Device port → port it is bound on, for the whole lab. Keys are port numbers as text (JSON). */
export type PortMap = Readonly<Record<string, number>>;

/** How ports are chosen. */
export interface PortOptions {
  /** First high port used for a port that cannot be bound (default 40000). */
  readonly portBase?: number;
  /** Ports to move to high ports even when they could be bound (tests, rehearsals). */
  readonly remap?: readonly number[];
}

/** Options of {@link startLabInProcess}. */
export interface InProcessOptions extends LabConfig, PortOptions {
  /** A plan built beforehand (otherwise built from the config fields). */
  readonly plan?: LabPlan;
  /** Use this map as is instead of probing. */
  readonly portMap?: PortMap;
}

/** A lab running in this process. */
export interface LabHandle {
  readonly plan: LabPlan;
  readonly portMap: PortMap;
  readonly listeners: number;
  /** Stop listening and drop every open connection. */
  close(): Promise<void>;
}

/** Options of {@link labUp}. */
export interface LabUpOptions extends LabConfig, PortOptions {
  /** Folder of the lab's files (default ./.lab). */
  readonly dir?: string;
  /** Listeners per shard process (default 8000, below the 20,000 fd limit with room for clients). */
  readonly maxListenersPerShard?: number;
  /** How long a shard may take to report ready (default 120 s). */
  readonly readyTimeoutMs?: number;
}

/** One shard process of a running lab. */
export interface ShardState {
  readonly pid: number;
  readonly devices: number;
  readonly listeners: number;
  readonly firstIp: string;
  readonly lastIp: string;
  readonly log: string;
}

/** Contents of <dir>/state.json. */
export interface LabState {
  readonly version: 1;
  readonly dir: string;
  readonly seed: string;
  readonly network: string;
  readonly devices: number;
  readonly listeners: number;
  readonly pids: readonly number[];
  readonly shards: readonly ShardState[];
  readonly portMap: PortMap;
  readonly ispTablePath: string;
  readonly groundTruthPath: string;
  /** Script the shards run; used to check a pid is still ours before signalling it. */
  readonly entry: string;
  readonly startedAt: string;
  readonly startupMs: number;
}

/** What {@link labStatus} reports. */
export interface LabStatus {
  readonly dir: string;
  readonly running: boolean;
  readonly state?: LabState;
  readonly shards: readonly { readonly pid: number; readonly alive: boolean }[];
  readonly alive: number;
}

/** One service of a device in the ground truth. */
export interface GroundTruthService {
  readonly port: number;
  readonly boundPort: number;
  readonly protocol: LabProtocol;
  readonly auth: LabAuth;
}

/** One device in the ground truth. */
export interface GroundTruthDevice {
  readonly id: string;
  readonly ip: string;
  readonly ispId: string;
  readonly profile: string;
  readonly type: DeviceProfile['type'];
  readonly vendor: string;
  readonly model: string;
  readonly behaviour: NonNullable<DeviceProfile['behaviour']>;
  readonly weak: boolean;
  readonly credentials: readonly LabCredential[];
  readonly services: readonly GroundTruthService[];
}

/** Contents of <dir>/ground-truth.json: read by tests and benchmarks only, never by detection. */
export interface GroundTruth {
  readonly version: 1;
  readonly seed: string;
  readonly network: string;
  readonly weakShare: number;
  readonly portMap: PortMap;
  readonly isps: readonly LabIsp[];
  readonly devices: readonly GroundTruthDevice[];
}

/** Messages between `labUp` and a shard (src/lab/serve.ts). */
export type ShardRequest = {
  readonly type: 'start';
  readonly profiles: readonly DeviceProfile[];
  readonly devices: readonly WireDevice[];
  readonly portMap: PortMap;
};
export type ShardReply =
  | { readonly type: 'ready'; readonly listeners: number }
  | { readonly type: 'error'; readonly message: string };

/** A device as sent to a shard: the profile by id, to keep the message small. */
export interface WireDevice {
  readonly id: string;
  readonly ip: string;
  readonly ispId: string;
  readonly profile: string;
  readonly weak: boolean;
  readonly credentials: readonly LabCredential[];
}

const defaultPortBase = 40_000;
const listenBacklog = 1024;
/** Connections one device service holds at once; more are dropped, as a small device would. */
const maxConnectionsPerListener = 512;
/** Concurrent listen() calls while starting. */
const listenConcurrency = 512;

/** Distinct device ports of a plan, ascending. */
export function labPorts(devices: readonly LabDevice[]): number[] {
  const set = new Set<number>();
  for (const d of devices) for (const s of d.profile.services) set.add(s.port);
  return [...set].sort((a, b) => a - b);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ host, port, backlog: listenBacklog }, () => {
      server.off('error', onError);
      resolvePromise();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((r) => server.close(() => r()));
}

/** Try binding (host, port) once; returns the error code, or undefined when it is free. */
async function probe(host: string, port: number): Promise<string | undefined> {
  const server = createServer();
  try {
    await listen(server, host, port);
    await closeServer(server);
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
  }
}

function checkLoopback(ip: string): void {
  const n = parseIpv4(ip);
  if (n === undefined || n >>> 24 !== 127) {
    throw new IotcleanError('E_LAB', `refusing to bind ${ip}: the lab binds loopback (127.0.0.0/8) only`);
  }
}

/**
 * Decide the lab's port map by probing one bind per distinct port on the first lab address. A
 * port that cannot be bound (EACCES, EADDRINUSE) or is listed in `remap` moves to the first free
 * port from `portBase` on.
 */
export async function decidePortMap(probeIp: string, ports: readonly number[], opts: PortOptions = {}): Promise<PortMap> {
  checkLoopback(probeIp);
  const base = opts.portBase ?? defaultPortBase;
  const remap = new Set(opts.remap ?? []);
  const map: Record<string, number> = {};
  const taken = new Set<number>(ports);
  let next = base;
  for (const port of ports) {
    if (!remap.has(port)) {
      const code = await probe(probeIp, port);
      if (code === undefined) {
        map[String(port)] = port;
        continue;
      }
      if (code !== 'EACCES' && code !== 'EADDRINUSE') {
        throw new IotcleanError('E_LAB', `cannot bind ${probeIp}:${port} (${code})`, { hint: 'check that loopback is up' });
      }
    }
    let chosen: number | undefined;
    // Bounded search for a free high port that no other lab port uses.
    for (let attempt = 0; attempt < 1000 && chosen === undefined; attempt++, next++) {
      if (next > 65535) break;
      if (taken.has(next)) continue;
      if ((await probe(probeIp, next)) === undefined) chosen = next;
    }
    if (chosen === undefined) {
      throw new IotcleanError('E_LAB', `no free high port for device port ${port}`, { hint: `try another --port-base than ${base}` });
    }
    taken.add(chosen);
    map[String(port)] = chosen;
    next = chosen + 1;
  }
  return map;
}

/** Run `work` over items with at most `limit` promises in flight. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let i = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (i < items.length) {
      const item = items[i++] as T;
      await work(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Bind every service of these devices and route connections to the protocol handlers. On any
 * failure everything already bound is closed and an E_LAB error names the address.
 */
export async function listenDevices(
  devices: readonly LabDevice[],
  portMap: PortMap,
): Promise<{ readonly listeners: number; close(): Promise<void> }> {
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const jobs: { device: LabDevice; index: number; state: ReturnType<typeof createDeviceState> }[] = [];
  for (const device of devices) {
    checkLoopback(device.ip);
    const state = createDeviceState();
    device.profile.services.forEach((_s, index) => jobs.push({ device, index, state }));
  }
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map(closeServer));
  };
  try {
    await pool(jobs, listenConcurrency, async ({ device, index, state }) => {
      const service = device.profile.services[index];
      if (!service) return;
      const bound = portMap[String(service.port)];
      if (bound === undefined) throw new IotcleanError('E_LAB', `port map has no entry for port ${service.port}`);
      const ctx = createServiceContext(device, service, state);
      const handler = handlers[service.protocol];
      const server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // A reset from the client is normal on a scanned device; never let it reach the process.
        socket.on('error', () => socket.destroy());
        try {
          handler(socket, ctx);
        } catch {
          socket.destroy();
        }
      });
      server.maxConnections = maxConnectionsPerListener;
      server.on('error', () => undefined);
      try {
        await listen(server, device.ip, bound);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'error';
        throw new IotcleanError('E_LAB', `cannot bind ${device.ip}:${bound} for ${device.id} (${code})`, {
          hint: code === 'EADDRINUSE' ? 'another lab or program holds this address; run `lab down` or pick another --network' : undefined,
        });
      }
      servers.push(server);
    });
  } catch (e) {
    await close();
    throw e;
  }
  return { listeners: servers.length, close };
}

/** Start a lab inside this process (tests, small rehearsals). */
export async function startLabInProcess(opts: InProcessOptions = {}): Promise<LabHandle> {
  const plan = opts.plan ?? buildLab(opts);
  const first = plan.devices[0];
  if (!first) throw new IotcleanError('E_LAB', 'the lab has no devices');
  const portMap = opts.portMap ?? (await decidePortMap(first.ip, labPorts(plan.devices), opts));
  const running = await listenDevices(plan.devices, portMap);
  return { plan, portMap, listeners: running.listeners, close: running.close };
}

/** The ground truth of a plan under a port map. */
export function groundTruth(plan: LabPlan, portMap: PortMap): GroundTruth {
  return {
    version: 1,
    seed: plan.seed,
    network: plan.network,
    weakShare: plan.weakShare,
    portMap,
    isps: plan.isps,
    devices: plan.devices.map((d) => ({
      id: d.id,
      ip: d.ip,
      ispId: d.ispId,
      profile: d.profile.id,
      type: d.profile.type,
      vendor: d.profile.vendor,
      model: d.profile.model,
      behaviour: d.profile.behaviour ?? 'normal',
      weak: d.weak,
      credentials: d.credentials,
      services: d.profile.services.map((s) => ({
        port: s.port,
        boundPort: portMap[String(s.port)] ?? s.port,
        protocol: s.protocol,
        auth: s.auth,
      })),
    })),
  };
}

function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Still our shard? Guards against signalling a recycled pid. Without /proc, trust the pid. */
function isOurShard(pid: number, entry: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(entry);
  } catch {
    return !existsSync('/proc/self');
  }
}

function readState(dir: string): LabState | undefined {
  const file = join(dir, 'state.json');
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LabState;
  } catch (e) {
    throw new IotcleanError('E_LAB', `lab state is not readable (${(e as Error).message})`, {
      file,
      hint: 'stop any lab processes by hand and delete the file',
    });
  }
}

/** The shard entry script and the node arguments that run it (source under tsx, or dist). */
function shardCommand(): { readonly entry: string; readonly args: readonly string[] } {
  const self = import.meta.url;
  if (self.endsWith('.ts')) {
    const entry = fileURLToPath(new URL('./serve.ts', self));
    const tsx = pathToFileURL(createRequire(self).resolve('tsx')).href;
    return { entry, args: ['--import', tsx, entry] };
  }
  const entry = fileURLToPath(new URL('./serve.js', self));
  return { entry, args: [entry] };
}

/** Split devices into the fewest shards under `maxListeners`, balanced by listener count. */
function splitShards(devices: readonly LabDevice[], maxListeners: number): LabDevice[][] {
  const total = devices.reduce((n, d) => n + d.profile.services.length, 0);
  const count = Math.max(1, Math.ceil(total / maxListeners));
  const shards: LabDevice[][] = [];
  let current: LabDevice[] = [];
  let listeners = 0;
  let seen = 0;
  for (const d of devices) {
    const n = d.profile.services.length;
    if (current.length > 0 && listeners + n > maxListeners) {
      shards.push(current);
      current = [];
      listeners = 0;
    }
    current.push(d);
    listeners += n;
    seen += n;
    // Cut at the even split points, so shards come out about the same size.
    if (shards.length < count - 1 && seen >= ((shards.length + 1) * total) / count) {
      shards.push(current);
      current = [];
      listeners = 0;
    }
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

function startShard(
  args: readonly string[],
  log: string,
  request: ShardRequest,
  timeoutMs: number,
): Promise<{ child: ChildProcess; listeners: number }> {
  const out = openSync(log, 'a');
  const child = spawn(process.execPath, [...args], { detached: true, stdio: ['ignore', out, out, 'ipc'] });
  closeSync(out);
  return new Promise((resolvePromise, reject) => {
    const fail = (message: string): void => {
      clearTimeout(timer);
      if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
      reject(new IotcleanError('E_LAB', `lab shard failed: ${message}`, { file: log }));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    child.on('message', (msg: ShardReply) => {
      if (msg.type === 'error') return fail(msg.message);
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('message');
      resolvePromise({ child, listeners: msg.listeners });
    });
    child.send(request);
  });
}

/**
 * Start the lab in detached shard processes that outlive the caller, and write <dir>/state.json,
 * <dir>/isps.csv and <dir>/ground-truth.json. Refuses when a lab already runs in that folder.
 */
export async function labUp(opts: LabUpOptions = {}): Promise<LabState> {
  const started = Date.now();
  const dir = resolve(opts.dir ?? '.lab');
  mkdirSync(dir, { recursive: true });
  const previous = labStatus(dir);
  if (previous.running) {
    throw new IotcleanError('E_LAB', `a lab is already running in ${dir} (pids ${previous.shards.filter((s) => s.alive).map((s) => s.pid).join(', ')})`, {
      hint: 'run `iotclean lab down` first, or use another --dir',
    });
  }
  const plan = buildLab(opts);
  const first = plan.devices[0];
  if (!first) throw new IotcleanError('E_LAB', 'the lab has no devices');
  const portMap = await decidePortMap(first.ip, labPorts(plan.devices), opts);
  const command = shardCommand();
  const profiles = [...new Map(plan.devices.map((d) => [d.profile.id, d.profile])).values()];
  const parts = splitShards(plan.devices, opts.maxListenersPerShard ?? 8000);
  const children: ChildProcess[] = [];
  let shards: ShardState[];
  try {
    shards = await Promise.all(
      parts.map(async (devices, i) => {
        const log = join(dir, `shard-${i}.log`);
        const request: ShardRequest = {
          type: 'start',
          profiles: profiles.filter((p) => devices.some((d) => d.profile.id === p.id)),
          devices: devices.map((d) => ({ id: d.id, ip: d.ip, ispId: d.ispId, profile: d.profile.id, weak: d.weak, credentials: d.credentials })),
          portMap,
        };
        const { child, listeners } = await startShard(command.args, log, request, opts.readyTimeoutMs ?? 120_000);
        children.push(child);
        return {
          pid: child.pid ?? -1,
          devices: devices.length,
          listeners,
          firstIp: devices[0]?.ip ?? '',
          lastIp: devices[devices.length - 1]?.ip ?? '',
          log,
        };
      }),
    );
  } catch (e) {
    // One shard failed: stop the ones that started, so nothing is left half up.
    for (const child of children) child.kill('SIGKILL');
    throw e;
  }
  // Let the caller exit while the shards go on.
  for (const child of children) {
    child.disconnect();
    child.unref();
  }
  const ispTablePath = join(dir, 'isps.csv');
  const groundTruthPath = join(dir, 'ground-truth.json');
  writeAtomic(ispTablePath, formatIspTable(plan.ispRows));
  writeAtomic(groundTruthPath, `${JSON.stringify(groundTruth(plan, portMap), null, 1)}\n`);
  const state: LabState = {
    version: 1,
    dir,
    seed: plan.seed,
    network: plan.network,
    devices: plan.devices.length,
    listeners: shards.reduce((s, x) => s + x.listeners, 0),
    pids: shards.map((s) => s.pid),
    shards,
    portMap,
    ispTablePath,
    groundTruthPath,
    entry: command.entry,
    startedAt: new Date(started).toISOString(),
    startupMs: Date.now() - started,
  };
  writeAtomic(join(dir, 'state.json'), `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/** Is a lab running in this folder, and are all its shard processes alive? */
export function labStatus(dir = '.lab'): LabStatus {
  const abs = resolve(dir);
  const state = readState(abs);
  if (!state) return { dir: abs, running: false, shards: [], alive: 0 };
  const shards = state.pids.map((pid) => ({ pid, alive: isOurShard(pid, state.entry) }));
  const alive = shards.filter((s) => s.alive).length;
  return { dir: abs, running: alive > 0, state, shards, alive };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stop the lab in this folder: SIGTERM its shards, SIGKILL any left after 10 s, remove state.json. */
export async function labDown(dir = '.lab'): Promise<{ readonly stopped: readonly number[] }> {
  const abs = resolve(dir);
  const state = readState(abs);
  if (!state) throw new IotcleanError('E_LAB', `no lab state in ${abs}`, { hint: 'nothing to stop; `lab up` starts one' });
  const ours = state.pids.filter((pid) => isOurShard(pid, state.entry));
  for (const pid of ours) process.kill(pid, 'SIGTERM');
  // A zombie has an empty cmdline, so isOurShard also treats exited-but-unreaped shards as gone.
  const anyLeft = (): boolean => ours.some((pid) => isOurShard(pid, state.entry));
  for (let i = 0; i < 100 && anyLeft(); i++) await sleep(100);
  for (const pid of ours) if (isOurShard(pid, state.entry)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && anyLeft(); i++) await sleep(100);
  rmSync(join(abs, 'state.json'), { force: true });
  return { stopped: ours };
}
