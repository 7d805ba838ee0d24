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

/** The survey page's path on the web site (`iotclean serve`, src/web/public/). */
export const surveyPagePath = '/about-survey';
const placeholderSurveyUrl = `https://iotclean.example${surveyPagePath}`;
const printableUrl = (u: string | undefined): u is string => u !== undefined && /^https?:\/\/[\x21-\x7e]+$/.test(u);

/** The survey page of the site at `publicUrl` (what `iotclean serve --public-url` serves). */
export function surveyPageOf(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${surveyPagePath}`;
}

/**
 * The public page that explains the survey (purpose, source addresses, contact, opt-out), named
 * in the User-Agent so a device owner reading their logs can find it. The survey commands and
 * `iotclean serve` read the same setting, so the two agree: IOTCLEAN_PUBLIC_URL (the site's
 * address, also `serve --public-url`'s default) gives its /about-survey; IOTCLEAN_SURVEY_URL,
 * when set, names the page outright (a page hosted elsewhere). Each must be an http(s) URL of
 * printable ASCII (it goes into a request header); otherwise a placeholder is used.
 */
export function surveyInfoUrlOf(env: Readonly<Record<string, string | undefined>>): string {
  if (printableUrl(env.IOTCLEAN_SURVEY_URL)) return env.IOTCLEAN_SURVEY_URL;
  if (printableUrl(env.IOTCLEAN_PUBLIC_URL)) return surveyPageOf(env.IOTCLEAN_PUBLIC_URL);
  return placeholderSurveyUrl;
}

export const surveyInfoUrl = surveyInfoUrlOf(process.env);

/**
 * Why the surveys' User-Agent would not point at this site's survey page, or null when it does:
 * for `iotclean serve` to say so at start-up (the surveys run in other processes).
 */
export function surveyUrlMismatch(publicUrl: string | undefined, surveyUrl = surveyInfoUrl): string | null {
  if (publicUrl === undefined) return surveyUrl === placeholderSurveyUrl ? `the survey User-Agent names the placeholder ${placeholderSurveyUrl}: set IOTCLEAN_PUBLIC_URL (or --public-url here and IOTCLEAN_PUBLIC_URL for the survey commands) to this site's address` : null;
  const own = surveyPageOf(publicUrl);
  return surveyUrl === own ? null : `the survey User-Agent names ${surveyUrl}, not this site's ${own}: run the survey commands with IOTCLEAN_PUBLIC_URL=${publicUrl.replace(/\/+$/, '')} (and IOTCLEAN_SURVEY_URL unset)`;
}

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
