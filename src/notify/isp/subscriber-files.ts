/**
 * The ISP's own subscriber and inventory files (CSV, RFC 4180 quoting, one record per line; the
 * first line names the columns, in any order; extra columns are ignored):
 *
 *   subscribers: subscriber_id,email,language,name[,mac][,client_id]
 *     language ja|en (default ja); mac and client_id may list several, separated by ";" —
 *     they tie DHCP leases (hardware ethernet / uid) to the subscriber.
 *   inventory:   subscriber_id,mac,measure,contact,model
 *     subscriber_id or mac (or both) given; measure isp-task (a device the ISP rents out and
 *     manages) or sier-notice (a line whose devices an SIer manages); contact the ops queue or
 *     the SIer's address.
 *
 * A bad row is reported with file and line and skipped; a file without the needed header is
 * E_SESSION_LOG.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { IotcleanError } from '../../core/errors.js';
import { headerIndex, normaliseClientId, normaliseMac, splitCsvLine } from './logs/fields.js';
import type { SessionLogProblem, SubscriberKeys } from './logs/index.js';
import type { InventoryEntry, Subscriber } from './types.js';

export const subscriberHeader = ['subscriber_id', 'email', 'language', 'name', 'mac', 'client_id'] as const;
export const inventoryHeader = ['subscriber_id', 'mac', 'measure', 'contact', 'model'] as const;

const text = (max: number) => z.string().max(max).transform((s) => (s.trim() === '' ? null : s.trim()));

const subscriberRow = z.object({
  subscriber_id: z.string().trim().min(1).max(200),
  email: text(320).refine((e) => e === null || /^[^\s@]+@[^\s@]+$/.test(e), 'not an email address'),
  language: z
    .string()
    .trim()
    .toLowerCase()
    .transform((l) => (l === '' ? 'ja' : l))
    .pipe(z.enum(['ja', 'en'])),
  name: text(400),
});

const inventoryRow = z
  .object({
    subscriber_id: text(200),
    mac: z.string().transform((m, ctx) => {
      if (m.trim() === '') return null;
      const n = normaliseMac(m);
      if (n === null) ctx.addIssue({ code: 'custom', message: `"${m.slice(0, 40)}" is not a MAC` });
      return n;
    }),
    measure: z.enum(['isp-task', 'sier-notice']),
    contact: text(400),
    model: text(200),
  })
  .refine((r) => r.subscriber_id !== null || r.mac !== null, 'give subscriber_id or mac');

export interface SubscriberFile {
  readonly subscribers: readonly Subscriber[];
  readonly keys: SubscriberKeys;
}

function rows(content: string, file: string, required: readonly string[], header: readonly string[], onProblem: (p: SessionLogProblem) => void): { line: number; get: (c: string) => string }[] {
  const lines = content.split(/\r?\n/);
  let cols: Map<string, number> | undefined;
  const out: { line: number; get: (c: string) => string }[] = [];
  lines.forEach((raw, i) => {
    if (raw.trim() === '' || raw.startsWith('#')) return;
    const cells = splitCsvLine(raw.slice(0, 8192));
    if (!cells) return onProblem({ file, line: i + 1, message: 'unterminated quote' });
    if (!cols) {
      const h = headerIndex(cells);
      const missing = required.filter((c) => !h.has(c));
      if (missing.length > 0) throw new IotcleanError('E_SESSION_LOG', `header lacks ${missing.join(', ')}`, { file, line: i + 1, hint: `the first line must name the columns: ${header.join(',')}` });
      cols = h;
      return;
    }
    const c = cols;
    out.push({ line: i + 1, get: (name) => (c.has(name) ? (cells[c.get(name)!] ?? '') : '') });
  });
  return out;
}

const issue = (e: z.ZodError): string => e.issues.map((x) => `${x.path.join('.') || 'row'}: ${x.message}`).join('; ');

/** Parse a subscriber file's text. */
export function parseSubscribers(content: string, file: string, onProblem: (p: SessionLogProblem) => void = () => {}): SubscriberFile {
  const subscribers: Subscriber[] = [];
  const byMac = new Map<string, string>();
  const byClientId = new Map<string, string>();
  for (const r of rows(content, file, ['subscriber_id', 'email'], subscriberHeader, onProblem)) {
    const parsed = subscriberRow.safeParse({ subscriber_id: r.get('subscriber_id'), email: r.get('email'), language: r.get('language'), name: r.get('name') });
    if (!parsed.success) {
      onProblem({ file, line: r.line, message: issue(parsed.error) });
      continue;
    }
    const s = parsed.data;
    subscribers.push({ id: s.subscriber_id, email: s.email, language: s.language, name: s.name });
    for (const m of r.get('mac').split(/[;\s]+/).filter(Boolean)) {
      const mac = normaliseMac(m);
      if (mac === null) onProblem({ file, line: r.line, message: `mac "${m.slice(0, 40)}" is not a MAC` });
      else byMac.set(mac, s.subscriber_id);
    }
    for (const c of r.get('client_id').split(/[;\s]+/).filter(Boolean)) {
      const id = normaliseClientId(c);
      if (id !== null) byClientId.set(id, s.subscriber_id);
    }
  }
  return { subscribers, keys: { byMac, byClientId } };
}

/** Parse an inventory file's text. */
export function parseInventory(content: string, file: string, onProblem: (p: SessionLogProblem) => void = () => {}): InventoryEntry[] {
  const out: InventoryEntry[] = [];
  for (const r of rows(content, file, ['measure'], inventoryHeader, onProblem)) {
    const parsed = inventoryRow.safeParse({ subscriber_id: r.get('subscriber_id'), mac: r.get('mac'), measure: r.get('measure').trim(), contact: r.get('contact'), model: r.get('model') });
    if (!parsed.success) {
      onProblem({ file, line: r.line, message: issue(parsed.error) });
      continue;
    }
    const e = parsed.data;
    out.push({ subscriber: e.subscriber_id, mac: e.mac, measure: e.measure, contact: e.contact, model: e.model });
  }
  return out;
}

async function content(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new IotcleanError('E_SESSION_LOG', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { file: path, hint: 'check the path and its permissions' });
  }
}

/** Read a subscriber file. */
export async function readSubscriberFile(path: string, onProblem?: (p: SessionLogProblem) => void): Promise<SubscriberFile> {
  return parseSubscribers(await content(path), path, onProblem);
}

/** Read an inventory file. */
export async function readInventoryFile(path: string, onProblem?: (p: SessionLogProblem) => void): Promise<InventoryEntry[]> {
  return parseInventory(await content(path), path, onProblem);
}

/** Render subscribers as the documented CSV (the lab writes its files with this). */
export function subscribersCsv(rows: readonly (Subscriber & { readonly macs?: readonly string[] })[]): string {
  const q = (s: string | null): string => (s === null ? '' : /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return `${['subscriber_id', 'email', 'language', 'name', 'mac'].join(',')}\n${rows.map((r) => [q(r.id), q(r.email), r.language, q(r.name), (r.macs ?? []).join(';')].join(',')).join('\n')}\n`;
}

/** Render inventory entries as the documented CSV. */
export function inventoryCsv(rows: readonly InventoryEntry[]): string {
  const q = (s: string | null): string => (s === null ? '' : /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return `${inventoryHeader.join(',')}\n${rows.map((r) => [q(r.subscriber), q(r.mac), r.measure, q(r.contact), q(r.model)].join(',')).join('\n')}\n`;
}
