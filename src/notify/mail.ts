/**
 * Batches by email over real SMTP (nodemailer): one message per batch to the ISP's contact, the
 * CSV and JSON attached, a summary in Japanese and English (the contact's language first). The
 * outcome is recorded per batch: `accepted` with the server's 250 line, `rejected` when the
 * server refused the message or recipient (5xx, RFC 5321 §4.2.1), `failed` when it could not
 * be reached or timed out. Anything but accepted leaves the batch pending for the next run.
 */
import nodemailer from 'nodemailer';
import type { Readable } from 'node:stream';
import { IotcleanError } from '../core/errors.js';
import { findingKinds, type FindingKind } from '../core/records.js';
import type { BatchRow, DeliveryStatus, NotificationRepository } from '../store/notifications.js';
import type { Contact, MailLanguage } from './contacts.js';

/** One attachment: its name, type and content (text, or a stream of a file). */
export interface MailAttachment {
  readonly filename: string;
  readonly contentType: string;
  readonly content: string | Readable;
}

export interface DeliveryOutcome {
  readonly ticket: string;
  readonly target: string;
  readonly status: DeliveryStatus;
  readonly response: string | null;
}

export interface Mailer {
  send(batch: BatchRow, contact: Contact, attachments: readonly MailAttachment[]): Promise<DeliveryOutcome>;
  close(): void;
}

export interface MailerOptions {
  /** smtp://host:port (or smtps:// for TLS from the first byte). */
  readonly smtp: string;
  readonly from?: string;
  /** Where the ISP reaches the API, named in the mail. */
  readonly apiUrl?: string;
  /** Connection, greeting and socket timeouts (ms). */
  readonly timeoutMs?: number;
}

/**
 * Batches with more findings than this go without attachments (the mail says to use the API):
 * about 10 MB of CSV and JSON, below common SMTP size limits (RFC 1870 SIZE), and a retry renders
 * the attachments in memory.
 */
export const maxAttachedFindings = 20_000;

const kindNames: Readonly<Record<FindingKind, { readonly ja: string; readonly en: string }>> = {
  'weak-credential': { ja: '容易に推測されるID・パスワード', en: 'weak ID/password' },
  'firmware-vulnerability': { ja: 'ファームウェアの脆弱性', en: 'firmware vulnerability' },
  infected: { ja: 'マルウェア感染', en: 'malware infection' },
  'exposed-service': { ja: 'インターネットに公開されたサービス', en: 'service exposed to the Internet' },
  'unauthenticated-admin': { ja: '認証のない管理画面', en: 'admin interface without authentication' },
  'end-of-life': { ja: 'サポートが終了した機器', en: 'end-of-life device' },
  'c2-server': { ja: 'C&Cサーバ', en: 'C&C server' },
};

/** Parse and check an SMTP URL; E_ARGS naming what is wrong. */
export function parseSmtpUrl(text: string): { readonly host: string; readonly port: number; readonly secure: boolean } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new IotcleanError('E_ARGS', `--smtp "${text}" is not a URL`, { hint: 'write smtp://host:port, e.g. smtp://127.0.0.1:2525' });
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new IotcleanError('E_ARGS', `--smtp "${text}": the scheme must be smtp: or smtps:`, { hint: 'write smtp://host:port' });
  if (url.username || url.password || (url.pathname !== '' && url.pathname !== '/') || url.search) {
    throw new IotcleanError('E_ARGS', `--smtp "${text}": only a host and port are accepted (no user, password or path)`, { hint: 'write smtp://host:port; a relay that needs a password is set up on the relay side' });
  }
  const secure = url.protocol === 'smtps:';
  const port = url.port === '' ? (secure ? 465 : 25) : Number(url.port);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, secure };
}

