/**
 * The HTTP access modules (issue 7 items 3 and 4): Basic (RFC 7617), Digest (RFC 7616) and form
 * login, over http or https as the grab stage saw the endpoint, ports as found. Each one tries the
 * list on kept-alive guarded connections, learns what a refusal looks like from a random control
 * pair first, and only believes a login that the control pair did not also get. Basic and Digest
 * hold one session per host unless AccessContext.sessions allows more (challenge.ts).
 */
export { httpBasicAccess, basicAuthorization } from './basic.js';
export { httpDigestAccess, pickChallenge } from './digest.js';
export { httpFormAccess } from './form.js';
