/**
 * The lab's published state, <dir>/state.json: which shard processes serve it and where its
 * services listen. Other stages read it through `runningLab` and `labPortMap`.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { IotcleanError } from '../core/errors.js';
import { writeFileAtomic } from './files.js';
import type { PortMap } from './port-map.js';

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

const stateFile = 'state.json';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Still our shard? Guards against signalling a recycled pid. Without /proc, trust the pid. */
export function isOurShard(pid: number, entry: string): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(entry);
  } catch {
    return !existsSync('/proc/self');
  }
}

/** The state recorded in `dir`, or undefined when there is none. */
export function readLabState(dir: string): LabState | undefined {
  const file = join(dir, stateFile);
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

/** Record the state of a lab that has just started. */
export function writeLabState(state: LabState): void {
  writeFileAtomic(join(state.dir, stateFile), `${JSON.stringify(state, null, 2)}\n`);
}

/** Forget the state of a lab that has stopped. */
export function removeLabState(dir: string): void {
  rmSync(join(dir, stateFile), { force: true });
}

/** Is a lab running in this folder, and are all its shard processes alive? */
export function labStatus(dir = '.lab'): LabStatus {
  const abs = resolve(dir);
  const state = readLabState(abs);
  if (!state) return { dir: abs, running: false, shards: [], alive: 0 };
  const shards = state.pids.map((pid) => ({ pid, alive: isOurShard(pid, state.entry) }));
  const alive = shards.filter((s) => s.alive).length;
  return { dir: abs, running: alive > 0, state, shards, alive };
}

/** The running lab in `dir`, or a clear error saying how to start one. */
export function runningLab(dir: string): LabState {
  const status = labStatus(dir);
  if (!status.running || !status.state) {
    throw new IotcleanError('E_LAB', `no lab is running in ${status.dir}`, { hint: 'start one with: iotclean lab up' });
  }
  return status.state;
}

/** Device port → port the lab binds it on (only ports that moved). */
export function labPortMap(state: Pick<LabState, 'portMap'>): Map<number, number> {
  return new Map(Object.entries(state.portMap).map(([k, v]) => [Number(k), v] as const).filter(([k, v]) => k !== v));
}
