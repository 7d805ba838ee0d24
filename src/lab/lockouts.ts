/**
 * The lab's record of lock-out periods (ground-truth side: tests and benchmarks read it, detection
 * never does). Issue 7 asks that lock-out devices are "not locked for longer than their window": a
 * survey that keeps trying a locked device, or locks it again as soon as it recovers, is impolite
 * and on real firmware keeps the owner out of the device. Per lock-out device the lab keeps when
 * each lock began, until when it lasts, and how many logins or connections it refused meanwhile.
 *
 * Bounded: at most {@link maxLockPeriods} periods per device (later ones are only counted), and
 * only lock-out devices are reported. A lab running in shard processes writes the record to
 * <dir>/lockouts-<n>.json (at most twice a second, and when it stops); {@link readLockouts} merges them.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './files.js';
import type { DeviceState, LabDevice } from './types.js';

/** Lock periods kept per device; more are counted in `dropped`. */
export const maxLockPeriods = 32;

/** One lock period of a device (times in ms since the epoch). */
export interface LockPeriod {
  readonly lockedAt: number;
  readonly until: number;
  /** Login attempts and connections refused because the device was locked. */
  readonly refused: number;
}

/** The lock periods of one lock-out device during a run. */
export interface DeviceLockouts {
  readonly deviceId: string;
  readonly ip: string;
  readonly profile: string;
  readonly lockoutAfter: number;
  readonly lockoutSeconds: number;
  readonly periods: readonly LockPeriod[];
  /** Periods past {@link maxLockPeriods}, not kept. */
  readonly dropped: number;
}

/** Note that the device locked at `now` until `until`. */
export function recordLock(state: DeviceState, now: number, until: number): void {
  const periods = (state.lockPeriods ??= []);
  if (periods.length >= maxLockPeriods) {
    state.lockPeriodsDropped = (state.lockPeriodsDropped ?? 0) + 1;
    return;
  }
  periods.push({ lockedAt: now, until, refused: 0 });
}

/** Note one login or connection refused because the device is locked. */
export function recordRefused(state: DeviceState): void {
  const last = state.lockPeriods?.at(-1);
  if (last) last.refused++;
}

/** The record of these devices' lock-out periods (lock-out devices only), as plain data. */
export function lockoutsOf(entries: Iterable<{ readonly device: LabDevice; readonly state: DeviceState }>, defaultSeconds: number): DeviceLockouts[] {
  const out: DeviceLockouts[] = [];
  for (const { device, state } of entries) {
    const p = device.profile;
    if (p.behaviour !== 'lockout') continue;
    out.push({
      deviceId: device.id,
      ip: device.ip,
      profile: p.id,
      lockoutAfter: p.lockoutAfter ?? 5,
      lockoutSeconds: p.lockoutSeconds ?? defaultSeconds,
      periods: (state.lockPeriods ?? []).map((x) => ({ lockedAt: x.lockedAt, until: x.until, refused: x.refused })),
      dropped: state.lockPeriodsDropped ?? 0,
    });
  }
  return out;
}

const filePattern = /^lockouts-\d+\.json$/;

/** Where shard `index` of a lab in `dir` writes its record. */
export function lockoutFile(dir: string, index: number): string {
  return join(dir, `lockouts-${index}.json`);
}

/** Remove the records of an earlier run in `dir` (a new lab starts with none). */
export function clearLockouts(dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) if (filePattern.test(name)) rmSync(join(dir, name), { force: true });
}

/** Write a shard's record (atomically: a reader never sees half a file). */
export function writeLockouts(file: string, records: readonly DeviceLockouts[]): void {
  writeFileAtomic(file, `${JSON.stringify(records)}\n`);
}

/**
 * The lock-out record of the lab in `dir`, merged over its shards, sorted by address. Read it after
 * `lab down` for the final counts (a running shard writes at most twice a second). Unreadable
 * files are skipped: a shard killed mid-write leaves only its temporary file.
 */
export function readLockouts(dir: string): DeviceLockouts[] {
  if (!existsSync(dir)) return [];
  const out: DeviceLockouts[] = [];
  for (const name of readdirSync(dir).filter((n) => filePattern.test(n)).sort()) {
    try {
      const data: unknown = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      if (Array.isArray(data)) out.push(...(data as DeviceLockouts[]));
    } catch {
      // skipped: see above
    }
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
}

/** Limits of {@link lockoutProblems}. */
export interface LockoutLimits {
  /** Refusals allowed per lock period: a survey must stop trying soon after the lock (default 3). */
  readonly maxRefused?: number;
}

/**
 * What went wrong with the lock-out devices during a run, one line per problem naming the device:
 * a lock that began less than one `lockoutSeconds` window after the previous one ended (the survey
 * locked it again as soon as it recovered, so its owner was locked out for longer than the window),
 * a lock longer than the window, a period with more than `maxRefused` refusals (the survey kept
 * trying a locked device), or periods too many to keep.
 */
export function lockoutProblems(records: readonly DeviceLockouts[], limits: LockoutLimits = {}): string[] {
  const maxRefused = limits.maxRefused ?? 3;
  const problems: string[] = [];
  for (const r of records) {
    const name = `${r.deviceId} (${r.profile}, ${r.ip})`;
    const windowMs = r.lockoutSeconds * 1000;
    if (r.dropped > 0) problems.push(`${name}: locked more than ${maxLockPeriods + r.dropped - 1} times`);
    r.periods.forEach((p, i) => {
      if (p.until - p.lockedAt > windowMs) problems.push(`${name}: lock #${i + 1} lasted ${p.until - p.lockedAt} ms, longer than its ${r.lockoutSeconds} s window`);
      if (p.refused > maxRefused) problems.push(`${name}: ${p.refused} attempts refused while locked (lock #${i + 1}), more than ${maxRefused}`);
      const prev = r.periods[i - 1];
      if (prev && p.lockedAt - prev.until < windowMs) {
        problems.push(`${name}: locked again ${Math.max(0, p.lockedAt - prev.until)} ms after lock #${i} ended, within its ${r.lockoutSeconds} s window`);
      }
    });
  }
  return problems;
}
