/**
 * The lab's ground truth: what every device really is, where it listens and which credentials it
 * accepts. This module is the only code that writes or reads <dir>/ground-truth.json. Detection code
 * never imports it (src/lab/ground-truth.test.ts checks that): only the lab, tests and benchmarks
 * compare results against the truth.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IotcleanError } from '../core/errors.js';
import { writeFileAtomic } from './files.js';
import type { LabIsp, LabPlan } from './population.js';
import type { PortMap } from './port-map.js';
import type { DeviceProfile, LabAuth, LabCredential, LabIdentity, LabProtocol, LabSoftware, LabVulnStatus } from './types.js';

/** Name of the ground-truth file inside a lab folder. */
export const groundTruthFile = 'ground-truth.json';

/** One service of a device in the ground truth. */
export interface GroundTruthService {
  readonly port: number;
  readonly boundPort: number;
  readonly protocol: LabProtocol;
  readonly auth: LabAuth;
  /**
   * The software behind the port when the profile says, else null; products are named as Recog's
   * service.product names them ("Dropbear SSH" 2019.78, "OpenSSH" 7.4, "lighttpd", "mosquitto").
   */
  readonly software?: LabSoftware | null;
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
  /**
   * What identification can know: 'known' devices must get this type and vendor; 'ambiguous' ones
   * show some software but not their maker (no vendor may be claimed at high confidence);
   * 'unknown' ones must stay unknown.
   */
  readonly identity?: LabIdentity;
  readonly weak: boolean;
  readonly credentials: readonly LabCredential[];
  readonly services: readonly GroundTruthService[];
  /** The firmware it really runs (the profile's). */
  readonly firmware?: string;
  /** Expected status of each CVE that concerns its model (empty when none does). */
  readonly vulnerabilities?: Readonly<Record<string, LabVulnStatus>>;
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
      identity: d.profile.identity ?? 'known',
      weak: d.weak,
      credentials: d.credentials,
      services: d.profile.services.map((s) => ({
        port: s.port,
        boundPort: portMap[String(s.port)] ?? s.port,
        protocol: s.protocol,
        auth: s.auth,
        software: s.software ?? null,
      })),
      firmware: d.profile.firmware,
      vulnerabilities: d.profile.vulnerabilities ?? {},
    })),
  };
}

/** Write the ground truth of a plan into the lab folder; returns the file's path. */
export function writeGroundTruth(dir: string, plan: LabPlan, portMap: PortMap): string {
  const file = join(dir, groundTruthFile);
  writeFileAtomic(file, `${JSON.stringify(groundTruth(plan, portMap), null, 1)}\n`);
  return file;
}

/** Read the ground truth of the lab in `dir` (tests and benchmarks only). */
export function readGroundTruth(dir: string): GroundTruth {
  const file = join(dir, groundTruthFile);
  if (!existsSync(file)) {
    throw new IotcleanError('E_LAB', `no ground truth in ${dir}`, { file, hint: 'start the lab with `iotclean lab up --dir` that folder' });
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new IotcleanError('E_LAB', `ground truth is not readable (${(e as Error).message})`, { file, hint: 'restart the lab: lab down, lab up' });
  }
  // Written by this module only; checking the version and shape is enough to catch a stale or foreign file.
  const truth = value as Partial<GroundTruth> | null;
  if (truth?.version !== 1 || !Array.isArray(truth.devices)) {
    throw new IotcleanError('E_LAB', 'ground truth has an unknown format', { file, hint: 'restart the lab with this version: lab down, lab up' });
  }
  return truth as GroundTruth;
}
