/**
 * lockedBeforeTries: the control pair's answer already says "locked now" (an earlier run or another
 * service of the device locked it), where the page without a login did not. A warning that the
 * account *will* be locked, present on every answer, must not count; nor a bare 403 (some devices
 * refuse every wrong pair with 403 and let the right one in). Seeded random text never throws.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import type { HttpReply } from './client.js';
import { lockedBeforeTries, signatureOf } from './common.js';

function reply(status: number, text: string): HttpReply {
  return { kind: 'reply', status, head: { version: '1.1', status, reason: '', statusLine: `HTTP/1.1 ${status}`, headers: [], dropped: 0 }, text, complete: true };
}

const loginPage = reply(200, '<form><input type="password" name="p"></form>');
const challenge = reply(401, '<h1>401 Unauthorized</h1>');

describe('lockedBeforeTries', () => {
  it.each([
    [challenge, reply(403, '<p>Too many failed login attempts. Please login after 412 seconds.</p>')],
    [loginPage, reply(200, '<form><input type="password"></form><p>Account has been locked for 10 minutes</p>')],
    [loginPage, reply(200, 'Login failed. Try again in 5 minutes.')],
    [challenge, reply(401, 'User is temporarily blocked')],
  ])('sees a lock already in place (%#)', (baseline, control) => {
    expect(lockedBeforeTries(control, signatureOf(baseline))).toBe(true);
  });

  it.each([
    [challenge, reply(403, '<h1>403 Forbidden</h1>')],
    [loginPage, reply(200, 'Invalid password. The account will be locked after 5 failed attempts.')],
    [reply(200, 'Too many failed attempts lock the account.'), reply(200, 'Too many failed attempts lock the account. Invalid password.')],
    [challenge, reply(401, '<h1>401 Unauthorized</h1>')],
  ])('does not take a plain refusal or a standing warning for a lock (%#)', (baseline, control) => {
    expect(lockedBeforeTries(control, signatureOf(baseline))).toBe(false);
  });

  it('returns a boolean for seeded random text, quickly', () => {
    const rng = createRng('locked-before');
    const words = ['too many', 'locked', 'try again', 'in 5', 'after 3', 'has been', 'temporarily', 'blocked', '\u0000', '<p>', ' ', 'x'.repeat(50)];
    for (let i = 0; i < 2000; i++) {
      let text = '';
      const n = rng.int(40);
      for (let k = 0; k < n; k++) text += rng.next() < 0.5 ? rng.pick(words) : String.fromCharCode(rng.int(0x3000));
      expect(typeof lockedBeforeTries(reply(200, text), signatureOf(reply(401, text.slice(0, rng.int(text.length + 1)))))).toBe('boolean');
    }
    // A long hostile body is cut at 64 KiB before matching.
    expect(lockedBeforeTries(reply(200, `${'too man'.repeat(200_000)}y failed`), signatureOf(challenge))).toBe(false);
  });
});
