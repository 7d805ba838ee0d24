/**
 * The page's favicon as Shodan and Recog key it: the `<link rel=icon>` target when it is on the
 * same host, else /favicon.ico; fetched over a new guarded connection, bounded in size, and only
 * hashed when the whole icon arrived (a cut-off icon would give a hash nothing else matches).
 */
import { createHash } from 'node:crypto';
import type { FaviconFields } from '../fields.js';
import type { GrabContext } from '../module.js';
import { fetchPath } from './client.js';
import { shodanFaviconHash } from './mmh3.js';
import { resolveLocation } from './redirect.js';
import { headerValues, type ResponseLimits } from './response.js';

/** Largest favicon fetched. */
export const maxFaviconBytes = 64 * 1024;

const faviconLimits: ResponseLimits = { maxHeadBytes: 16 * 1024, maxHeaders: 64, maxBodyBytes: maxFaviconBytes };

/** The hash fields of favicon bytes fetched from `path`. */
export function faviconFieldsOf(path: string, bytes: Uint8Array): FaviconFields {
  return { path, mmh3: shodanFaviconHash(bytes), md5: createHash('md5').update(bytes).digest('hex'), bytes: bytes.length };
}

/** The paths to try, in order: the icon link when it stays on this host, then /favicon.ico. */
export function faviconPaths(scheme: 'http' | 'https', ctx: GrabContext, pagePath: string, iconHref: string | null): string[] {
  const out: string[] = [];
  if (iconHref) {
    const r = resolveLocation(iconHref, scheme, ctx.target, pagePath);
    if (r.sameHost) out.push(r.path);
  }
  if (!out.includes('/favicon.ico')) out.push('/favicon.ico');
  return out;
}

/** Fetch and hash the favicon; null when none of the paths gives a whole, non-HTML 200 response. */
export async function grabFavicon(scheme: 'http' | 'https', ctx: GrabContext, pagePath: string, iconHref: string | null): Promise<FaviconFields | null> {
  for (const path of faviconPaths(scheme, ctx, pagePath, iconHref)) {
    const opened = await ctx.reconnect({ tls: scheme === 'https' });
    if (opened.status !== 'success') return null;
    const r = await fetchPath(opened.connection, scheme, ctx.target, path, faviconLimits, 'image/*,*/*;q=0.8');
    if (r.kind !== 'response') continue;
    const { head, body, complete } = r.response;
    // Many devices answer every path with their index page: that is not an icon.
    const html = /text\/html/i.test(headerValues(head, 'content-type').join(',')) || /^\s*<(?:!doctype\s+html|html)/i.test(body.subarray(0, 64).toString('latin1'));
    if (head.status === 200 && complete && body.length > 0 && !html) return faviconFieldsOf(path, body);
  }
  return null;
}
