/**
 * `iotclean accounts`: the real CLI makes an account with the password from stdin (never a flag)
 * and lists it; the functions behind it validate as the web form does, end sessions on disable and
 * password change, and audit every change.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { cliArgv, repoRoot } from '../../../test/helpers.js';
import { openStore } from '../../store/open.js';
import { verifyPassword } from '../../web/auth/passwords.js';
import { testScryptLog2N } from '../../web/test-support.js';
import { addAccount, readPassword, setAccountDisabled, setAccountPassword } from './accounts.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-accounts-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(args: readonly string[], input: string | null, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(cliArgv[0]!, [...cliArgv.slice(1), ...args], { cwd: repoRoot, env: { ...process.env, IOTCLEAN_PASSWORD: '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('iotclean accounts (the CLI)', () => {
  it('adds an account with the password from stdin, lists it, and refuses bad input', { timeout: 120_000 }, async () => {
    const db = join(dir, 'cli.db');
    const added = await cli(['accounts', 'add', 'desk-a', '--role', 'isp', '--isp', 'isp-a', '--display-name', 'ISP A desk', '--password-stdin', '--db', db], 'a-long-enough-passphrase\n');
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('account desk-a (isp, ISP isp-a) created');
    const listed = await cli(['accounts', 'list', '--json', '--db', db], null);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'desk-a', role: 'isp', isp: 'isp-a', displayName: 'ISP A desk', disabled: false })]);
    const store = await openStore(db);
    try {
      const found = (await store.web.accountByName('desk-a'))!;
      expect(await verifyPassword('a-long-enough-passphrase', found.passwordHash)).toBe(true);
      expect((await store.web.auditLog({ action: 'account.create' }))[0]).toMatchObject({ target: 'desk-a', ip: 'local' });
    } finally {
      await store.close();
    }
    // No --isp for an isp account; a short password; no password at all; --password is no flag.
    const noIsp = await cli(['accounts', 'add', 'desk-b', '--role', 'isp', '--db', db], null, { IOTCLEAN_PASSWORD: 'a-long-enough-passphrase' });
    expect(noIsp.code).toBe(2);
    expect(noIsp.stderr).toContain('--isp: an isp account needs its ISP id');
    const short = await cli(['accounts', 'add', 'desk-b', '--role', 'admin', '--password-stdin', '--db', db], 'short\n');
    expect(short.stderr).toContain('at least 12 characters');
    const none = await cli(['accounts', 'add', 'desk-b', '--role', 'admin', '--db', db], null);
    expect(none.stderr).toMatch(/E_ARGS .*no password given/);
    const flag = await cli(['accounts', 'add', 'desk-b', '--role', 'admin', '--password', 'a-long-enough-passphrase', '--db', db], null);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--password'");
  });
});

describe('accounts functions', () => {
  it('reads the password from stdin or the environment, and validates it', async () => {
    expect(await readPassword(true, Readable.from(['correct horse ', 'battery\nnext line'], { objectMode: false }))).toBe('correct horse battery');
    expect(await readPassword(false, Readable.from([]), { IOTCLEAN_PASSWORD: 'from the environment' })).toBe('from the environment');
    await expect(readPassword(false, Readable.from([]), {})).rejects.toThrow(/no password given/);
    await expect(readPassword(true, Readable.from(['short\n']))).rejects.toThrow(/12 characters/);
  });

  it('disables (ending sessions), enables and sets passwords, audited', async () => {
    const store = await openStore(join(dir, 'fn.db'));
    try {
      const a = await addAccount(store, { name: 'Analyst-1', role: 'analyst', password: 'first-long-passphrase' }, testScryptLog2N);
      expect(a).toMatchObject({ name: 'analyst-1', role: 'analyst', isp: null, displayName: 'analyst-1' });
      await expect(addAccount(store, { name: 'analyst-1', role: 'analyst', password: 'first-long-passphrase' }, testScryptLog2N)).rejects.toThrow(/exists already/);
      await expect(addAccount(store, { name: 'x', role: 'admin', password: 'first-long-passphrase' }, testScryptLog2N)).rejects.toThrow(/NAME: 3–64/);
      await expect(addAccount(store, { name: 'op-2', role: 'admin', isp: 'isp-a', password: 'first-long-passphrase' }, testScryptLog2N)).rejects.toThrow(/--isp: only an isp account/);
      await store.web.createSession({ idHash: 'h1', accountId: a.id, csrf: 'c', ip: '127.0.0.1' }, Date.now());
      const off = await setAccountDisabled(store, 'analyst-1', true);
      expect(off.sessionsEnded).toBe(1);
      expect(await store.web.session('h1')).toBeUndefined();
      expect((await store.web.account(a.id))!.disabled).toBe(true);
      await setAccountDisabled(store, 'analyst-1', false);
      expect((await store.web.account(a.id))!.disabled).toBe(false);
      await store.web.createSession({ idHash: 'h2', accountId: a.id, csrf: 'c', ip: '127.0.0.1' }, Date.now());
      expect((await setAccountPassword(store, 'analyst-1', 'second-long-passphrase', testScryptLog2N)).sessionsEnded).toBe(1);
      expect(await verifyPassword('second-long-passphrase', (await store.web.accountByName('analyst-1'))!.passwordHash)).toBe(true);
      await expect(setAccountDisabled(store, 'nobody', true)).rejects.toThrow(/no account named nobody/);
      expect((await store.web.auditLog()).map((e) => e.action).reverse()).toEqual(['account.create', 'account.disable', 'account.enable', 'account.password']);
    } finally {
      await store.close();
    }
  });
});
