/**
 * Issue 9 end to end on the lab, through `iotclean demo`: the survey's findings reach each ISP by
 * real SMTP (only its own), each ISP matches them to the subscriber who held the address (DHCP
 * reassignments and CGNAT ports included), alerts subscribers in their language, turns rented
 * routers into ISP tasks, and the weekly re-scans (real logins against the lab after the owners
 * acted) close fixed cases, re-alert and escalate persisting ones.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../src/core/records.js';
import { labDown, labStatus } from '../src/lab/runtime.js';
import type { LabHolding } from '../src/lab/subscribers.js';
import type { TrackedCase } from '../src/notify/isp/cases.js';
import { openStore } from '../src/store/open.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-notice-'));
const lab = join(dir, 'lab');
const db = join(dir, 'iotclean.db');
const notice = join(dir, 'demo-notice');

interface Mail {
  readonly to: string;
  readonly parsed: ParsedMail;
}

let demo: { notice: { weeks: { fixed: number; stillWeak: number; realerted: number }[]; escalated: number; batches: { ticket: string; isp: string; findings: number; delivered: boolean }[] } };
let mails: Mail[] = [];
const cases = new Map<string, TrackedCase[]>();

beforeAll(async () => {
  const r = await runCli(['demo', '--devices', '300', '--network', '127.87.0.0/16', '--dir', lab, '--db', db, '--weeks', '3', '--json']);
  expect(r.code, r.stderr).toBe(0);
  demo = JSON.parse(r.stdout);
  const files = readdirSync(join(notice, 'mail')).filter((f) => f.endsWith('.eml'));
  mails = await Promise.all(
    files.map(async (f) => {
      const parsed = await simpleParser(readFileSync(join(notice, 'mail', f)));
      const to = Array.isArray(parsed.to) ? parsed.to[0]!.value[0]!.address! : parsed.to!.value[0]!.address!;
      return { to, parsed };
    }),
  );
  for (const f of readdirSync(notice).filter((n) => /^isp-.*\.db$/.test(n))) {
    const store = await openStore(join(notice, f), { readOnly: true });
    try {
      cases.set(f.slice(4, -3), await store.cases.list());
    } finally {
      await store.close();
    }
  }
}, 600_000);

afterAll(async () => {
  if (labStatus(lab).running) await labDown(lab);
  rmSync(dir, { recursive: true, force: true });
});

/** subscriber_id → language, from an ISP's own subscriber file. */
function languages(isp: string): Map<string, { email: string; language: string }> {
  const text = readFileSync(join(notice, 'isp-files', isp, 'subscribers.csv'), 'utf8');
  const [head, ...rows] = text.trim().split('\n');
  const cols = head!.split(',');
  const at = (name: string) => cols.indexOf(name);
  return new Map(rows.filter((l) => l && !l.startsWith('#')).map((l) => l.split(',')).map((c) => [c[at('subscriber_id')]!, { email: c[at('email')]!, language: c[at('language')]! }]));
}

const japanese = /[\u3040-\u30ff\u4e00-\u9faf]/;

describe('the notification loop on the lab (iotclean demo)', () => {
  it("mails each ISP its own findings only, as a batch", async () => {
    expect(demo.notice.batches.length).toBeGreaterThanOrEqual(2);
    for (const b of demo.notice.batches) {
      expect(b.delivered, b.ticket).toBe(true);
      const mail = mails.find((m) => m.to === `abuse@${b.isp}.lab.invalid` && m.parsed.headers.get('x-iotclean-ticket') === b.ticket);
      expect(mail, `batch mail of ${b.ticket}`).toBeDefined();
      const json = mail!.parsed.attachments.find((a) => a.filename?.endsWith('.json'));
      expect(json, 'JSON attachment').toBeDefined();
      const findings = (JSON.parse(json!.content.toString('utf8')) as { findings: Finding[] }).findings;
      expect(findings).toHaveLength(b.findings);
      expect(findings.filter((f) => f.isp !== b.isp)).toEqual([]);
      expect(json!.content.toString('utf8')).not.toMatch(/"password"/);
    }
  });

  it('matches every case to the subscriber who held the address then, and alerts in their language', () => {
    const holdings = JSON.parse(readFileSync(join(notice, 'subscriber-truth.json'), 'utf8')) as LabHolding[];
    let checked = 0;
    for (const [isp, list] of cases) {
      const subs = languages(isp);
      for (const c of list) {
        const at = Date.parse(c.openedAt);
        const held = holdings.filter((h) => h.ip === c.lastIp && h.from <= at && (h.to === null || at < h.to) && (h.portFirst === null || (c.port !== null && h.portFirst <= c.port && c.port <= h.portLast!)));
        expect(held.map((h) => h.subscriber), `${c.reference} ${c.lastIp}:${c.port}`).toEqual([c.subscriber]);
        const toSubscriber = mails.filter((m) => m.parsed.headers.get('x-iotclean-reference') === c.reference && m.to === subs.get(c.subscriber)?.email);
        if (c.measure === 'subscriber-alert' && !c.control) {
          expect(toSubscriber.length, `alert for ${c.reference}`).toBeGreaterThan(0);
          const lang = subs.get(c.subscriber)!.language;
          for (const m of toSubscriber) expect(japanese.test(m.parsed.text ?? ''), `${c.reference} in ${lang}`).toBe(lang === 'ja');
          checked++;
        }
        if (c.measure === 'isp-task') {
          // The ISP fixes the router it rents out: never mail to the subscriber.
          expect(toSubscriber, `${c.reference} is an ISP task`).toEqual([]);
          expect(mails.some((m) => m.parsed.headers.get('x-iotclean-reference') === c.reference && m.to.startsWith('ops@')), `task of ${c.reference}`).toBe(true);
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
    const all = [...cases.values()].flat();
    expect(all.some((c) => c.measure === 'isp-task')).toBe(true);
  });

  it('closes a case only when the real re-scan no longer logs in, and re-alerts and escalates the rest', async () => {
    const weeks = demo.notice.weeks;
    expect(weeks.reduce((n, w) => n + w.fixed, 0)).toBeGreaterThan(0);
    expect(weeks.at(-1)!.stillWeak).toBeGreaterThan(0);
    expect(demo.notice.escalated).toBeGreaterThan(0);
    const centre = await openStore(db);
    try {
      const rescans: { ip: string; port: number; verdict: string }[] = [];
      for await (const r of centre.access.list(null)) rescans.push({ ip: r.ip, port: r.port, verdict: r.verdict });
      const weak = [...cases.values()].flat().filter((c) => c.findingKind === 'weak-credential');
      const fixed = weak.filter((c) => c.state === 'fixed');
      expect(fixed.length).toBeGreaterThan(0);
      for (const c of fixed) {
        const results = rescans.filter((r) => r.ip === c.lastIp && r.port === c.port);
        expect(results.length, `${c.reference} was re-scanned`).toBeGreaterThan(0);
        expect(results.filter((r) => r.verdict === 'weak-credential'), `${c.reference}: the last re-scan no longer logs in`).toEqual([]);
      }
      const persisting = weak.filter((c) => c.transitions.some((t) => t.to === 'persisting'));
      expect(persisting.length).toBeGreaterThan(0);
      for (const c of persisting) expect(c.transitions.some((t) => t.to === 're-alerted'), `${c.reference} re-alerted`).toBe(true);
    } finally {
      await centre.close();
    }
  });
});
