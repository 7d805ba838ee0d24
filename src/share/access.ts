/**
 * Who may read and write which TAXII collection: the operator's tokens file, one entry per peer
 * ISP with its bearer token (or only the token's SHA-256, so the file opens nothing if copied) and
 * the collections (by alias or id, "*" for all) it may read and write. A collection an ISP has
 * no grant on does not exist for it (TAXII: 404).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import { IotcleanError } from '../core/errors.js';

const grant = z.array(z.string().min(1)).default([]);
const entry = z
  .strictObject({
    isp: z.string().min(1).max(128),
    token: z.string().min(16, { error: 'a token must be at least 16 characters' }).optional(),
    token_sha256: z.string().regex(/^[0-9a-f]{64}$/, { error: 'must be 64 lowercase hex digits' }).optional(),
    read: grant,
    write: grant,
  })
  .refine((e) => (e.token === undefined) !== (e.token_sha256 === undefined), { error: 'give exactly one of token and token_sha256' });

export const accessFileSchema = z.strictObject({
  tokens: z.array(entry).min(1, { error: 'list at least one ISP' }),
});

export interface IspAccess {
  readonly isp: string;
  readonly tokenHash: Buffer;
  readonly read: readonly string[];
  readonly write: readonly string[];
}

export interface AccessTable {
  readonly entries: readonly IspAccess[];
}

export const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export function parseAccess(text: string, file: string): AccessTable {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new IotcleanError('E_SHARE_FILE', `not JSON: ${(e as Error).message}`, { file, hint: 'see src/share/access.ts for the format: {"tokens":[{"isp":"isp-b","token_sha256":"…","read":["c2"],"write":[]}]}' });
  }
  const r = accessFileSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new IotcleanError('E_SHARE_FILE', `${i.path.join('.') || '(top)'}: ${i.message}`, { file, hint: '{"tokens":[{"isp":"isp-b","token_sha256":"<sha256 of the token>","read":["c2"],"write":["inbox"]}]}' });
  }
  const hashes = new Set<string>();
  const entries = r.data.tokens.map((t, i) => {
    const tokenHash = t.token !== undefined ? sha256(t.token) : Buffer.from(t.token_sha256!, 'hex');
    if (hashes.has(tokenHash.toString('hex'))) throw new IotcleanError('E_SHARE_FILE', `tokens.${i}: the same token as an earlier entry`, { file, hint: 'give every ISP its own token' });
    hashes.add(tokenHash.toString('hex'));
    return { isp: t.isp, tokenHash, read: t.read, write: t.write };
  });
  return { entries };
}

export async function loadAccess(file: string): Promise<AccessTable> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new IotcleanError('E_SHARE_FILE', `cannot read the tokens file: ${(e as Error).message}`, { file });
  }
  return parseAccess(text, file);
}

/** The ISP a bearer token belongs to (compared by SHA-256 in constant time), or undefined. */
export function authenticate(table: AccessTable, token: string): IspAccess | undefined {
  const h = sha256(token);
  let found: IspAccess | undefined;
  for (const e of table.entries) if (timingSafeEqual(h, e.tokenHash)) found = e;
  return found;
}

const granted = (list: readonly string[], c: { id: string; alias: string | null }) => list.includes('*') || list.includes(c.id) || (c.alias !== null && list.includes(c.alias));

export function canRead(a: IspAccess, c: { id: string; alias: string | null }): boolean {
  return granted(a.read, c);
}
export function canWrite(a: IspAccess, c: { id: string; alias: string | null }): boolean {
  return granted(a.write, c);
}
