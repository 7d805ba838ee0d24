/**
 * `iotclean plan propose|approve|reject|list|diff` as a user runs them (the CLI from source, a
 * SQLite store whose web accounts are the operators), and `iotclean plan FILE` unchanged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineCommand, runCommand } from '../src/cli/command.js';
import { openStore } from '../src/store/open.js';
import { addTestAccounts } from '../src/web/test-support.js';
import { runCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-web-governance-cli-'));
const db = join(dir, 'gov.db');
const planText = (version: string, ports: readonly number[]) =>
  `version: "${version}"\nname: cli-gov\nrate: 500\nmodules: [discover]\nports:\n${ports.map((p) => `  - {port: ${p}, service: telnet, reason: "test"}\n`).join('')}`;
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(async () => {
  const store = await openStore(db);
  await addTestAccounts(store);
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a command with both its own positional and subcommands', () => {
  it('runs the subcommand by name, and itself for anything else', async () => {
    const ran: string[] = [];
    const sub = defineCommand({ name: 'list', description: 'sub', run: async () => void ran.push('sub') });
    const root = defineCommand({ name: 'plan', description: 'root', positionals: [{ name: 'file', description: 'f', optional: true }], subcommands: [sub as never], run: async (_o, [f]) => void ran.push(`root ${f}`) });
    expect(await runCommand(root as never, ['list'])).toBe(0);
    expect(await runCommand(root as never, ['plans/x.yaml'])).toBe(0);
    expect(await runCommand(root as never, [])).toBe(0);
    expect(ran).toEqual(['sub', 'root plans/x.yaml', 'root undefined']);
  });
});

describe('iotclean plan governance commands', () => {
  it('keeps `plan FILE` as it was', async () => {
    const r = await runCli(['plan', file('check.yaml', planText('c-1', [40200])), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 'c-1', ports: [{ port: 40200 }], digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('proposes, refuses the proposer and non-admins, approves, diffs and lists; discover then needs an approved plan', { timeout: 300_000 }, async () => {
    const a = file('a.yaml', planText('c-1', [40201]));
    const b = file('b.yaml', planText('c-2', [40201, 40202]));
    const bad = await runCli(['plan', 'propose', file('bad.yaml', 'version: "x"\nname: n\nports: []\n'), '--by', 'analyst', '--db', db]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('E_PLAN_FILE');
    const noBy = await runCli(['plan', 'propose', a, '--db', db]);
    expect(noBy.code).toBe(2);
    expect(noBy.stderr).toContain('--by NAME is required');
    const isp = await runCli(['plan', 'propose', a, '--by', 'isp-a', '--db', db]);
    expect(isp.stderr).toContain('is an ISP account');

    const pa = await runCli(['plan', 'propose', a, '--by', 'admin', '--db', db, '--json']);
    expect(pa.code, pa.stderr).toBe(0);
    const da = (JSON.parse(pa.stdout) as { digest: string }).digest;
    const self = await runCli(['plan', 'approve', da.slice(0, 12), '--by', 'admin', '--db', db]);
    expect(self.code).toBe(2);
    expect(self.stderr).toMatch(/E_PLAN_APPROVAL .*two-person rule/);
    const analyst = await runCli(['plan', 'approve', 'c-1', '--by', 'analyst', '--db', db]);
    expect(analyst.stderr).toContain('is not an admin');
    expect((await runCli(['plan', 'propose', b, '--by', 'analyst', '--db', db])).code).toBe(0);

    // Governance is still off: a survey with the unapproved plan runs.
    const before = await runCli(['discover', '--plan', b, '--targets', '127.213.253.1/32', '--rate', '0', '--db', db, '--json']);
    expect(before.code, before.stderr).toBe(0);

    const ok = await runCli(['plan', 'approve', 'c-1', '--by', 'analyst', '--db', db]);
    expect(ok.code).toBe(2);
    const approved = await runCli(['plan', 'approve', 'c-1', '--by', 'admin', '--db', db, '--note', 'fine']);
    expect(approved.code).toBe(2); // admin proposed c-1
    const list0 = JSON.parse((await runCli(['plan', 'list', '--db', db, '--json'])).stdout) as { enforced: boolean };
    expect(list0.enforced).toBe(false);

    // c-2 was proposed by analyst: admin approves it.
    const yes = await runCli(['plan', 'approve', 'c-2', '--by', 'admin', '--db', db, '--note', 'extra port reviewed']);
    expect(yes.code, yes.stderr).toBe(0);
    expect(yes.stdout).toContain('approved plan cli-gov c-2');
    const again = await runCli(['plan', 'reject', 'c-2', '--by', 'admin', '--db', db]);
    expect(again.stderr).toContain('a decision is final');

    const diff = await runCli(['plan', 'diff', 'c-1', 'c-2', '--db', db, '--json']);
    expect(diff.code, diff.stderr).toBe(0);
    const d = JSON.parse(diff.stdout) as { diff: { ports: { added: { port: number }[] } }; lines: { op: string; text: string }[] };
    expect(d.diff.ports.added.map((p) => p.port)).toEqual([40202]);
    expect(d.lines.some((l) => l.op === '+' && l.text.includes('40202'))).toBe(true);
    const text = await runCli(['plan', 'diff', 'c-1', 'c-2', '--db', db]);
    expect(text.stdout).toContain('+ port 40202/tcp telnet: test');

    const list = JSON.parse((await runCli(['plan', 'list', '--db', db, '--json'])).stdout) as { enforced: boolean; plans: { version: string; state: string; proposedBy: string | null; decidedBy: string | null }[] };
    expect(list.enforced).toBe(true);
    expect(list.plans).toEqual(
      expect.arrayContaining([expect.objectContaining({ version: 'c-1', state: 'proposed', proposedBy: 'admin' }), expect.objectContaining({ version: 'c-2', state: 'approved', proposedBy: 'analyst', decidedBy: 'admin' })]),
    );

    // Governance on: c-1 (only proposed) is refused with its digest named, c-2 runs.
    const refused = await runCli(['discover', '--plan', a, '--targets', '127.213.253.1/32', '--rate', '0', '--db', db]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`E_PLAN_APPROVAL plan cli-gov version c-1 (sha256 ${da}) is not approved`);
    expect(refused.stderr).toContain('iotclean plan approve');
    const runs = await runCli(['discover', '--plan', b, '--targets', '127.213.253.1/32', '--rate', '0', '--db', db, '--json']);
    expect(runs.code, runs.stderr).toBe(0);
    // Grabbing a stored survey probes too: refused under the unapproved plan.
    const grab = await runCli(['grab', '--survey', '1', '--plan', a, '--db', db]);
    expect(grab.code).toBe(2);
    expect(grab.stderr).toContain('E_PLAN_APPROVAL plan cli-gov version c-1');

    const store = await openStore(db, { readOnly: true });
    try {
      const log = (await store.web.auditLog({})).map((e) => `${e.accountName} ${e.action} ${e.ip}`);
      expect(log).toEqual(expect.arrayContaining(['admin plan.propose cli', 'admin plan.approve.refused cli', 'admin plan.approve cli']));
    } finally {
      await store.close();
    }
  });
});
