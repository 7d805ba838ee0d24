/**
 * Real weak-credential targets (busybox telnetd + login, dropbear, lighttpd Basic and Digest) in a
 * fresh namespace, and the credential-list writer. The code lives in bench/access-servers.ts so the
 * built bench/access can use it (the build leaves test/ out); tests import it from here.
 */
export * from '../bench/access-servers.js';
