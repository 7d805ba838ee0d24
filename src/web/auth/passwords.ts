/**
 * Password hashing with scrypt (node:crypto), stored as `scrypt$<log2 N>$<r>$<p>$<salt>$<key>`
 * (base64url). The cost is kept in the string, so raising the default later leaves old hashes
 * verifiable. OWASP's password-storage guidance gives N = 2^17, r = 8, p = 1.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { IotcleanError } from '../../core/errors.js';

export const defaultScryptLog2N = 17;

const run = (password: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const N = 2 ** log2N;
    // scrypt needs 128·N·r bytes; Node refuses above maxmem (32 MiB by default).
    scrypt(password.normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r }, (e, key) => (e ? reject(e) : resolve(key)));
  });

/** ASVS 2.1: at least 12 characters, at most 128; any character (spaces and Unicode included). */
export function passwordProblem(password: string): string | undefined {
  const n = [...password].length;
  if (n < 12) return 'a password needs at least 12 characters';
  if (n > 128) return 'a password may have at most 128 characters';
  return undefined;
}

export async function hashPassword(password: string, log2N = defaultScryptLog2N): Promise<string> {
  const problem = passwordProblem(password);
  if (problem) throw new IotcleanError('E_ARGS', problem, { hint: 'choose a longer passphrase' });
  const salt = randomBytes(16);
  const key = await run(password, salt, log2N, 8, 1);
  return `scrypt$${log2N}$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** True when `password` is the one hashed; false for a wrong one or a string that is no hash of ours. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(stored);
  if (!m) return false;
  const [log2N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (log2N < 10 || log2N > 20 || r < 1 || r > 16 || p < 1 || p > 4 || [...password].length > 128) return false;
  const want = Buffer.from(m[5]!, 'base64url');
  const got = await run(password, Buffer.from(m[4]!, 'base64url'), log2N, r, p);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** A hash of a random password at the given cost: verified against when a login names no account, so both take as long. */
export async function decoyHash(log2N = defaultScryptLog2N): Promise<string> {
  return hashPassword(randomBytes(24).toString('base64url'), log2N);
}
