/**
 * What a device's owner does after an alert, applied to the running lab so the centre's re-scan
 * is a real check of the device, not a lookup: `change-password` replaces every login with a
 * strong one no dictionary holds; `factory-reset` puts the profile's credentials back (the weak
 * defaults a reset restores, the usual way a fixed device is reinfected).
 *
 * A running lab's shards are separate processes: `labApplyOwnerActions` (runtime.ts) writes the
 * actions with a new generation to <dir>/owner-actions.json and sends SIGHUP; each shard applies
 * the actions for its devices once per generation and acknowledges in owner-ack-<i>.json.
 * In-process labs apply them directly (LabHandle.applyOwnerActions).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { IotcleanError } from '../core/errors.js';
import { writeFileAtomic } from './files.js';
import type { DeviceState, LabCredential, LabDevice } from './types.js';

export const ownerActionKinds = ['change-password', 'factory-reset'] as const;
export type OwnerActionKind = (typeof ownerActionKinds)[number];

/** One owner's action on their device, by the device's address. */
export interface OwnerAction {
  readonly ip: string;
  readonly action: OwnerActionKind;
}

const actionsFileSchema = z.strictObject({
  generation: z.number().int().positive(),
  actions: z.array(z.strictObject({ ip: z.string().min(7).max(15), action: z.enum(ownerActionKinds) })).max(10_000_000),
});
export type OwnerActionsFile = z.infer<typeof actionsFileSchema>;

export function ownerActionsFile(dir: string): string {
  return join(dir, 'owner-actions.json');
}

export function ownerAckFile(dir: string, shard: number): string {
  return join(dir, `owner-ack-${shard}.json`);
}

/** A password the owner chose: derived from the address and generation, never in a dictionary. */
function strongPassword(ip: string, generation: number): string {
  return `Own-${createHash('sha256').update(`${ip}/${generation}`).digest('base64url').slice(0, 20)}`;
}

/** The credentials a device accepts now: the owner's, else the profile's. */
export function currentCredentials(device: LabDevice, state: DeviceState): readonly LabCredential[] {
  return state.credentials ?? device.credentials;
}

/**
 * Apply actions to the devices served here (others' addresses are ignored: another shard has
 * them). Returns how many devices changed. A changed password also clears a lock-out counter.
 */
export function applyOwnerActions(devices: readonly { readonly device: LabDevice; readonly state: DeviceState }[], actions: readonly OwnerAction[], generation: number): number {
  const byIp = new Map(devices.map((d) => [d.device.ip, d]));
  let changed = 0;
  for (const a of actions) {
    const d = byIp.get(a.ip);
    if (!d) continue;
    if (a.action === 'change-password') {
      const usernames = [...new Set(d.device.credentials.map((c) => c.username))];
      d.state.credentials = (usernames.length ? usernames : ['admin']).map((username) => ({ username, password: strongPassword(a.ip, generation) }));
    } else {
      delete d.state.credentials;
    }
    d.state.failures = 0;
    changed++;
  }
  return changed;
}

/** Write the next generation of actions for a running lab's shards; returns the generation. */
export function writeOwnerActions(dir: string, actions: readonly OwnerAction[]): number {
  const previous = readOwnerActions(dir);
  const generation = (previous?.generation ?? 0) + 1;
  writeFileAtomic(ownerActionsFile(dir), `${JSON.stringify({ generation, actions })}\n`);
  return generation;
}

/** The current actions file, or undefined when there is none. E_LAB when it is damaged. */
export function readOwnerActions(dir: string): OwnerActionsFile | undefined {
  const file = ownerActionsFile(dir);
  if (!existsSync(file)) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new IotcleanError('E_LAB', `owner actions file is not JSON (${(e as Error).message})`, { file });
  }
  const parsed = actionsFileSchema.safeParse(data);
  if (!parsed.success) throw new IotcleanError('E_LAB', `owner actions file is invalid: ${parsed.error.issues[0]?.message ?? 'bad shape'}`, { file });
  return parsed.data;
}

/** The generation a shard last acknowledged (0 when none). */
export function readOwnerAck(file: string): number {
  try {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { generation?: unknown };
    return typeof data.generation === 'number' ? data.generation : 0;
  } catch {
    return 0;
  }
}

export function writeOwnerAck(file: string, generation: number, changed: number): void {
  writeFileAtomic(file, `${JSON.stringify({ generation, changed })}\n`);
}
