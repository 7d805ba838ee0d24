/**
 * Running the lab: build the population, decide the port map, then serve it, either in detached
 * shard processes that outlive the caller (`labUp`, recorded in <dir>/state.json) or inside the
 * calling process (`startLabInProcess`, for tests and small rehearsals).
 *
 * The parts live in their own modules: port-map.ts (which port each service binds), listen.ts (the
 * listening sockets), shards.ts (the processes), state.ts (state.json) and ground-truth.ts (the
 * truth, which detection never reads).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IotcleanError } from '../core/errors.js';
import { formatIspTable } from '../scope/isp.js';
import { writeFileAtomic } from './files.js';
import { writeGroundTruth } from './ground-truth.js';
import { listenDevices } from './listen.js';
import { clearLockouts, type DeviceLockouts } from './lockouts.js';
import { ownerAckFile, ownerActionsFile, readOwnerAck, writeOwnerActions, type OwnerAction } from './owner-actions.js';
import { decidePortMap, labPorts, type PortMap, type PortOptions } from './port-map.js';
import { buildLab, type LabConfig, type LabPlan } from './population.js';
import { startShards, stopShards, type ShardOptions } from './shards.js';
import { adoptCertificates, certificatesOf, type LabCertificate } from './tls/certificates.js';
import { isOurShard, labStatus, readLabState, removeLabState, writeLabState, type LabState } from './state.js';

// The CLI, tests and benchmarks import these from here.
export { labPorts, type PortMap, type PortOptions } from './port-map.js';
export { labStatus, type LabState, type LabStatus, type ShardState } from './state.js';

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
  /** The lock-out devices' lock periods so far (src/lab/lockouts.ts; tests only, never detection). */
  lockouts(): DeviceLockouts[];
  /** Owners' actions on their devices (src/lab/owner-actions.ts); returns how many devices changed. */
  applyOwnerActions(actions: readonly OwnerAction[]): number;
}

/** Options of {@link labUp}. */
export interface LabUpOptions extends LabConfig, PortOptions, ShardOptions {
  /** Folder of the lab's files (default ./.lab). */
  readonly dir?: string;
}

/** The plan's port map, probed on its first address. */
async function portMapOf(plan: LabPlan, opts: PortOptions): Promise<PortMap> {
  const first = plan.devices[0];
  if (!first) throw new IotcleanError('E_LAB', 'the lab has no devices', { hint: 'ask for at least one device' });
  return decidePortMap(first.ip, labPorts(plan.devices), opts);
}

/** Start a lab inside this process (tests, small rehearsals). */
export async function startLabInProcess(opts: InProcessOptions = {}): Promise<LabHandle> {
  const plan = opts.plan ?? buildLab(opts);
  const portMap = opts.portMap ?? (await portMapOf(plan, opts));
  const running = await listenDevices(plan.devices, portMap);
  let generation = 0;
  return { plan, portMap, listeners: running.listeners, close: running.close, lockouts: running.lockouts, applyOwnerActions: (actions) => running.applyOwnerActions(actions, ++generation) };
}

/**
 * Start the lab in detached shard processes that outlive the caller, and write <dir>/state.json,
 * <dir>/isps.csv and the ground truth. Refuses when a lab already runs in that folder.
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
  clearLockouts(dir);
  clearOwnerActions(dir);
  // Default TLS certificates: those of an earlier run in this folder are kept (a model's
  // certificate stays the same across restarts, and start-up skips key generation); the rest are
  // made while the ports are probed. startShards awaits the same cached work.
  const certFile = join(dir, 'certificates.json');
  adoptCertificates(readCertificates(certFile));
  const certs = certificatesOf(plan.devices);
  certs.catch(() => undefined);
  const portMap = await portMapOf(plan, opts);
  const { entry, shards } = await startShards(dir, plan.devices, portMap, opts);
  writeFileAtomic(certFile, `${JSON.stringify(await certs)}\n`);
  const ispTablePath = join(dir, 'isps.csv');
  writeFileAtomic(ispTablePath, formatIspTable(plan.ispRows));
  const groundTruthPath = writeGroundTruth(dir, plan, portMap);
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
    entry,
    startedAt: new Date(started).toISOString(),
    startupMs: Date.now() - started,
  };
  writeLabState(state);
  return state;
}

/** Certificates kept by an earlier `lab up` in this folder; anything unreadable is ignored (made anew). */
function readCertificates(file: string): Record<string, LabCertificate> {
  if (!existsSync(file)) return {};
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Partial<LabCertificate>>;
    const out: Record<string, LabCertificate> = {};
    for (const [k, c] of Object.entries(data)) if (typeof c?.cert === 'string' && typeof c.key === 'string') out[k] = { cert: c.cert, key: c.key };
    return out;
  } catch {
    return {};
  }
}

/** Stop the lab in this folder: SIGTERM its shards, SIGKILL any left after 10 s, remove state.json. */
export async function labDown(dir = '.lab'): Promise<{ readonly stopped: readonly number[] }> {
  const abs = resolve(dir);
  const state = readLabState(abs);
  if (!state) throw new IotcleanError('E_LAB', `no lab state in ${abs}`, { hint: 'nothing to stop; `lab up` starts one' });
  const stopped = await stopShards(state.pids, state.entry);
  removeLabState(abs);
  return { stopped };
}

/** A new lab starts with the profiles' credentials: drop an earlier run's owner actions and acks. */
function clearOwnerActions(dir: string): void {
  rmSync(ownerActionsFile(dir), { force: true });
  for (const name of readdirSync(dir)) if (/^owner-ack-\d+\.json$/.test(name)) rmSync(join(dir, name), { force: true });
}

/**
 * Apply owners' actions to the lab running in `dir`: write them as a new generation, signal every
 * shard, and wait (bounded) until each has acknowledged, so a re-scan right after sees them.
 * Returns how many devices changed.
 */
export async function labApplyOwnerActions(dir: string, actions: readonly OwnerAction[], timeoutMs = 20_000): Promise<number> {
  const abs = resolve(dir);
  const state = readLabState(abs);
  if (!state) throw new IotcleanError('E_LAB', `no lab state in ${abs}`, { hint: 'start one with `iotclean lab up`' });
  const generation = writeOwnerActions(abs, actions);
  const acks = state.shards.map((_s, i) => ownerAckFile(abs, i));
  const deadline = Date.now() + timeoutMs;
  let signalled = 0;
  for (;;) {
    const pending = state.pids.filter((_p, i) => readOwnerAck(acks[i]!) < generation);
    if (pending.length === 0) break;
    if (Date.now() > deadline) throw new IotcleanError('E_LAB', `lab shards ${pending.join(', ')} did not take the owners' actions within ${timeoutMs / 1000} s`, { hint: 'see the shard logs in the lab folder' });
    // Signal again now and then: a shard still starting its SIGHUP handler may miss the first one.
    if (signalled++ % 20 === 0) for (const pid of pending) if (isOurShard(pid, state.entry)) process.kill(pid, 'SIGHUP');
    await new Promise((r) => setTimeout(r, 50));
  }
  return acks.reduce((n, file) => n + (JSON.parse(readFileSync(file, 'utf8')) as { changed: number }).changed, 0);
}
