/**
 * One GET over one guarded connection: the request line and the few headers a survey sends
 * (RFC 9112 §3; Host as RFC 9110 §7.2 says, the port left out when it is the scheme's default,
 * as browsers send it and device firmware expects), then the bounded response reader. Every
 * request says `Connection: close`, so each response ends the connection and a redirect or the
 * favicon takes a new one from ctx.reconnect.
 */
import type { Connection } from '../../scope/connection.js';
import type { GrabTarget } from '../module.js';
import { defaultResponseLimits, readResponse, type ReadOutcome, type ResponseLimits } from './response.js';

/**
 * The public page that explains the survey (src/web/public/: purpose, source addresses, contact,
 * opt-out), named in the User-Agent so a device owner reading their logs can find it. An operator
 * sets their own site's page with IOTCLEAN_SURVEY_URL (an http(s) URL of printable ASCII).
 */
export const surveyInfoUrl = ((u) => (u !== undefined && /^https?:\/\/[\x21-\x7e]+$/.test(u) ? u : 'https://iotclean.example/about-survey'))(process.env.IOTCLEAN_SURVEY_URL);

/** Says what is asking, without pretending to be a particular browser, and where to read about it. */
export const userAgent = `Mozilla/5.0 (compatible; iotclean survey; +${surveyInfoUrl})`;

/** The request bytes of a GET for `path` (a path the caller has checked: printable ASCII, no spaces). */
export function getRequest(scheme: 'http' | 'https', target: GrabTarget, path: string, accept = '*/*'): string {
  const host = target.port === (scheme === 'https' ? 443 : 80) ? target.ip : `${target.ip}:${target.port}`;
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: ${userAgent}\r\nAccept: ${accept}\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n`;
}

/** GET `path` on `conn` and read the response; the connection is closed afterwards either way. */
export async function fetchPath(
  conn: Connection,
  scheme: 'http' | 'https',
  target: GrabTarget,
  path: string,
  limits: ResponseLimits = defaultResponseLimits,
  accept?: string,
): Promise<ReadOutcome> {
  try {
    const w = await conn.write(getRequest(scheme, target, path, accept));
    if (w.status !== 'success') return { kind: 'failed', status: w.status, error: w.error ?? 'write failed', recognised: false };
    return await readResponse(conn, limits);
  } finally {
    conn.close();
  }
}
