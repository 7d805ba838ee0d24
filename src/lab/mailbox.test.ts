import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startLabMailbox, type LabMailbox } from './mailbox.js';

describe('lab mailbox', () => {
  let box: LabMailbox | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await box?.close();
    box = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps lab mail (as .eml too) and refuses any other domain', async () => {
    dir = await mkdtemp(join(tmpdir(), 'iotclean-mailbox-'));
    box = await startLabMailbox({ host: '127.0.0.1', dir });
    const transport = nodemailer.createTransport({ url: box.url, ignoreTLS: true } as never);
    try {
      await transport.sendMail({ from: 'abuse@sakura.lab.invalid', to: 'sub-1@sakura.lab.invalid', subject: 'テスト', text: 'ルーターのパスワードを変更してください' });
      await expect(transport.sendMail({ from: 'abuse@sakura.lab.invalid', to: 'someone@example.com', subject: 'x', text: 'x' })).rejects.toThrow(/550|not a lab address/);
    } finally {
      transport.close();
    }
    expect(box.messages).toHaveLength(1);
    const [m] = box.messages;
    expect(m!.to).toEqual(['sub-1@sakura.lab.invalid']);
    expect(m!.file).not.toBeNull();
    expect((await readFile(m!.file!)).equals(m!.raw)).toBe(true);
    expect(m!.raw.toString('latin1')).toMatch(/^Subject: =\?UTF-8\?/m);
  });

  it('listens on loopback only', async () => {
    await expect(startLabMailbox({ host: '0.0.0.0' })).rejects.toThrow(/loopback only/);
  });
});
