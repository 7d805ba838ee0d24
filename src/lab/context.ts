/**
 * Login rules shared by every service of a device: which credentials it accepts, the honeypot that
 * accepts anything, and the lockout after N failures. Handlers never decide these themselves, so a
 * telnet and an HTTP failure count against the same device counter, as on real firmware.
 */
import type { DeviceState, LabCredential, LabDevice, ServiceContext, ServiceProfile } from './types.js';

/** Default lockout length when a lockout profile gives none. */
export const defaultLockoutSeconds = 300;

/** Fresh per-device state. */
export function createDeviceState(): DeviceState {
  return { failures: 0, lockedUntil: 0 };
}

/** True while the device refuses every login. */
export function isLockedOut(ctx: Pick<ServiceContext, 'device' | 'state'>, now = Date.now()): boolean {
  return ctx.device.profile.behaviour === 'lockout' && ctx.state.lockedUntil > now;
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
    if (state.lockedUntil > now) return false;
    // A lockout that has expired starts a fresh count.
    if (state.lockedUntil !== 0) {
      state.lockedUntil = 0;
      state.failures = 0;
    }
  }
  if (device.credentials.some((c) => c.username === username && matches(c))) {
    state.failures = 0;
    return true;
  }
  state.failures++;
  if (profile.behaviour === 'lockout' && state.failures >= (profile.lockoutAfter ?? 5)) {
    state.lockedUntil = now + (profile.lockoutSeconds ?? defaultLockoutSeconds) * 1000;
  }
  return false;
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
    service,
    state,
    checkLogin: (username, password) => checkLoginWith(device, state, username, (c) => c.password === password, now()),
  };
}
