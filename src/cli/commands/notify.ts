/**
 * `iotclean notify`: centre → ISP batches. Batches every ISP's findings since its last batch
 * (held findings are counted, never sent), writes CSV, JSON and IntelMQ files to --out, and with
 * --smtp mails each new batch, and every earlier batch whose mail was not accepted, to the ISP's
 * contact. `iotclean notify serve` answers the ISPs' API (docs/notify-format.md).
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { IotcleanError } from '../../core/errors.js';
import { createNotifyApi, serveNotifyApi } from '../../notify/api.js';
import { loadContacts, type Contact } from '../../notify/contacts.js';
import { createMailer, deliverBatches, parseSmtpUrl, type DeliveryReport } from '../../notify/mail.js';
import { batchAttachments, makeBatches, type NotifyDeps } from '../../notify/run.js';
import { loadTokens } from '../../notify/tokens.js';
import type { BatchRow } from '../../store/notifications.js';
import type { Store } from '../../store/store.js';
import { defineCommand, type Output } from '../command.js';
import { stopOnSignal, storeOption, withStore } from '../context.js';

/** --out: an existing folder, or one made there (one level only, like the default data/ folder). */
function outFolder(path: string): string {
  try {
    if (statSync(path).isDirectory()) return path;
    throw new IotcleanError('E_ARGS', `--out ${path} is not a folder`, { hint: 'give a folder for the batch files' });
  } catch (e) {
    if (e instanceof IotcleanError) throw e;
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new IotcleanError('E_ARGS', `--out ${path}: ${(e as Error).message}`, { hint: 'give a folder you can write to' });
  }
  try {
    mkdirSync(path);
  } catch (e) {
    throw new IotcleanError('E_ARGS', `cannot create --out ${path}: ${(e as Error).message}`, { hint: `create ${dirname(path)} first, or give an existing folder` });
  }
  return path;
}

export interface NotifyRunOptions {
  readonly isp?: string;
  readonly out?: string;
  readonly smtp?: string;
  readonly contacts?: ReadonlyMap<string, Contact>;
  readonly from?: string;
  readonly apiUrl?: string;
  readonly bom?: boolean;
  readonly now?: Date;
}

export interface NotifyRunReport {
  readonly batches: readonly BatchRow[];
  readonly held: number;
  readonly heldBy: Readonly<Record<string, number>>;
  readonly alreadyBatched: number;
  readonly mail: DeliveryReport | null;
}

/** The notify run behind the command, on any store with findings (tests give one in memory). */
export async function runNotify(deps: NotifyDeps, o: NotifyRunOptions): Promise<NotifyRunReport> {
  const { group, rows } = await makeBatches(deps, { ...(o.isp !== undefined ? { isp: o.isp } : {}), ...(o.out !== undefined ? { out: o.out } : {}), ...(o.now ? { now: o.now } : {}), format: { bom: o.bom === true } });
  let mail: DeliveryReport | null = null;
  if (o.smtp !== undefined && o.contacts) {
    // The new batches and every earlier one whose mail was not accepted (a retry).
    const pending = await deps.notifications.pending('email', o.isp !== undefined ? { isp: o.isp } : {});
    const mailer = createMailer({ smtp: o.smtp, ...(o.from !== undefined ? { from: o.from } : {}), ...(o.apiUrl !== undefined ? { apiUrl: o.apiUrl } : {}) });
    try {
      mail = await deliverBatches(pending, { mailer, contacts: o.contacts, notifications: deps.notifications, attachments: (row) => batchAttachments(deps.findings, row, o.out) });
    } finally {
      mailer.close();
    }
  }
  return { batches: rows, held: group.held, heldBy: group.heldBy, alreadyBatched: group.alreadyBatched, mail };
}

