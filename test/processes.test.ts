/**
 * The suite's process hygiene (test/setup.ts, test/global-setup.ts): a process a test leaves behind
 * is killed whether the test passed, failed, timed out or took its worker down, and the leak is
 * reported. The fixtures run in a nested vitest under the same setup files.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';
import { findMarked, markerVar, reapMarked } from './processes.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-processes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** Run one fixture file in a nested vitest; resolves with its exit code, output and the sleeper's pid. */
function runFixture(name: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string; pid: number }> {
  const out = mkdtempSync(join(dir, `${name}-`));
  const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/processes/vitest.config.ts', `${name}.fixture.ts`], {
    cwd: repoRoot,
    env: { ...process.env, IOTCLEAN_FIXTURE_OUT: out, NO_COLOR: '1', FORCE_COLOR: '0', CI: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      let pid = -1;
      try {
        pid = Number(readFileSync(join(out, `${name}.pid`), 'utf8'));
      } catch {
        output += `\n(no pid file for ${name})`;
      }
      resolve({ code, output, pid });
    }),
  );
}

describe.skipIf(process.platform !== 'linux')('processes left behind by a test', () => {
  it('are found by their marker, including under a longer one, and killed', async () => {
    const marker = `self-${process.pid}-${Date.now()}`;
    const start = (m: string) => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { env: { ...process.env, [markerVar]: m }, stdio: 'ignore' });
    const inside = start(`${marker}/a/t1`);
    const beside = start(`${marker}x/a`); // shares the text prefix but is another run
    try {
      await new Promise((r) => setTimeout(r, 200)); // environ is readable once exec is done
      for (let i = 0; i < 100 && findMarked(marker).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(findMarked(marker).map((p) => p.pid)).toEqual([inside.pid]);
      const exited = new Promise((r) => inside.once('exit', (_c, signal) => r(signal)));
      const killed = await reapMarked(marker);
      expect(killed.map((p) => p.pid)).toEqual([inside.pid]);
      expect(await exited).toBe('SIGKILL');
      expect(findMarked(marker)).toEqual([]);
      expect(beside.exitCode === null && beside.signalCode === null).toBe(true);
    } finally {
      inside.kill('SIGKILL');
      beside.kill('SIGKILL');
    }
  });

  it('a test that times out: afterEach still runs and kills its detached process', async () => {
    const r = await runFixture('timeout');
    expect(r.code, r.output).toBe(1);
    expect(r.output).toContain('Test timed out in 1500ms');
    expect(r.output).toContain(`killed 1 process(es) of the failed test`);
    expect(r.output).toContain(`pid ${r.pid} `);
    expect(r.output).not.toContain('still running at its end');
    expect(alive(r.pid)).toBe(false);
  }, 120_000);

  it('a test that passes but leaves a process running fails, naming it', async () => {
    const r = await runFixture('leak');
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(new RegExp(`this test left 1 process\\(es\\) running \\(now killed\\): pid ${r.pid} `));
    expect(alive(r.pid)).toBe(false);
  }, 120_000);

  it('a process that escaped every teardown (its worker died) fails the run at its end, named', async () => {
    const r = await runFixture('crash');
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(new RegExp(`FAIL: 1 process\\(es\\) of this test run were still running at its end and were killed: pid ${r.pid} `));
    expect(alive(r.pid)).toBe(false);
  }, 120_000);

  it('the end-of-run check alone turns a run whose tests all passed into a failure', async () => {
    const r = await runFixture('escaped', { IOTCLEAN_FIXTURE_NO_SETUP: '1' });
    expect(r.output).toMatch(/Tests\s+1 passed/);
    expect(r.output).toMatch(new RegExp(`FAIL: 1 process\\(es\\) of this test run were still running at its end and were killed: pid ${r.pid} `));
    expect(r.code, r.output).toBe(1);
    expect(alive(r.pid)).toBe(false);
  }, 120_000);
});
