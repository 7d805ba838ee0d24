/**
 * `iotclean notify`: argument mistakes are refused before anything runs, and the run behind it
 * batches only what is new since each ISP's last batch, writes the files, and counts held ones.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/helpers.js';
import type { Finding } from '../../core/records.js';
import type { FindingFilter, FindingRepository } from '../../findings/types.js';
import { createRng } from '../../core/rng.js';
import { parseContacts } from '../../notify/contacts.js';
import { finding } from '../../notify/test-support.js';
import { openStore } from '../../store/open.js';
import { runNotify } from './notify.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-notify-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function memoryFindings(list: Finding[]): Pick<FindingRepository, 'list'> {
  return {
    async *list(filter: FindingFilter = {}) {
      for (const f of list) if ((filter.isp === undefined || f.isp === filter.isp) && (f.id ?? 0) > (filter.afterId ?? 0)) yield f;
    },
  };
}

describe('iotclean notify arguments', () => {
  it('shows help with the serve command', async () => {
    const r = await runCli(['notify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('serve');
    expect(r.stdout).toContain('--smtp');
  }, 60_000);

  it('refuses --smtp without --contacts, a bad SMTP URL and a bad contacts file, creating nothing', async () => {
    const db = join(dir, 'never.db');
    const noContacts = await runCli(['notify', '--smtp', 'smtp://127.90.0.1:2525', '--db', db]);
    expect(noContacts.code).toBe(2);
    expect(noContacts.stderr).toMatch(/E_ARGS .*--contacts/);
    const badUrl = await runCli(['notify', '--smtp', 'http://127.90.0.1', '--contacts', 'x', '--db', db]);
    expect(badUrl.stderr).toMatch(/E_ARGS .*smtp:/);
    const file = join(dir, 'contacts.csv');
    writeFileSync(file, 'isp_id,email,language\nispa,abuse@ispa.example,de\n');
    const badFile = await runCli(['notify', '--smtp', 'smtp://127.90.0.1:2525', '--contacts', file, '--db', db]);
    expect(badFile.code).toBe(2);
    expect(badFile.stderr).toContain(`${file}:2`);
    expect(badFile.stderr).toContain('language must be ja or en');
    const serve = await runCli(['notify', 'serve', '--db', db]);
    expect(serve.stderr).toMatch(/E_ARGS .*--tokens/);
    expect(existsSync(db)).toBe(false);
  }, 120_000);
});

describe('runNotify', () => {
  it('batches what is new since the last batch, per ISP, with files, and counts held findings', async () => {
    const store = await openStore(join(dir, 'run.db'));
    try {
      const list = [finding('ispa', 1), finding('ispb', 2), finding(null, 3, { held: 'not-participating' })];
      const deps = { findings: memoryFindings(list), notifications: store.notifications };
      const out = mkdtempSync(join(dir, 'out-'));
      const first = await runNotify(deps, { out, now: new Date('2026-12-01T09:00:00Z') });
      expect(first.batches.map((b) => b.ticket)).toEqual(['IOTC-20261201-ispa-0001', 'IOTC-20261201-ispb-0001']);
      expect(first).toMatchObject({ held: 1, heldBy: { 'not-participating': 1 }, mail: null });
      expect(readdirSync(out).sort()).toEqual(['IOTC-20261201-ispa-0001.csv', 'IOTC-20261201-ispa-0001.intelmq.jsonl', 'IOTC-20261201-ispa-0001.json', 'IOTC-20261201-ispb-0001.csv', 'IOTC-20261201-ispb-0001.intelmq.jsonl', 'IOTC-20261201-ispb-0001.json']);
      // Nothing new: no batch.
      expect((await runNotify(deps, { now: new Date('2026-12-01T10:00:00Z') })).batches).toEqual([]);
      list.push(finding('ispa', 4), finding('ispb', 5));
      const third = await runNotify(deps, { isp: 'ispa', now: new Date('2026-12-01T11:00:00Z') });
      expect(third.batches.map((b) => [b.ticket, b.afterFindingId, b.maxFindingId])).toEqual([['IOTC-20261201-ispa-0002', 1, 4]]);
      expect(third.held).toBe(0);
      const fourth = await runNotify(deps, { now: new Date('2026-12-02T00:00:00Z') });
      expect(fourth.batches.map((b) => b.ticket)).toEqual(['IOTC-20261202-ispb-0001']);
      expect(fourth.alreadyBatched).toBe(3);
    } finally {
      await store.close();
    }
  });
});

describe('runNotify with --smtp', () => {
  it('mails the new batches, and on the next run retries the one the server refused', async () => {
    const rng = createRng(`notify-cli-smtp-${process.pid}`);
    const host = `127.${90 + rng.int(10)}.${rng.int(256)}.3`;
    const received: string[] = [];
    let refuse = true;
    const smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onRcptTo(address, _s, cb) {
        if (refuse && address.address === 'noc@ispb.example') return cb(Object.assign(new Error('mailbox full'), { responseCode: 552 }));
        cb();
      },
      onData(stream, session, cb) {
        stream.resume();
        stream.on('end', () => {
          received.push(...session.envelope.rcptTo.map((r) => r.address));
          cb();
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      smtp.once('error', reject);
      smtp.listen(0, host, () => resolve((smtp.server.address() as { port: number }).port));
    });
    const store = await openStore(join(dir, 'smtp.db'));
    try {
      const list = [finding('ispa', 1), finding('ispb', 2)];
      const deps = { findings: memoryFindings(list), notifications: store.notifications };
      const contacts = parseContacts('ispa,abuse@ispa.example,ja\nispb,noc@ispb.example,en\n');
      const o = { smtp: `smtp://${host}:${port}`, contacts, now: new Date('2026-12-01T09:00:00Z') };
      const first = await runNotify(deps, o);
      expect(first.mail!.outcomes.map((d) => [d.ticket, d.status])).toEqual([
        ['IOTC-20261201-ispa-0001', 'accepted'],
        ['IOTC-20261201-ispb-0001', 'rejected'],
      ]);
      expect(received).toEqual(['abuse@ispa.example']);
      refuse = false;
      const second = await runNotify(deps, { ...o, now: new Date('2026-12-01T10:00:00Z') });
      expect(second.batches).toEqual([]);
      expect(second.mail!.outcomes.map((d) => [d.ticket, d.status])).toEqual([['IOTC-20261201-ispb-0001', 'accepted']]);
      expect(received).toEqual(['abuse@ispa.example', 'noc@ispb.example']);
      const third = await runNotify(deps, { ...o, now: new Date('2026-12-01T11:00:00Z') });
      expect(third.mail!.outcomes).toEqual([]);
    } finally {
      await store.close();
      await new Promise<void>((r) => smtp.close(() => r()));
    }
  }, 60_000);
});
