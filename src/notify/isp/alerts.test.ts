/**
 * Alerts end to end over real SMTP: a real smtp-server on 127.10x receives, mailparser reads. The
 * right recipient per measure (an ISP task never reaches the subscriber), the right language and
 * time zone, the reference and manual link present, device text inserted as plain text, no
 * password; a refused delivery does not count; templates are checked when loaded.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IotcleanError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { composeAlert, fill, formatSeenAt, loadAlertTemplates, manualBaseUrl, parseTemplate, sendDueAlerts, smtpTransport, taskFileTransport, type AlertContext, type AlertRunOptions } from './alerts.js';
import { openCase } from './cases.js';
import { intakeMatches, type RoutedMatch } from './intake.js';
import { startTestSmtp, testFinding, testMatch } from './test-support.js';
import type { Subscriber } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-alerts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const t0 = '2026-12-01T03:04:00.000Z';
const secret = 'xyzzy-Secret-42';
const hostileModel = '{{reference}}<script>alert(1)</script>\r\nBcc: evil@attacker.test\u0000';
const subscribers: Record<string, Subscriber> = {
  'sub-ja': { id: 'sub-ja', email: 'hanako@home-ja.test', language: 'ja', name: '山田 花子' },
  'sub-en': { id: 'sub-en', email: 'john@home-en.test', language: 'en', name: 'John Smith' },
  'sub-rent': { id: 'sub-rent', email: 'renter@home-rent.test', language: 'ja', name: '佐藤' },
  'sub-corp': { id: 'sub-corp', email: 'it@corp.test', language: 'en', name: 'Corp KK' },
  'sub-bounce': { id: 'sub-bounce', email: 'gone@home-ja.test', language: 'ja', name: null },
};
const context: AlertContext = {
  ispName: 'ISP-A 光',
  desk: { ja: 'サポートデスク 0120-000-000', en: 'Support desk +81-3-0000-0000' },
  manualBase: manualBaseUrl('https://notice.example.test/'),
  manualFor: (d) => (d.model === 'AR-100' ? 'acme-ar-100' : null),
};

function routed(subscriber: string, ip: string, over: Partial<RoutedMatch> = {}, model = 'AR-100'): RoutedMatch {
  const f = testFinding(ip, 23, t0, { device: { type: 'router', vendor: 'Acme', model, firmware: '1.0' }, details: { entry: 'default-0007', password: secret } });
  return { match: testMatch(subscriber, f), measure: 'subscriber-alert', contact: null, ticket: 'IOTC-20261201-ispa-0001', ...over };
}

describe('alerts over real SMTP', () => {
  let store: Store;
  let smtp: Awaited<ReturnType<typeof startTestSmtp>>;
  let n = 0;
  beforeEach(async () => {
    store = await openStore(join(dir, `a${n++}.db`));
    smtp = await startTestSmtp(['gone@home-ja.test']);
  });
  afterEach(async () => {
    await store.close();
    await smtp.close();
  });

  const run = (over: Partial<AlertRunOptions> = {}): AlertRunOptions => ({
    now: '2026-12-01T06:00:00.000Z',
    by: 'iotclean isp alert',
    reAlertAfterMs: 7 * 86_400_000,
    templates: loadAlertTemplates(),
    context,
    subscriber: (id) => subscribers[id],
    mail: smtpTransport(smtp.url, 'abuse@isp-a.test'),
    opsContact: 'noc@isp-a.test',
    ...over,
  });

  it('sends each measure to the right recipient in the right language, and records delivery', async () => {
    await intakeMatches(
      store,
      [
        routed('sub-ja', '127.100.1.1', {}, hostileModel),
        routed('sub-en', '127.100.1.2'),
        routed('sub-rent', '127.100.1.3', { measure: 'isp-task', contact: 'rental-ops@isp-a.test' }),
        routed('sub-corp', '127.100.1.4', { measure: 'sier-notice', contact: 'SIer Co <soc@sier.test>' }),
        routed('sub-bounce', '127.100.1.5'),
      ],
      { step: { at: t0, by: 'iotclean isp match' }, controlShare: 0 },
    );
    const o = run();
    const rows = await sendDueAlerts(store, o);
    o.mail.close();
    const byTo = new Map(smtp.received.map((r) => [r.envelopeTo.join(','), r.mail]));
    expect([...byTo.keys()].sort()).toEqual(['hanako@home-ja.test', 'john@home-en.test', 'rental-ops@isp-a.test', 'soc@sier.test']);
    // The rented device's subscriber gets nothing: the ISP fixes it itself.
    expect(smtp.received.some((r) => r.envelopeTo.includes('renter@home-rent.test'))).toBe(false);

    const ja = byTo.get('hanako@home-ja.test')!;
    const jaCase = (await store.cases.find('sub-ja', 'weak-credential', 23))!;
    expect(ja.subject).toContain(jaCase.reference);
    expect(ja.text).toContain(`受付番号 ${jaCase.reference}`);
    expect(ja.text).toContain('山田 花子 様');
    expect(ja.text).toContain('2026年12月1日 12:04（日本時間）');
    expect(ja.text).toContain('ID・パスワード');
    // The hostile model is printed as plain text: its "{{reference}}" is not expanded, no header made.
    expect(ja.text).toContain('Acme {{reference}}<script>alert(1)</script> Bcc: evil@attacker.t…');
    expect(ja.bcc).toBeUndefined();
    expect(ja.html).toBe(false);
    expect(ja.text).toContain('この機種の個別の手順はまだありません');
    // No manual key for the hostile model: the support link carries the reference only.
    expect(ja.text).toMatch(/https:\/\/notice\.example\.test\/support\/new\?ref=IOTC-\d{4}-\d{6}\n/);

    const en = byTo.get('john@home-en.test')!;
    const enCase = (await store.cases.find('sub-en', 'weak-credential', 23))!;
    expect(en.subject).toContain(`ref. ${enCase.reference}`);
    expect(en.text).toContain('When: 2026-12-01 03:04 UTC');
    expect(en.text).toContain('https://notice.example.test/manuals/acme-ar-100');
    expect(en.text).toContain(`https://notice.example.test/support/new?ref=${enCase.reference}&model=acme-ar-100`);
    expect(en.text).toContain('Dear John Smith,');
    expect(en.text).not.toMatch(/[ぁ-ん]/);

    expect(byTo.get('rental-ops@isp-a.test')!.subject).toMatch(/^\[作業依頼\]/);
    expect(byTo.get('soc@sier.test')!.text).toContain('SIer Co <soc@sier.test>');
    for (const r of smtp.received) {
      expect(r.mail.text).not.toContain(secret);
      expect(r.mail.text).not.toContain('default-0007');
    }

    const bounce = rows.find((r) => r.recipient === 'gone@home-ja.test')!;
    expect(bounce.delivered).toBe(false);
    expect(bounce.response).toMatch(/550/);
    const bounced = (await store.cases.find('sub-bounce', 'weak-credential', 23))!;
    expect(bounced.state).toBe('new');
    expect(bounced.alertsDelivered).toBe(0);
    expect((await store.cases.alerts(bounced.reference)).map((a) => a.delivered)).toEqual([false]);
    expect(jaCase.state).toBe('alerted');
    expect(jaCase.alertsDelivered).toBe(1);
    const evidence = await store.cases.alerts(jaCase.reference);
    expect(evidence[0]!.response).toMatch(/^250/);
    expect(evidence[0]!.language).toBe('ja');

    // Nothing is due again until the wait has passed.
    const again = run();
    expect((await sendDueAlerts(store, again)).filter((r) => r.delivered).length).toBe(1 - 1);
    again.mail.close();
  });

  it('writes ISP tasks as files when asked, and holds control cases back', async () => {
    await intakeMatches(store, [routed('sub-rent', '127.100.2.3', { measure: 'isp-task', contact: null })], { step: { at: t0, by: 't' }, controlShare: 0 });
    await intakeMatches(store, [routed('sub-ja', '127.100.2.1')], { step: { at: t0, by: 't' }, controlShare: 1 });
    const tasks = join(dir, `tasks-${n}`);
    const o = run({ tasks: taskFileTransport(tasks) });
    const rows = await sendDueAlerts(store, o);
    o.mail.close();
    expect(smtp.received).toEqual([]);
    expect(rows.length).toBe(1);
    const files = readdirSync(tasks);
    expect(files).toEqual([`${rows[0]!.reference}.txt`]);
    expect(readFileSync(join(tasks, files[0]!), 'utf8')).toContain('お客様への連絡は不要です');
    expect((await store.cases.find('sub-ja', 'weak-credential', 23))!.control).toBe(true);
  });
});

describe('templates', () => {
  it('refuses an unknown placeholder, naming the file, line and placeholder', () => {
    const own = mkdtempSync(join(dir, 'own-'));
    writeFileSync(join(own, 'subscriber-alert.en.txt'), 'Subject: hi {{reference}}\n\nHello\nyour {{password}} here\n');
    try {
      loadAlertTemplates(own);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(IotcleanError);
      const err = e as IotcleanError;
      expect(err.code).toBe('E_TEMPLATE');
      expect(err.where.file).toBe(join(own, 'subscriber-alert.en.txt'));
      expect(err.where.line).toBe(4);
      expect(err.message).toContain('{{password}}');
    }
    expect(() => parseTemplate('x.txt', 'no subject\n\nbody')).toThrow(/Subject/);
    expect(() => parseTemplate('x.txt', 'Subject: s\n\nbody {{reference')).toThrow(/unbalanced/);
  });

  it("uses the operator's file where there is one and the shipped ones elsewhere", () => {
    const own = mkdtempSync(join(dir, 'own-'));
    writeFileSync(join(own, 'subscriber-alert.en.txt'), 'Subject: Case {{reference}}\n\nOur own text for {{name}}.\n');
    const t = loadAlertTemplates(own);
    expect(t.templates['subscriber-alert'].en.body).toBe('Our own text for {{name}}.\n');
    expect(t.templates['subscriber-alert'].ja.body).toContain('受付番号');
    writeFileSync(join(own, 'kinds.yaml'), 'weak-credential: {}\n');
    expect(() => loadAlertTemplates(own)).toThrow(/kinds.yaml|weak-credential/);
  });

  it('formats JST without DST, across the date line', () => {
    expect(formatSeenAt('2026-12-31T15:30:00.000Z', 'ja')).toBe('2027年1月1日 00:30（日本時間）');
    expect(formatSeenAt('2026-12-31T15:30:00.000Z', 'en')).toBe('2026-12-31 15:30 UTC');
    expect(fill('{{reference}}-{{ name }}', { reference: '{{name}}', name: 'x' } as never)).toBe('{{name}}-x');
  });

  it('template parsing returns a template or E_TEMPLATE on random text (seeded fuzz)', () => {
    const rng = createRng('template-fuzz');
    const parts = ['Subject: ', '\n', '\r\n', '{{', '}}', '{{reference}}', '{{ name }}', '{{nope}}', 'x', '{', '}', '\u0000', '\uFEFF', '😀'];
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: rng.int(40) }, () => rng.pick(parts)).join('');
      try {
        parseTemplate('fuzz.txt', text);
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(IotcleanError);
        expect((e as IotcleanError).code).toBe('E_TEMPLATE');
      }
    }
    expect(ok).toBeGreaterThan(0);
  });

  it('survives random device text (seeded fuzz): plain one-line subject, never throws', () => {
    const t = loadAlertTemplates();
    const rng = createRng('alerts-fuzz');
    const alphabet = ['{', '}', '{{', '}}', '\r', '\n', '\u0000', '\u202e', '\uD800', '😀', '<', 'é', 'a', ' ', 'Subject:', '%', '$&', '$1'];
    for (let i = 0; i < 2000; i++) {
      const s = Array.from({ length: rng.int(80) }, () => rng.pick(alphabet)).join('');
      const f = testFinding('127.100.9.9', rng.int(2) ? 23 : null, t0, { device: { type: null, vendor: s, model: s.slice(3), firmware: rng.int(2) ? s : null } });
      const c = openCase({ reference: 'IOTC-2026-000001', match: testMatch(s || 'x', f), measure: rng.pick(['subscriber-alert', 'isp-task', 'sier-notice'] as const), control: false, ticket: null, step: { at: t0, by: 't' }, contact: s });
      const m = composeAlert(t, c, { address: 'a@b.test', language: rng.int(2) ? 'ja' : 'en', name: s }, context);
      expect(m.subject).not.toMatch(/[\r\n\u0000]/);
      expect(m.text).toContain('IOTC-2026-000001');
    }
  });
});
