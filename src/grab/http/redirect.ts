/**
 * Where a redirect points, and whether the module may follow it: only to the same scheme, address
 * and port (the survey is authorised for this endpoint, not for whatever host a device names).
 * Locations are resolved as a browser would (RFC 9110 §10.2.2: relative to the request URL).
 */
import type { GrabTarget } from '../module.js';

/** Status codes whose Location is followed (RFC 9110 §15.4). */
export const redirectStatuses: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** A location resolved: the path to request on this host, or the location as written when it leads elsewhere. */
export type Resolved =
  | { readonly sameHost: true; readonly path: string }
  | { readonly sameHost: false; readonly location: string };

/** The URL a request to `path` on the target had. */
export function pageUrl(scheme: 'http' | 'https', target: GrabTarget, path: string): string {
  return `${scheme}://${target.ip}:${target.port}${path}`;
}

/** Resolve `location` against the page; a same-host result gives the path (with query) to request. */
export function resolveLocation(location: string, scheme: 'http' | 'https', target: GrabTarget, path: string): Resolved {
  let url: URL;
  try {
    url = new URL(location, pageUrl(scheme, target, path));
  } catch {
    return { sameHost: false, location };
  }
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : -1) : Number(url.port);
  if (url.protocol !== `${scheme}:` || url.hostname !== target.ip || port !== target.port || url.username !== '' || url.password !== '') {
    return { sameHost: false, location };
  }
  const requested = `${url.pathname}${url.search}`;
  // The URL parser percent-encodes what a request line cannot hold; refuse anything else that slipped by.
  if (!/^\/[\x21-\x7e]{0,2047}$/.test(requested)) return { sameHost: false, location };
  return { sameHost: true, path: requested };
}
