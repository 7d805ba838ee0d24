/**
 * Shards: a 10,000-device lab needs about 25,000 listeners, more than one process may hold here
 * (fd limit 20,000), so devices are split over detached child processes (src/lab/serve.ts), each
 * under a listener budget, that outlive the command that started them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { IotcleanError } from '../core/errors.js';
import type { PortMap } from './port-map.js';
import { lockoutFile } from './lockouts.js';
import { isOurShard, type ShardState } from './state.js';
import type { DeviceProfile, LabCredential, LabDevice } from './types.js';
import { certificatesOf, type LabCertificate } from './tls/certificates.js';

/** Messages between `labUp` and a shard (src/lab/serve.ts). */
export type ShardRequest = {
  readonly type: 'start';
  readonly profiles: readonly DeviceProfile[];
  readonly devices: readonly WireDevice[];
  readonly portMap: PortMap;
  /** Default certificates made once by the parent, so every shard serves the same one per model. */
  readonly certificates?: Readonly<Record<string, LabCertificate>>;
  /** Where the shard keeps its lock-out record (src/lab/lockouts.ts), for tests to read. */
  readonly lockoutFile?: string;
  /** The lab folder and this shard's index, for owners' actions (src/lab/owner-actions.ts). */
  readonly dir?: string;
  readonly index?: number;
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

/** Options of {@link startShards}. */
export interface ShardOptions {
  /** Listeners per shard process (default 8000, below the 20,000 fd limit with room for clients). */
  readonly maxListenersPerShard?: number;
  /** How long a shard may take to report ready (default 120 s). */
  readonly readyTimeoutMs?: number;
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
export function splitShards(devices: readonly LabDevice[], maxListeners: number): LabDevice[][] {
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

/** The start message for a shard serving these devices. */
function shardRequest(devices: readonly LabDevice[], portMap: PortMap, certificates: Readonly<Record<string, LabCertificate>>, lockouts: string, dir: string, index: number): ShardRequest {
  const profiles = new Map(devices.map((d) => [d.profile.id, d.profile]));
  return {
    type: 'start',
    certificates,
    profiles: [...profiles.values()],
    devices: devices.map((d) => ({ id: d.id, ip: d.ip, ispId: d.ispId, profile: d.profile.id, weak: d.weak, credentials: d.credentials })),
    portMap,
    lockoutFile: lockouts,
    dir,
    index,
  };
}

/** The devices a shard was asked to serve, with their profiles put back. */
export function devicesOfRequest(req: ShardRequest): LabDevice[] {
  const profiles = new Map<string, DeviceProfile>(req.profiles.map((p) => [p.id, p]));
  return req.devices.map((d) => {
    const profile = profiles.get(d.profile);
    if (!profile) throw new IotcleanError('E_LAB', `shard got device ${d.id} with unknown profile ${d.profile}`);
    return { id: d.id, ip: d.ip, ispId: d.ispId, profile, weak: d.weak, credentials: d.credentials };
  });
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
 * Start detached shard processes serving these devices, logging to <dir>/shard-N.log, and return
 * them once every one is ready. If one fails, the ones already started are killed.
 */
export async function startShards(
  dir: string,
  devices: readonly LabDevice[],
  portMap: PortMap,
  opts: ShardOptions = {},
): Promise<{ readonly entry: string; readonly shards: readonly ShardState[] }> {
  const command = shardCommand();
  const parts = splitShards(devices, opts.maxListenersPerShard ?? 8000);
  const certificates = await certificatesOf(devices);
  const children: ChildProcess[] = [];
  let shards: ShardState[];
  try {
    shards = await Promise.all(
      parts.map(async (part, i) => {
        const log = join(dir, `shard-${i}.log`);
        const { child, listeners } = await startShard(command.args, log, shardRequest(part, portMap, certificates, lockoutFile(dir, i), dir, i), opts.readyTimeoutMs ?? 120_000);
        children.push(child);
        return {
          pid: child.pid ?? -1,
          devices: part.length,
          listeners,
          firstIp: part[0]?.ip ?? '',
          lastIp: part[part.length - 1]?.ip ?? '',
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
  return { entry: command.entry, shards };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM the shards that are still ours, SIGKILL any left after 10 s; returns the pids signalled. */
export async function stopShards(pids: readonly number[], entry: string): Promise<readonly number[]> {
  const ours = pids.filter((pid) => isOurShard(pid, entry));
  for (const pid of ours) process.kill(pid, 'SIGTERM');
  // A zombie has an empty cmdline, so isOurShard also treats exited-but-unreaped shards as gone.
  const anyLeft = (): boolean => ours.some((pid) => isOurShard(pid, entry));
  for (let i = 0; i < 100 && anyLeft(); i++) await sleep(100);
  for (const pid of ours) if (isOurShard(pid, entry)) process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && anyLeft(); i++) await sleep(100);
  return ours;
}