function reportText(r: NotifyRunReport): string {
  const lines = [`${r.batches.length} new batch(es); ${r.held} held finding(s) not sent${r.held ? ` (${Object.entries(r.heldBy).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}; ${r.alreadyBatched} already batched`];
  for (const b of r.batches) lines.push(`  ${b.ticket}  ${b.isp}  ${b.findingCount} finding(s)  ${Object.entries(b.counts).map(([k, v]) => `${k} ${v}`).join(', ')}${b.files.length ? `  files: ${b.files.map((f) => f.name).join(' ')}` : ''}`);
  if (r.mail) {
    for (const d of r.mail.outcomes) lines.push(`  mail ${d.ticket} → ${d.target}: ${d.status}${d.response ? ` (${d.response})` : ''}`);
    for (const t of r.mail.noContact) lines.push(`  mail ${t}: no contact for its ISP in --contacts; left pending`);
  }
  return lines.join('\n');
}

export const notifyServeCommand = defineCommand({
  name: 'serve',
  description: "Serve the ISPs' notification API (batches, findings) to holders of a token in --tokens; 127.0.0.1 by default.",
  options: {
    tokens: { type: 'string', value: 'FILE', description: 'API tokens file: isp_id,sha256 of the token per line (required)' },
    host: { type: 'string', value: 'ADDR', description: 'address to listen on', default: '127.0.0.1' },
    port: { type: 'number', value: 'N', integer: true, min: 0, max: 65535, description: 'port to listen on (0: any free port)', default: 8720 },
    ...storeOption,
  },
  async run(o, _args, out: Output) {
    if (o.tokens === undefined) throw new IotcleanError('E_ARGS', 'notify serve needs --tokens FILE', { hint: 'see docs/notify-format.md for the tokens file' });
    const tokens = await loadTokens(o.tokens);
    const stop = stopOnSignal();
    try {
      return await withStore(o.db, async (store) => {
        const findings = store.findings;
        const app = createNotifyApi({ source: (isp, filter) => findings.list({ ...filter, isp }), batches: store.notifications, tokens });
        const api = await serveNotifyApi(app, { host: o.host, port: o.port });
        out.result(`notify API on ${api.url} for ${new Set(tokens.map((t) => t.isp)).size} ISP(s); Ctrl-C stops it`, { url: api.url, isps: [...new Set(tokens.map((t) => t.isp))] });
        await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
        await api.close();
        return 0;
      });
    } finally {
      stop.done();
    }
  },
});

export const notifyCommand = defineCommand({
  name: 'notify',
  description: 'Make per-ISP batches of the findings since the last batch (CSV, JSON, IntelMQ in --out), mail them with --smtp; notify serve: the ISP API.',
  options: {
    isp: { type: 'string', value: 'ID', description: 'batch and mail only this ISP' },
    out: { type: 'string', value: 'DIR', description: 'folder for the batch files (made if missing); without it no files are written' },
    smtp: { type: 'string', value: 'URL', description: 'mail the batches through this SMTP relay, smtp://host:port (needs --contacts)' },
    contacts: { type: 'string', value: 'FILE', description: 'ISP contacts for mail: isp_id,email,language (ja|en) per line' },
    from: { type: 'string', value: 'ADDR', description: 'sender of the mail', default: 'iotclean <iotclean@localhost>' },
    'api-url': { type: 'string', value: 'URL', description: 'where ISPs reach the notify API, named in the mail' },
    bom: { type: 'boolean', description: 'start CSV files with a UTF-8 byte order mark (for Excel)', default: false },
    ...storeOption,
  },
  subcommands: [notifyServeCommand] as never[],
  async run(o, _args, out) {
    if (o.smtp !== undefined) parseSmtpUrl(o.smtp);
    if (o.smtp !== undefined && o.contacts === undefined) throw new IotcleanError('E_ARGS', '--smtp needs --contacts FILE (who receives each ISP\'s batch)', { hint: 'see docs/notify-format.md for the contacts file' });
    if (o.contacts !== undefined && o.smtp === undefined) throw new IotcleanError('E_ARGS', '--contacts is for mail: give --smtp smtp://host:port too', { hint: 'or drop --contacts to only make batch files' });
    const contacts = o.contacts !== undefined ? await loadContacts(o.contacts) : undefined;
    const dir = o.out !== undefined ? outFolder(o.out) : undefined;
    return withStore(o.db, async (store) => {
      const report = await runNotify(
        { findings: store.findings, notifications: store.notifications },
        { ...(o.isp !== undefined ? { isp: o.isp } : {}), ...(dir !== undefined ? { out: dir } : {}), ...(o.smtp !== undefined ? { smtp: o.smtp } : {}), ...(contacts ? { contacts } : {}), from: o.from, ...(o['api-url'] !== undefined ? { apiUrl: o['api-url'] } : {}), bom: o.bom },
      );
      out.result(reportText(report), report);
      const undelivered = report.mail ? report.mail.outcomes.filter((d) => d.status !== 'accepted').length + report.mail.noContact.length : 0;
      // 3: done, but some mail is still pending (a script can retry); errors stay 2.
      return undelivered > 0 ? 3 : 0;
    });
  },
});