/** The subject and text of a batch's mail; both languages, the contact's first. */
export function mailText(batch: BatchRow, language: MailLanguage, apiUrl?: string, attached = true): { readonly subject: string; readonly text: string } {
  const kinds = findingKinds.filter((k) => (batch.counts[k] ?? 0) > 0);
  const ja = [
    `${batch.isp} ご担当者様`,
    '',
    `IoT機器の調査で、貴社のアドレスに問題のある機器を${batch.findingCount}件確認しました。`,
    `チケット番号: ${batch.ticket}(お問い合わせの際はこの番号をお知らせください)`,
    `作成日時(UTC): ${batch.createdAt}`,
    '',
    '種別ごとの件数:',
    ...kinds.map((k) => `  ${kindNames[k].ja}: ${batch.counts[k]}件`),
    '',
    attached ? '添付ファイル: CSV(1行1件)とJSON。パスワードは含まれません。辞書のエントリIDのみ記載しています。' : `件数が多いためファイルは添付していません。APIから取得してください。パスワードは含まれません。`,
    apiUrl ? `API: ${apiUrl}/api/v1/batches/${batch.ticket} (Authorization: Bearer <貴社のトークン>)` : 'APIでも取得できます(/api/v1/batches、貴社のトークンで認証)。',
  ];
  const en = [
    `Dear ${batch.isp} abuse team,`,
    '',
    `Our IoT survey found ${batch.findingCount} problem device${batch.findingCount === 1 ? '' : 's'} in your address space.`,
    `Ticket: ${batch.ticket} (please quote it when you contact us)`,
    `Created (UTC): ${batch.createdAt}`,
    '',
    'Findings per kind:',
    ...kinds.map((k) => `  ${kindNames[k].en}: ${batch.counts[k]}`),
    '',
    attached ? 'Attached: CSV (one row per finding) and JSON. No passwords: the dictionary entry id only.' : `Too many findings to attach (over ${maxAttachedFindings}): get the files from the API. No passwords: the dictionary entry id only.`,
    apiUrl ? `API: ${apiUrl}/api/v1/batches/${batch.ticket} (Authorization: Bearer <your token>)` : 'The same data is on the API (/api/v1/batches, with your token).',
  ];
  const parts = language === 'ja' ? [ja, en] : [en, ja];
  const subject = language === 'ja' ? `[iotclean] ${batch.ticket} 問題のあるIoT機器 ${batch.findingCount}件 / ${batch.findingCount} problem IoT devices` : `[iotclean] ${batch.ticket} ${batch.findingCount} problem IoT devices / 問題のあるIoT機器 ${batch.findingCount}件`;
  return { subject, text: `${parts[0]!.join('\n')}\n\n----------------------------------------\n\n${parts[1]!.join('\n')}\n` };
}

/** An SMTP error as a delivery status: a 5xx reply is a refusal, anything else a failure to deliver. */
function outcomeOf(e: unknown): { status: DeliveryStatus; response: string } {
  const err = e as { responseCode?: number; response?: string; code?: string; message?: string };
  const response = (err.response ?? `${err.code ?? 'error'}: ${err.message ?? String(e)}`).slice(0, 1000);
  return { status: typeof err.responseCode === 'number' && err.responseCode >= 500 ? 'rejected' : 'failed', response };
}

/** An SMTP mailer (one connection per message: batches are few, and a dead relay fails fast). */
export function createMailer(options: MailerOptions): Mailer {
  const { host, port, secure } = parseSmtpUrl(options.smtp);
  const timeout = options.timeoutMs ?? 30_000;
  const transport = nodemailer.createTransport({ host, port, secure, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout, name: 'iotclean.localhost' });
  const from = options.from ?? 'iotclean <iotclean@localhost>';
  return {
    async send(batch, contact, attachments) {
      const { subject, text } = mailText(batch, contact.language, options.apiUrl, attachments.length > 0);
      try {
        const info = await transport.sendMail({
          from,
          to: contact.email,
          subject,
          text,
          headers: { 'X-Iotclean-Ticket': batch.ticket },
          attachments: attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
        });
        const accepted = (info.accepted as unknown[]).map(String).includes(contact.email);
        return { ticket: batch.ticket, target: contact.email, status: accepted ? 'accepted' : 'rejected', response: String(info.response ?? '').slice(0, 1000) || null };
      } catch (e) {
        return { ticket: batch.ticket, target: contact.email, ...outcomeOf(e) };
      }
    },
    close: () => transport.close(),
  };
}

/** What a run of deliveries did, per batch; batches of ISPs without a contact are listed apart. */
export interface DeliveryReport {
  readonly outcomes: readonly DeliveryOutcome[];
  readonly noContact: readonly string[];
}

/**
 * Mail each batch to its ISP's contact and record the outcome in the store. A batch without a
 * contact is not attempted (listed in noContact) and stays pending.
 */
export async function deliverBatches(
  rows: readonly BatchRow[],
  deps: {
    readonly mailer: Mailer;
    readonly contacts: ReadonlyMap<string, Contact>;
    readonly notifications: Pick<NotificationRepository, 'recordDelivery'>;
    readonly attachments: (row: BatchRow) => Promise<readonly MailAttachment[]>;
    readonly now?: () => Date;
  },
): Promise<DeliveryReport> {
  const outcomes: DeliveryOutcome[] = [];
  const noContact: string[] = [];
  for (const row of rows) {
    const contact = deps.contacts.get(row.isp);
    if (!contact) {
      noContact.push(row.ticket);
      continue;
    }
    const outcome = await deps.mailer.send(row, contact, await deps.attachments(row));
    await deps.notifications.recordDelivery(row.ticket, { channel: 'email', target: outcome.target, status: outcome.status, response: outcome.response, at: (deps.now?.() ?? new Date()).toISOString() });
    outcomes.push(outcome);
  }
  return { outcomes, noContact };
}
