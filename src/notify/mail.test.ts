/**
 * Mail over real SMTP: a real smtp-server receives on 127.9x, mailparser reads what arrived. ISP
 * A's mail holds only ISP A's findings; the Japanese text decodes; CSV and JSON are attached; no
 * password; a refused recipient is recorded as rejected with the server's reply and stays pending,
 * a dead relay as failed, and the next delivery of pending batches records the acceptance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import type { Finding } from '../core/records.js';
import { createRng } from '../core/rng.js';
import type { FindingFilter, FindingRepository } from '../findings/types.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { parseContacts } from './contacts.js';
import { createMailer, deliverBatches, parseSmtpUrl } from './mail.js';
import { batchAttachments, makeBatches } from './run.js';
import { finding, parseCsv } from './test-support.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-notify-mail-'));
const rng = createRng(`notify-mail-${process.pid}`);
const host = `127.${90 + rng.int(10)}.${rng.int(256)}.2`;
const secret = 'pa55w0rd-never-sent';

/** Findings of two ISPs and held ones; B's carry a marker that must never reach A. */
const all: Finding[] = Array.from({ length: 40 }, (_, i) => {
  const id = i + 1;
  const isp = id % 4 === 0 ? 'ispb' : id % 9 === 0 ? null : 'ispa';
  return finding(isp, id, { details: { entry: `mirai-${id}`, password: secret }, ...(isp === 'ispb' ? { device: { type: 'dvr', vendor: 'OnlyB', model: 'B-ONLY', firmware: null } } : {}) });
});

/** The findings repository contract, in memory (the store's arrives at merge). */
function memoryFindings(list: readonly Finding[]): Pick<FindingRepository, 'list'> {
  return {
    async *list(filter: FindingFilter = {}) {
      for (const f of list) {
        if (filter.isp !== undefined && f.isp !== filter.isp) continue;
        if (filter.afterId !== undefined && (f.id ?? 0) <= filter.afterId) continue;
        yield f;
      }
    },
  };
}

interface Received {
  readonly to: string[];
  readonly mail: ParsedMail;
}
const inbox: Received[] = [];
let refuse = new Set<string>();
let smtp: SMTPServer;
let port = 0;
let deadPort = 0;
let store: Store;

function listen(server: SMTPServer, p = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(p, host, () => resolve((server.server.address() as { port: number }).port));
  });
}

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    size: 10 << 20,
    onRcptTo(address, _session, cb) {
      if (refuse.has(address.address)) return cb(Object.assign(new Error('5.1.1 mailbox unavailable'), { responseCode: 550 }));
      cb();
    },
    onData(stream, session, cb) {
      simpleParser(stream).then(
        (mail) => {
          inbox.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
          cb();
        },
        (e: Error) => cb(e),
      );
    },
  });
  port = await listen(smtp);
  // A port where nothing listens: a server opened and closed again.
  const gone = new SMTPServer({ logger: false, authOptional: true });
  deadPort = await listen(gone);
  await new Promise<void>((r) => gone.close(() => r()));
  store = await openStore(join(dir, 'mail.db'));
}, 60_000);

