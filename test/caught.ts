/** Test support: run fn and return the IotcleanError it throws (any other error, or none, fails). */
import { IotcleanError } from '../src/core/errors.js';

export function caught(fn: () => unknown): IotcleanError {
  try {
    fn();
  } catch (e) {
    if (e instanceof IotcleanError) return e;
    throw e;
  }
  throw new Error('expected an IotcleanError, got none');
}
