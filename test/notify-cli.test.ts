/**
 * The command-line chain an ISP and the centre script, run one command after another as spawned
 * CLI processes on real store files, with a real SMTP server (smtp-server on 127.120–124.x)
 * receiving and mailparser reading: the centre batches findings of two ISPs and mails them, a
 * second run makes nothing new, the notify API gives ISP A its batches only; the ISP imports its
 * session logs, pipes `isp match --json` into `isp alert`, applies re-scans, re-alerts a week
 * later and lists the escalation and the remediation curve.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../src/core/records.js';
import { openStore } from '../src/store/open.js';
import { cliArgv, repoRoot, runCli, startCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-notifycli-'));
const centreDb = join(dir, 'centre.db');
const ispDb = join(dir, 'isp-a.db');
const out = join(dir, 'batches');

interface Received {
  readonly to: readonly string[];
  readonly mail: ParsedMail;
}
const received: Received[] = [];
let smtp: SMTPServer;
let smtpUrl = '';
let serve: ChildProcess | undefined;
/** Shell pipes started (own process groups, so teardown stops both sides). */
const pipes: ChildProcess[] = [];

const rand = (n: number) => Math.floor(Math.random() * n);

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 5_000_000,
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
          cb();
        })
        .catch((e: Error) => cb(e));
    },
  });
  const host = `127.${120 + rand(3)}.${rand(256)}.1`;
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject);
    smtp.listen(0, host, () => resolve());
  });
  smtpUrl = `smtp://${host}:${(smtp.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const p of pipes) if (p.exitCode === null && p.signalCode === null && p.pid !== undefined) process.kill(-p.pid, 'SIGTERM');
  if (serve && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await new Promise((r) => serve!.once('close', r));
  }
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

const observed = '2026-12-01T03:00:00.000Z';

function finding(isp: string, ip: string, port: number, over: Partial<Finding> = {}): Finding {
  return {
    kind: 'weak-credential',
    ip,
    port,
    protocol: 'telnet',
    observedAt: observed,
    period: '2026-12',
    device: { type: 'router', vendor: 'Acme', model: 'AR-100', firmware: '1.0.2' },
    severity: 'high',
    details: { entry: 'mirai-042', username: 'admin', authType: 'telnet' },
    evidence: [{ record: 'access-result', id: 1 }],
    surveyId: 1,
    planVersion: '2026.12-1',
    isp,
    prefixOwner: isp,
    held: null,
    ...over,
  };
}

// ISP A: three lines (a Japanese subscriber, an English one, a rented router); ISP B: two.
const ipA = ['127.122.1.10', '127.122.1.11', '127.122.1.12'];
const ipB = ['127.123.1.20', '127.123.1.21'];

/** GET on the notify API with an optional bearer token. */
function get(url: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(20_000, () => req.destroy(new Error('timeout')));
  });
}

const json = <T>(r: { code: number | null; stdout: string; stderr: string }): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

describe('the notify → ISP command chain', () => {
  let batchA = '';
  let ticketA = '';
  let ticketB = '';

  it('centre: notify batches and mails per ISP, only its own findings; a second run makes nothing new; the API answers per token', async () => {
    const store = await openStore(centreDb);
    try {
      await store.findings.record([...ipA.map((ip) => finding('isp-a', ip, 23)), ...ipB.map((ip) => finding('isp-b', ip, 23, { details: { entry: 'mirai-007', username: 'root', authType: 'telnet' } }))]);
    } finally {
      await store.close();
    }
    const contacts = join(dir, 'contacts.csv');
    writeFileSync(contacts, 'isp_id,email,language\nisp-a,abuse@isp-a.example,ja\nisp-b,abuse@isp-b.example,en\n');
    const r = json<{ batches: { ticket: string; isp: string; findingCount: number }[]; mail: { outcomes: { ticket: string; status: string }[] } }>(
      await runCli(['notify', '--out', out, '--smtp', smtpUrl, '--contacts', contacts, '--db', centreDb, '--json']),
    );
    expect(r.batches.map((b) => [b.isp, b.findingCount]).sort()).toEqual([['isp-a', 3], ['isp-b', 2]]);
    ticketA = r.batches.find((b) => b.isp === 'isp-a')!.ticket;
    ticketB = r.batches.find((b) => b.isp === 'isp-b')!.ticket;
    expect(r.mail.outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted']);

    // Files: ISP A's hold A's addresses only.
    batchA = join(out, `${ticketA}.json`);
    const filesA = readdirSync(out).filter((f) => f.startsWith(ticketA));
    expect(filesA.length).toBeGreaterThanOrEqual(2);
    for (const f of filesA) {
      const text = readFileSync(join(out, f), 'utf8');
      for (const ip of ipA) expect(text, f).toContain(ip);
      for (const ip of ipB) expect(text, f).not.toContain(ip);
      expect(text).not.toContain('mirai-007');
    }
    // Mail: ISP A's message goes to A only and carries only A's findings.
    const mailA = received.filter((m) => m.to.includes('abuse@isp-a.example'));
    expect(mailA.length).toBe(1);
    expect(mailA[0]!.to).toEqual(['abuse@isp-a.example']);
    const all = [mailA[0]!.mail.text ?? '', ...mailA[0]!.mail.attachments.map((a) => a.content.toString('utf8'))].join('\n');
    expect(mailA[0]!.mail.attachments.length).toBeGreaterThanOrEqual(2);
    for (const ip of ipA) expect(all).toContain(ip);
    for (const ip of ipB) expect(all).not.toContain(ip);
    expect(all).toContain(ticketA);
    expect(all).not.toContain(ticketB);

    // A second run: nothing new to batch, nothing mailed again.
    const before = received.length;
    const again = json<{ batches: unknown[]; alreadyBatched: number; mail: { outcomes: unknown[] } }>(await runCli(['notify', '--out', out, '--smtp', smtpUrl, '--contacts', contacts, '--db', centreDb, '--json']));
    expect(again.batches).toEqual([]);
    expect(again.mail.outcomes).toEqual([]);
    expect(received.length).toBe(before);

    // The API: A's token sees A's batch, B's ticket is 404, no token is 401.
    const tokenA = 'token-of-isp-a-0123456789';
    const tokenB = 'token-of-isp-b-9876543210';
    const tokens = join(dir, 'tokens.csv');
    const sha = (t: string) => createHash('sha256').update(t).digest('hex');
    writeFileSync(tokens, `isp_id,sha256\nisp-a,${sha(tokenA)}\nisp-b,${sha(tokenB)}\n`);
    const host = `127.124.${rand(256)}.1`;
    serve = startCli(['notify', 'serve', '--tokens', tokens, '--host', host, '--port', '0', '--db', centreDb, '--json']);
    let stderr = '';
    serve.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let buf = '';
      serve!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = /"url"\s*:\s*"([^"]+)"/.exec(buf);
        if (m) resolve(m[1]!);
      });
      serve!.once('close', (code) => reject(new Error(`notify serve exited ${code}: ${stderr}`)));
    });
    const list = await get(`${url}/api/v1/batches`, tokenA);
    expect(list.status).toBe(200);
    expect(list.body).toContain(ticketA);
    expect(list.body).not.toContain(ticketB);
    const one = await get(`${url}/api/v1/batches/${ticketA}`, tokenA);
    expect(one.status).toBe(200);
    for (const ip of ipA) expect(one.body).toContain(ip);
    for (const ip of ipB) expect(one.body).not.toContain(ip);
    const findingsA = await get(`${url}/api/v1/findings?since=0`, tokenA);
    expect(findingsA.status).toBe(200);
    for (const ip of ipB) expect(findingsA.body).not.toContain(ip);
    expect((await get(`${url}/api/v1/batches/${ticketB}`, tokenA)).status).toBe(404);
    expect((await get(`${url}/api/v1/batches/${ticketB}`, tokenB)).status).toBe(200);
    expect((await get(`${url}/api/v1/batches`)).status).toBe(401);
    serve.kill('SIGTERM');
    await new Promise((r) => serve!.once('close', r));
  }, 180_000);

  it('ISP: import → match --json > file → alert → verify → cases → re-alert a week later → escalations → effect', async () => {
    expect(batchA, 'the centre step ran first').not.toBe('');
    // FreeRADIUS detail: each subscriber's session opened on 30 November, still open.
    const stamp = (d: Date) => d.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) ([\d:]+) GMT$/, (_m, dow: string, day: string, mon: string, y: string, t: string) => `${dow} ${mon} ${day.replace(/^0/, ' ').padStart(2, ' ')} ${t} ${y}`);
    const start = new Date('2026-11-30T00:00:00Z');
    const subsOf = ['sub-ja', 'sub-en', 'sub-rent'];
    const macs = ['02:00:00:00:00:0a', '02:00:00:00:00:0b', '02:00:00:00:00:0c'];
    const detail = ipA
      .map((ip, i) =>
        [stamp(start), '\tAcct-Status-Type = Start', `\tUser-Name = "${subsOf[i]}"`, `\tAcct-Session-Id = "s${i}"`, '\tNAS-IP-Address = 127.0.0.1', `\tFramed-IP-Address = ${ip}`, `\tCalling-Station-Id = "${macs[i]!.replace(/:/g, '-').toUpperCase()}"`, `\tTimestamp = ${start.getTime() / 1000}`, ''].join('\n'),
      )
      .join('\n');
    const log = join(dir, 'detail-20261130');
    writeFileSync(log, `${detail}\n`);
    const subscribers = join(dir, 'subscribers.csv');
    writeFileSync(subscribers, `subscriber_id,email,language,name,mac\nsub-ja,ja@home.example,ja,山田,${macs[0]}\nsub-en,en@home.example,en,Smith,${macs[1]}\nsub-rent,rent@home.example,ja,,${macs[2]}\n`);
    const inventory = join(dir, 'inventory.csv');
    writeFileSync(inventory, 'subscriber_id,mac,measure,contact,model\nsub-rent,,isp-task,ops@isp-a.example,AR-100\n');
    const imp = json<{ files: { sessions: number; problems: number }[]; subscribers: number; inventory: number }>(
      await runCli(['isp', 'import', log, '--subscribers', subscribers, '--inventory', inventory, '--collected-at', '2026-12-02T00:00:00Z', '--db', ispDb, '--json']),
    );
    expect(imp.files).toEqual([expect.objectContaining({ sessions: 3, problems: 0 })]);
    expect([imp.subscribers, imp.inventory]).toEqual([3, 1]);

    // The ISP scripts exactly this pipe: isp match --json > matches; isp alert --matches matches.
    const m = await runCli(['isp', 'match', batchA, '--db', ispDb, '--json']);
    expect(m.code, m.stderr).toBe(0);
    const rows = m.stdout.trim().split('\n').map((l) => JSON.parse(l) as { status: string; subscriber: string; measure: string });
    expect(rows.map((r) => [r.status, r.subscriber, r.measure]).sort()).toEqual([
      ['matched', 'sub-en', 'subscriber-alert'],
      ['matched', 'sub-ja', 'subscriber-alert'],
      ['matched', 'sub-rent', 'isp-task'],
    ]);
    const matches = join(dir, 'matches.jsonl');
    writeFileSync(matches, m.stdout);
    const isp = (args: string[]) => runCli(['isp', ...args, '--db', ispDb]);
    const before = received.length;
    const a1 = json<{ intake: { opened: string[] }; sent: { reference: string; recipient: string; delivered: boolean; measure: string; language: string }[] }>(
      await isp(['alert', '--matches', matches, '--smtp', smtpUrl, '--control-share', '0', '--isp-name', 'ISP-A', '--now', '2026-12-02T09:00:00Z', '--json']),
    );
    expect(a1.intake.opened.length).toBe(3);
    expect(a1.sent.map((x) => [x.recipient, x.delivered]).sort()).toEqual([
      ['en@home.example', true],
      ['ja@home.example', true],
      ['ops@isp-a.example', true],
    ]);
    const mails = received.slice(before);
    expect(mails.flatMap((x) => x.to)).not.toContain('rent@home.example');
    const refOf = (to: string) => a1.sent.find((x) => x.recipient === to)!.reference;
    const ja = mails.find((x) => x.to.includes('ja@home.example'))!.mail;
    const en = mails.find((x) => x.to.includes('en@home.example'))!.mail;
    expect(ja.subject).toContain('受付番号');
    expect(ja.subject).toContain(refOf('ja@home.example'));
    expect(ja.text).toContain(refOf('ja@home.example'));
    expect(en.subject).toContain(`ref. ${refOf('en@home.example')}`);
    expect(en.text).toContain(refOf('en@home.example'));
    expect(en.text).not.toMatch(/[\u3040-\u30ff]/);

    // The centre's re-scan: sub-ja fixed it, sub-en did not.
    const verifications = (at: string, enPresent: boolean, jaToo: boolean) => {
      const file = join(dir, `verify-${at.slice(0, 10)}.json`);
      writeFileSync(file, JSON.stringify([...(jaToo ? [{ kind: 'weak-credential', ip: ipA[0], port: 23, at, present: false, ticket: null }] : []), { kind: 'weak-credential', ip: ipA[1], port: 23, at, present: enPresent, ticket: null }]));
      return file;
    };
    const v1 = await isp(['verify', '--verifications', verifications('2026-12-05T00:00:00Z', true, true), '--escalate-after', '2']);
    expect(v1.code, v1.stderr).toBe(0);
    expect(v1.stdout).toContain('1 fixed, 1 persisting');
    const cases = json<{ reference: string; state: string; subscriber: string }[]>(await isp(['cases', '--json']));
    const stateOf = (sub: string) => cases.find((c) => c.subscriber === sub)?.state;
    expect([stateOf('sub-ja'), stateOf('sub-en'), stateOf('sub-rent')]).toEqual(['fixed', 'persisting', 'alerted']);

    // A week later the next alert run (no new matches) re-alerts the persisting one only.
    const before2 = received.length;
    const a2 = json<{ sent: { recipient: string; delivered: boolean }[] }>(await isp(['alert', '--smtp', smtpUrl, '--control-share', '0', '--now', '2026-12-09T09:00:00Z', '--json']));
    expect(a2.sent.map((x) => [x.recipient, x.delivered])).toEqual([['en@home.example', true]]);
    expect(received.slice(before2).flatMap((x) => x.to)).toEqual(['en@home.example']);
    // Still there at the next re-scan after two delivered alerts: escalated and listed.
    const v2 = await isp(['verify', '--verifications', verifications('2026-12-12T00:00:00Z', true, false), '--escalate-after', '2']);
    expect(v2.stdout).toContain('1 escalated');
    const esc = json<{ case: { reference: string; subscriber: string }; alerts: { delivered: boolean }[] }[]>(await isp(['escalations', '--after', '2', '--json']));
    expect(esc.map((e) => e.case.subscriber)).toEqual(['sub-en']);
    expect(esc[0]!.alerts.filter((a) => a.delivered).length).toBe(2);

    const effect = json<{ days: number[]; rows: { dimension: string; value: string; notified: { points: { share: number | null }[] } }[] }>(await isp(['effect', '--as-of', '2026-12-31T00:00:00Z', '--json']));
    expect(effect.days).toEqual([7, 14, 30]);
    const kindRow = effect.rows.find((r) => r.dimension === 'kind' && r.value === 'weak-credential')!;
    // Of the three notified cases, the Japanese subscriber's was verified fixed within 7 days.
    expect(kindRow.notified.points[0]!.share).toBeCloseTo(1 / 3);
  }, 240_000);

  it('isp alert exits 3 with the relay down and retries on the next run: isp match --json | isp alert --matches - as a shell pipe; a broken line is refused with its number', async () => {
    expect(batchA, 'the centre step ran first').not.toBe('');
    const db = join(dir, 'isp-a-pipe.db');
    const imp = await runCli(['isp', 'import', join(dir, 'detail-20261130'), '--subscribers', join(dir, 'subscribers.csv'), '--inventory', join(dir, 'inventory.csv'), '--collected-at', '2026-12-02T00:00:00Z', '--db', db]);
    expect(imp.code, imp.stderr).toBe(0);
    // First with the relay down: exit 3, nothing delivered, the cases stay due for the retry.
    const down = await runCli(['isp', 'alert', '--matches', join(dir, 'matches.jsonl'), '--smtp', `smtp://127.123.${rand(256)}.1:9`, '--control-share', '0', '--now', '2026-12-02T08:00:00Z', '--db', db, '--json']);
    expect(down.code, down.stderr).toBe(3);
    const d = JSON.parse(down.stdout) as { intake: { opened: string[] }; sent: { delivered: boolean }[] };
    expect(d.intake.opened.length).toBe(3);
    expect(d.sent.map((x) => x.delivered)).toEqual([false, false, false]);
    const cli = cliArgv.join(' ');
    const child = spawn('sh', ['-c', `${cli} isp match ${batchA} --db ${db} --json | ${cli} isp alert --matches - --smtp ${smtpUrl} --control-share 0 --now 2026-12-02T09:00:00Z --db ${db} --json`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    pipes.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    const r = JSON.parse(stdout) as { intake: { opened: string[]; updated: string[] }; sent: { delivered: boolean }[] };
    expect([r.intake.opened.length, r.intake.updated.length]).toEqual([0, 3]);
    expect(r.sent.filter((x) => x.delivered).length).toBe(3);

    const broken = join(dir, 'broken.jsonl');
    writeFileSync(broken, `${readFileSync(join(dir, 'matches.jsonl'), 'utf8').trim()}\n{"status": "matched",\n`);
    const bad = await runCli(['isp', 'alert', '--matches', broken, '--smtp', smtpUrl, '--db', db, '--json']);
    expect(bad.code).toBe(2);
    expect((JSON.parse(bad.stderr) as { error: { code: string; line: number } }).error).toMatchObject({ code: 'E_ARGS', line: 4 });
  }, 180_000);
});
