/**
 * The access modules, one per auth type, in the order the runner tries an endpoint's logins.
 * Digest comes before Basic: a page offering both is checked once, with the stronger scheme.
 */
import { httpBasicAccess, httpDigestAccess, httpFormAccess } from './http/index.js';
import type { AccessModule, AccessProtocol } from './module.js';
import { sshAccess } from './ssh/index.js';
import { telnetAccess } from './telnet/index.js';

export const accessModules: readonly AccessModule[] = Object.freeze([telnetAccess, sshAccess, httpDigestAccess, httpBasicAccess, httpFormAccess]);

/** Modules that check the same login another way: once one applies, these are skipped on that endpoint. */
export const sameLogin: Readonly<Partial<Record<AccessProtocol, readonly AccessProtocol[]>>> = Object.freeze({ 'http-digest': ['http-basic'] });
