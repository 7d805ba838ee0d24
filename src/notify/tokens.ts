/**
 * API tokens per ISP. The file holds only SHA-256 digests of the tokens (a stolen file opens
 * nothing): `isp_id,sha256` per line. A presented token is hashed and compared with every digest
 * in constant time (crypto.timingSafeEqual, no early exit), so timing tells nothing of which
 * digest came close.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { IotcleanError } from '../core/errors.js';
import type { FileKind } from '../core/files.js';
import { ispIdSchema, loadTableFile, parseTableText } from './table-file.js';

/** One accepted token digest. */
export interface TokenEntry {
  readonly isp: string;
  /** SHA-256 of the token, 32 bytes. */
  readonly sha256: Buffer;
}

const kind: FileKind = { code: 'E_ARGS', name: 'API tokens file', hint: 'one line per token: isp_id,sha256 (64 hex digits of the SHA-256 of the token); see docs/notify-format.md' };
const columns = ['isp_id', 'sha256'] as const;
const row = z.object({
  isp_id: ispIdSchema,
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'not a SHA-256 digest (64 hex digits); the file holds digests, never tokens'),
});

function entries(rows: readonly z.infer<typeof row>[], file: string): TokenEntry[] {
  const seen = new Map<string, string>();
  return rows.map((r) => {
    const digest = r.sha256.toLowerCase();
    const other = seen.get(digest);
    if (other !== undefined && other !== r.isp_id) throw new IotcleanError('E_ARGS', `API tokens file: one token digest is given to both ${other} and ${r.isp_id}`, { file, hint: 'give every ISP its own token' });
    seen.set(digest, r.isp_id);
    return { isp: r.isp_id, sha256: Buffer.from(digest, 'hex') };
  });
}

/** Parse a tokens file's text. */
export function parseTokens(text: string, file = 'tokens'): TokenEntry[] {
  return entries(parseTableText(text, file, kind, columns, row), file);
}

/** Read a tokens file. */
export async function loadTokens(path: string): Promise<TokenEntry[]> {
  return entries(await loadTableFile(path, kind, columns, row), path);
}

/** SHA-256 of a token, as the tokens file holds it (hex). */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The ISP a bearer token belongs to, or undefined. Every digest is compared, whatever matched. */
export function ispOfToken(tokens: readonly TokenEntry[], token: string): string | undefined {
  const presented = createHash('sha256').update(token, 'utf8').digest();
  let found: string | undefined;
  for (const t of tokens) if (timingSafeEqual(presented, t.sha256) && found === undefined) found = t.isp;
  return found;
}
