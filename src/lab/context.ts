/**
 * Login rules shared by every service of a device: which credentials it accepts, the honeypot that
 * accepts anything, and the lockout after N failures. Handlers never decide these themselves, so a
 * telnet and an HTTP failure count against the same device counter, as on real firmware.
 */
import { createHash } from 'node:crypto';
import { recordLock, recordRefused } from './lockouts.js';
import { currentCredentials } from './owner-actions.js';
import type { DeviceState, LabCredential, LabDevice, ServiceContext, ServiceProfile } from './types.js';

/** Default lockout length when a lockout profile gives none. */
export const defaultLockoutSeconds = 300;

/** Fresh per-device state. */
export function createDeviceState(): DeviceState {
  return { failures: 0, lockedUntil: 0, lockPeriods: [], lockPeriodsDropped: 0 };
}

/** True while the device refuses every login. */
export function isLockedOut(ctx: Pick<ServiceContext, 'device' | 'state'>, now = Date.now()): boolean {
  return ctx.device.profile.behaviour === 'lockout' && ctx.state.lockedUntil > now;
}

/**
 * For a service that refuses a whole connection while the device is locked (telnet's notice, SSH's
 * drop): true when locked, and the refusal is counted in the lock record (src/lab/lockouts.ts).
 */
export function refuseIfLocked(ctx: Pick<ServiceContext, 'device' | 'state'>, now = Date.now()): boolean {
  if (!isLockedOut(ctx, now)) return false;
  recordRefused(ctx.state);
  return true;
}

/**
 * Apply the device's login rules to an attempt. `matches` is asked about each credential with that
 * username: a password comparison for telnet, SSH, Basic and forms, a recomputed response for
 * Digest (which proves the password without sending it).
 */
export function checkLoginWith(
  device: LabDevice,
  state: DeviceState,
  username: string,
  matches: (credential: LabCredential) => boolean,
  now = Date.now(),
): boolean {
  const profile = device.profile;
  if (profile.behaviour === 'honeypot') return true;
  if (profile.behaviour === 'lockout') {
    if (state.lockedUntil > now) {
      recordRefused(state);
      return false;
    }
    // A lockout that has expired starts a fresh count.
    if (state.lockedUntil !== 0) {
      state.lockedUntil = 0;
      state.failures = 0;
    }
  }
  if (currentCredentials(device, state).some((c) => c.username === username && matches(c))) {
    state.failures = 0;
    return true;
  }
  state.failures++;
  if (profile.behaviour === 'lockout' && state.failures >= (profile.lockoutAfter ?? 5)) {
    state.lockedUntil = now + (profile.lockoutSeconds ?? defaultLockoutSeconds) * 1000;
    recordLock(state, now, state.lockedUntil);
  }
  return false;
}

/**
 * Per-unit values a banner may hold, as real units print their serial number or MAC address in a
 * realm or an SSID: {{serial}} (15 upper-case letters and digits), {{mac}} (aa:bb:cc:dd:ee:ff)
 * and {{mac6}} (its last six hex digits, upper case). Derived from the device id and address, so
 * the same lab gives the same values. Certificate keys are left alone: one certificate per model.
 */
export const bannerPlaceholders = ['serial', 'mac', 'mac6'] as const;

const unitKeysKept = new Set(['certSubject', 'certIssuer']);

/** The service with its banner's placeholders filled for this device (the same object when it has none). */
export function unitService(device: LabDevice, service: ServiceProfile): ServiceProfile {
  const banner = service.banner;
  if (!banner || !Object.values(banner).some((v) => v.includes('{{'))) return service;
  const h = createHash('sha256').update(`${device.id}/${device.ip}/${device.profile.id}`).digest();
  const alphabet = '0123456789ABCDEFGHJKLMNPRSTUVWXYZ';
  const serial = [...h.subarray(0, 15)].map((b) => alphabet[b % alphabet.length]).join('');
  // A locally administered unicast address (RFC 7042 §2.1): never a real maker's OUI.
  const bytes = [(h[15] ?? 0) & 0xfc | 0x02, ...h.subarray(16, 21)];
  const mac = bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
  const values: Record<string, string> = { serial, mac, mac6: mac.replace(/:/g, '').slice(6).toUpperCase() };
  const filled: Record<string, string> = {};
  for (const [k, v] of Object.entries(banner)) filled[k] = unitKeysKept.has(k) ? v : v.replace(/\{\{([a-z0-9]+)\}\}/g, (m, name: string) => values[name] ?? m);
  return { ...service, banner: filled };
}

/** The context a handler gets for one device service. `now` is injectable for tests. */
export function createServiceContext(
  device: LabDevice,
  service: ServiceProfile,
  state: DeviceState,
  now: () => number = Date.now,
): ServiceContext {
  return {
    device,
    service: unitService(device, service),
    state,
    checkLogin: (username, password) => checkLoginWith(device, state, username, (c) => c.password === password, now()),
  };
}