afterAll(async () => {
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const contacts = parseContacts('isp_id,email,language\nispa,abuse@ispa.example,ja\nispb,noc@ispb.example,en\n');

describe('notification mail over SMTP', () => {
  it('sends one message per batch with only that ISP\'s findings, both languages, CSV and JSON attached', async () => {
    const findings = memoryFindings(all);
    const out = mkdtempSync(join(dir, 'out-'));
    const { rows, group } = await makeBatches({ findings, notifications: store.notifications }, { out, now: new Date('2026-12-01T10:00:00Z') });
    expect(group.held).toBe(3);
    const mailer = createMailer({ smtp: `smtp://${host}:${port}`, apiUrl: 'http://127.0.0.1:8720' });
    refuse = new Set(['noc@ispb.example']);
    try {
      const report = await deliverBatches(rows, { mailer, contacts, notifications: store.notifications, attachments: (r) => batchAttachments(findings, r, out) });
      expect(report.outcomes.map((o) => [o.ticket, o.status])).toEqual([
        ['IOTC-20261201-ispa-0001', 'accepted'],
        ['IOTC-20261201-ispb-0001', 'rejected'],
      ]);
      expect(report.outcomes[1]!.response).toContain('550');
    } finally {
      mailer.close();
    }
    expect(inbox).toHaveLength(1);
    const { to, mail } = inbox[0]!;
    expect(to).toEqual(['abuse@ispa.example']);
    expect(mail.subject).toContain('IOTC-20261201-ispa-0001');
    expect(mail.subject).toContain('問題のあるIoT機器');
    expect(mail.text).toContain('チケット番号: IOTC-20261201-ispa-0001');
    expect(mail.text).toContain('容易に推測されるID・パスワード');
    expect(mail.text).toContain('Ticket: IOTC-20261201-ispa-0001');
    // Japanese first for a ja contact.
    expect(mail.text!.indexOf('チケット番号')).toBeLessThan(mail.text!.indexOf('Ticket:'));
    expect(mail.headers.get('x-iotclean-ticket')).toBe('IOTC-20261201-ispa-0001');
    expect(mail.attachments.map((a) => a.filename)).toEqual(['IOTC-20261201-ispa-0001.csv', 'IOTC-20261201-ispa-0001.json']);
    const csv = parseCsv(mail.attachments[0]!.content.toString('utf8'));
    const ispCol = csv[0]!.indexOf('isp');
    const idCol = csv[0]!.indexOf('finding_id');
    expect(csv.slice(1).map((r) => Number(r[idCol]))).toEqual(all.filter((f) => f.isp === 'ispa').map((f) => f.id));
    expect(csv.slice(1).every((r) => r[ispCol] === 'ispa')).toBe(true);
    const json = JSON.parse(mail.attachments[1]!.content.toString('utf8')) as { findings: Finding[] };
    expect(json.findings.every((f) => f.isp === 'ispa')).toBe(true);
    const everything = `${mail.subject}\n${mail.text}\n${mail.attachments.map((a) => a.content.toString('utf8')).join('\n')}`;
    expect(everything).not.toContain('B-ONLY');
    expect(everything).not.toContain(secret);
    expect(everything).toContain('mirai-1');
    // The rejection is stored; the batch stays pending; A's is not.
    const b = await store.notifications.get('IOTC-20261201-ispb-0001');
    expect(b!.deliveries[0]).toMatchObject({ channel: 'email', target: 'noc@ispb.example', status: 'rejected', attempts: 1, deliveredAt: null });
    expect((await store.notifications.pending('email')).map((r) => r.ticket)).toEqual(['IOTC-20261201-ispb-0001']);
  });

  it('records a dead relay as failed, then delivers the pending batch on retry (rendered from the findings)', async () => {
    const findings = memoryFindings(all);
    const dead = createMailer({ smtp: `smtp://${host}:${deadPort}`, timeoutMs: 10_000 });
    try {
      const r = await deliverBatches(await store.notifications.pending('email'), { mailer: dead, contacts, notifications: store.notifications, attachments: (row) => batchAttachments(findings, row) });
      expect(r.outcomes.map((o) => o.status)).toEqual(['failed']);
      expect(r.outcomes[0]!.response).toMatch(/ECONNREFUSED|ECONNECTION|connect/i);
    } finally {
      dead.close();
    }
    refuse = new Set();
    const live = createMailer({ smtp: `smtp://${host}:${port}` });
    try {
      const r = await deliverBatches(await store.notifications.pending('email'), { mailer: live, contacts, notifications: store.notifications, attachments: (row) => batchAttachments(findings, row) });
      expect(r.outcomes.map((o) => [o.ticket, o.status])).toEqual([['IOTC-20261201-ispb-0001', 'accepted']]);
      expect(r.outcomes[0]!.response).toMatch(/^250/);
    } finally {
      live.close();
    }
    const b = await store.notifications.get('IOTC-20261201-ispb-0001');
    expect(b!.deliveries[0]).toMatchObject({ status: 'accepted', attempts: 3 });
    expect(await store.notifications.pending('email')).toEqual([]);
    const mailB = inbox.at(-1)!;
    expect(mailB.to).toEqual(['noc@ispb.example']);
    expect(mailB.mail.text!.indexOf('Ticket:')).toBeLessThan(mailB.mail.text!.indexOf('チケット番号'));
    const csv = parseCsv(mailB.mail.attachments[0]!.content.toString('utf8'));
    expect(csv.slice(1).map((row) => Number(row[csv[0]!.indexOf('finding_id')]))).toEqual(all.filter((f) => f.isp === 'ispb').map((f) => f.id));
  });

  it('leaves a batch of an ISP without a contact pending, unattempted', async () => {
    const findings = memoryFindings([finding('ispc', 100)]);
    const { rows } = await makeBatches({ findings, notifications: store.notifications }, { now: new Date('2026-12-02T00:00:00Z') });
    const mailer = createMailer({ smtp: `smtp://${host}:${port}` });
    try {
      const r = await deliverBatches(rows, { mailer, contacts, notifications: store.notifications, attachments: (row) => batchAttachments(findings, row) });
      expect(r).toEqual({ outcomes: [], noContact: ['IOTC-20261202-ispc-0001'] });
    } finally {
      mailer.close();
    }
    expect((await store.notifications.pending('email')).map((b) => b.ticket)).toEqual(['IOTC-20261202-ispc-0001']);
  });

  it('sends a batch too large to attach without files, pointing to the API', async () => {
    const findings = memoryFindings(Array.from({ length: 5 }, (_, i) => finding('ispa', 200 + i)));
    const { rows } = await makeBatches({ findings, notifications: store.notifications }, { now: new Date('2026-12-03T00:00:00Z') });
    const mailer = createMailer({ smtp: `smtp://${host}:${port}` });
    const before = inbox.length;
    try {
      const r = await deliverBatches(rows, { mailer, contacts, notifications: store.notifications, attachments: (row) => batchAttachments(findings, row, undefined, 4) });
      expect(r.outcomes.map((o) => o.status)).toEqual(['accepted']);
    } finally {
      mailer.close();
    }
    const { mail } = inbox[before]!;
    expect(mail.attachments).toEqual([]);
    expect(mail.text).toContain('get the files from the API');
    expect(mail.text).toContain('APIから取得してください');
  });
});

describe('contacts file and SMTP URL', () => {
  it.each([
    ['ispa,not-an-address,ja', 1, 'email'],
    ['ispa,a@b.example,fr', 1, 'language'],
    ['ispa,a@b.example', 1, 'fields'],
    ['# c\nispa,a@b.example,ja\nispa,c@d.example,en', undefined, 'twice'],
    ['isp a,a@b.example,ja', 1, 'isp_id'],
    ['ispa,"a@b.example, x@y.example",ja', 1, 'email'],
    ['ispa,"a@b.example\r\nBcc: x@y.example",ja', 1, 'quote'],
  ])('refuses %j', (text, line, word) => {
    let err: unknown;
    try {
      parseContacts(text, 'contacts.csv');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IotcleanError);
    expect((err as IotcleanError).code).toBe('E_ARGS');
    expect((err as IotcleanError).message).toContain(word);
    if (line !== undefined) expect((err as IotcleanError).where.line).toBe(line);
  });

  it('reads a valid file with comments and a header', () => {
    expect([...parseContacts('# contacts\nisp_id,email,language\n\nispa,abuse@ispa.example,ja\n').values()]).toEqual([{ isp: 'ispa', email: 'abuse@ispa.example', language: 'ja' }]);
  });

  it.each(['http://127.0.0.1:25', 'smtp://user:pw@127.0.0.1:25', 'not a url', 'smtp://127.0.0.1:25/path'])('refuses --smtp %s', (url) => {
    expect(() => parseSmtpUrl(url)).toThrow(IotcleanError);
  });

  it('reads smtp:// and smtps:// with default ports', () => {
    expect(parseSmtpUrl('smtp://127.0.0.1')).toEqual({ host: '127.0.0.1', port: 25, secure: false });
    expect(parseSmtpUrl('smtps://127.0.0.1:4650')).toEqual({ host: '127.0.0.1', port: 4650, secure: true });
  });
});
