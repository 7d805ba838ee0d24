/**
 * HTTP Basic access module (RFC 7617): `Authorization: Basic base64(user ":" password)` on a GET of
 * the page whose 401 offered a Basic challenge (http or https, as the grab saw it). The loop in
 * challenge.ts decides success against a random control pair.
 */
import type { AccessModule } from '../module.js';
import { headerValues } from '../../grab/http/response.js';
import { parseAuthHeader } from '../../protocols/http-auth.js';
import { runChallenge, type ChallengeScheme } from './challenge.js';
import { challengedPage } from './common.js';

/** The Authorization value for a pair (RFC 7617 §2: UTF-8, as the charset="UTF-8" parameter asks and devices accept). */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Whether one WWW-Authenticate value offers Basic (RFC 9110 §11.6.1: one or more challenges). */
function offersBasic(value: string): boolean {
  return (parseAuthHeader(value) ?? [{ scheme: /^\s*(\w+)/.exec(value)?.[1]?.toLowerCase() ?? '' }]).some((e) => e.scheme === 'basic');
}

// Every refusal repeats the same challenge: the last value's answer is kept (one entry, bounded).
let lastValue: string | undefined;
let lastOffers = false;

const basicScheme: ChallengeScheme = {
  name: 'Basic',
  accept: (reply) =>
    headerValues(reply.head, 'www-authenticate').some((v) => {
      if (v !== lastValue) [lastValue, lastOffers] = [v, offersBasic(v)];
      return lastOffers;
    }),
  authorization: (pair) => basicAuthorization(pair.username, pair.password),
  // Basic has no state to split: every session answers the same challenge.
  fork: () => ({ scheme: basicScheme, needsChallenge: false }),
};

/** HTTP Basic: applies where the grab saw a 401 with a Basic challenge. */
export const httpBasicAccess: AccessModule = {
  protocol: 'http-basic',
  description: 'HTTP Basic (RFC 7617): GET the challenged page with each pair on kept-alive connections; a 2xx the random control pair did not get is a login',
  applies: (target) => challengedPage(target, 'basic') !== undefined,
  async run(target, credentials, ctx) {
    const page = challengedPage(target, 'basic');
    if (!page) return { verdict: 'unsupported', entry: null, attempts: [], reason: 'no Basic challenge in the observations' };
    return runChallenge(basicScheme, page, target, credentials, ctx);
  },
};
