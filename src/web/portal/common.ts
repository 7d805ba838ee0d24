/**
 * What every portal page shares: the role check, the ISP a request may see (the session's, never
 * a parameter), input helpers and the finding cells.
 */
import type { Context } from 'hono';
import { z } from 'zod';
import type { Finding } from '../../core/records.js';
import type { ReportStatus } from '../../store/web-portal.js';
import { html, problemPage, type Html } from '../html.js';
import { formatDate, tr } from '../i18n.js';
import { ispScope, requireRole } from '../security.js';
import type { WebEnv } from '../types.js';
import { portalMessages } from './messages.js';

/** Only ISP users reach the portal's pages. */
export const ispOnly = requireRole('isp');

/** The request's own ISP, or a 403 page for an `isp` account without one (a misconfigured account). */
export function ownIsp(c: Context<WebEnv>): string | Response | Promise<Response> {
  const isp = ispScope(c);
  return isp ?? problemPage(c, 403, tr(c, portalMessages)('noIsp'));
}

/** Form and query values: an empty field means "not given". */
export const blank = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : typeof v === 'string' ? v.trim() : v), schema.optional());

/** The first problem of a zod error, as "field: message". */
export function firstIssue(e: z.ZodError): string {
  const i = e.issues[0];
  return i ? `${i.path.join('.') || 'input'}: ${i.message}` : 'invalid input';
}

/** A finding id in a path: 1…2^53. */
export const idParam = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const periodSchema = z.string().regex(/^\d{4}-\d{2}(-\d{2})?$/, 'a period reads YYYY-MM or YYYY-MM-DD');

/** The label of a reported status (or of "not reported"). */
export function statusLabel(c: Context<WebEnv>, status: ReportStatus | 'unreported'): string {
  return tr(c, portalMessages)(`status.${status}`);
}

/** Vendor and model as one escaped cell (device-supplied text: always through `html`). */
export function deviceCell(f: Finding): Html {
  const parts = [f.device.vendor, f.device.model].filter((s): s is string => s !== null && s !== '');
  return html`<span class="device-text">${parts.join(' ') || '—'}</span>`;
}

export const when = (c: Context<WebEnv>, iso: string | null): string => (iso === null ? '—' : formatDate(c.get('lang'), iso));

/** The query string of these values (empty ones left out), for paging and download links. */
export function queryOf(values: Readonly<Record<string, string | number | undefined | null>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
