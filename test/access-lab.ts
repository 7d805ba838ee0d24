/**
 * The issue 7 criteria against the lab's ground truth, as one assertion the end-to-end tests call
 * (`expectLabAccessPerfect`): every weak-credential device found with a pair it really accepts,
 * zero false positives, every honeypot service `accepts-any`, and lock-out devices not locked for
 * longer than their window (src/lab/lockouts.ts). Messages name the devices that broke a rule.
 * Kept out of the .test.ts file so other test files can import it without re-running its tests.
 */
import { expect } from 'vitest';
import { lockoutProblems, type DeviceLockouts, type LockoutLimits } from '../src/lab/lockouts.js';
import type { AccessScore } from '../src/lab/score-access.js';

/** Lines naming each device or service that breaks an issue 7 criterion (empty: all met). */
export function labAccessProblems(score: AccessScore, lockouts: readonly DeviceLockouts[] = [], limits: LockoutLimits = {}): string[] {
  const problems: string[] = [];
  for (const d of score.devices) {
    if (d.weak && !d.found) {
      const services = score.scored.filter((s) => s.deviceId === d.deviceId).map((s) => `${s.protocol}@${s.boundPort}: ${s.why ?? s.outcome}`);
      problems.push(`weak device not found: ${d.deviceId} (${d.profile}, ${d.ip}) — ${services.join('; ')}`);
    }
  }
  for (const s of score.scored) {
    if (s.outcome === 'false-positive') problems.push(`false positive: ${s.deviceId} (${s.profile}, ${s.ip}) ${s.protocol}@${s.boundPort}: ${s.why ?? ''}`);
    if (s.outcome === 'honeypot-other') problems.push(`honeypot not accepts-any: ${s.deviceId} (${s.profile}, ${s.ip}) ${s.protocol}@${s.boundPort}: ${s.why ?? ''}`);
  }
  for (const r of score.stray) if (r.falsePositive) problems.push(`false positive at an endpoint with no such login: ${r.ip}:${r.port} ${r.protocol}`);
  problems.push(...lockoutProblems(lockouts, limits).map((p) => `lock-out: ${p}`));
  return problems;
}

/**
 * Assert the issue 7 criteria on a scored run (src/lab/score-access.ts). Pass the lab's lock
 * record too (`lab.lockouts()` in-process, `readLockouts(dir)` after `lab down`) to check the
 * lock-out devices. Also requires that the run scored something and found at least one device,
 * so an empty result list cannot pass.
 */
export function expectLabAccessPerfect(score: AccessScore, lockouts: readonly DeviceLockouts[] = [], limits: LockoutLimits = {}): void {
  expect(score.services, 'the lab has services with a login').toBeGreaterThan(0);
  expect(score.weakDevices === 0 || score.weakDevicesFound > 0, 'a run that found nothing').toBe(true);
  expect(labAccessProblems(score, lockouts, limits), summary(score)).toEqual([]);
}

/** One line of totals, for failure messages and notes. */
export function summary(score: AccessScore): string {
  return (
    `services ${score.services}, weak devices ${score.weakDevicesFound}/${score.weakDevices} found ` +
    `(services ${score.weakFound}/${score.weakServices}), false positives ${score.falsePositives}, ` +
    `honeypot services accepts-any ${score.honeypotsAcceptsAny}/${score.honeypotServices}, no result ${score.noResult}, ` +
    `lock-out verdicts ${JSON.stringify(score.lockoutVerdicts)}`
  );
}
