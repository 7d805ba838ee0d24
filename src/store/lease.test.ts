/**
 * One runner per survey, through the CLI as operators meet it: a second `discover --resume` of a
 * running survey is refused naming the holder; a SIGKILLed runner's survey reads `interrupted`
 * once its lease lapses, and --resume then completes it. Targets are loopback addresses with
 * nothing listening (every probe is refused at once), so only the --rate limit sets the pace.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli } from '../../test/helpers.js';
import { IotcleanError } from '../core/errors.js';
import { loadDefaultPlan } from '../discover/plan.js';
import { runSurvey } from '../pipeline/survey.js';
import { compileScope, defaultScope, restrictScope } from '../scope/scope.js';
import { DEFAULT_LEASE_MS, leaseMsFromEnv, newLeaseOwner } from './lease.js';
import { pgQuery } from './test-support.js';
import { openStore } from './open.js';
import type { SurveyRow } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-lease-'));
const children: ChildProcess[] = [];
// A short lease so a killed runner's survey lapses quickly; three heartbeats fit in it.
const env = { IOTCLEAN_LEASE_MS: '6000' };

/**
 * Kill a child and wait until it is gone. One that has already exited emits no second 'close',
 * so waiting for it would hang: on a busy machine a runner may finish before the test kills it.
 */
async function killAndWait(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const closed = new Promise((r) => c.once('close', r));
  c.kill('SIGKILL');
  await closed;
}

afterEach(async () => {
  for (const c of children.splice(0)) await killAndWait(c);
});
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
const schemas: string[] = [];
if (!pgUrl) console.log('lease tests: PostgreSQL back end skipped (set IOTCLEAN_TEST_POSTGRES=postgres://... to run it)');


afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  for (const name of schemas) await pgQuery(pgUrl!, `drop schema if exists ${name} cascade`);
});

/** A fresh database per test: a SQLite file, or a PostgreSQL schema of its own. */
const backends: [string, (name: string) => Promise<string>][] = [['sqlite', async (name) => join(dir, `${name}.db`)]];
if (pgUrl) {
  backends.push([
    'postgres',
    async (name) => {
      const schema = `iotclean_lease_${process.pid}_${name}`;
      schemas.push(schema);
      await pgQuery(pgUrl!, `create schema ${schema}`);
      return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    },
  ]);
}

async function survey(db: string, id: number): Promise<SurveyRow | undefined> {
  try {
    const store = await openStore(db, { readOnly: true });
    try {
      return await store.surveys.get(id);
    } finally {
      await store.close();
    }
  } catch {
    return undefined; // not created yet
  }
}

/** Poll (every 100 ms, at most `tries` times) until `ok` holds; returns the last row seen. */
async function waitFor(db: string, ok: (row: SurveyRow | undefined) => boolean, tries = 600): Promise<SurveyRow | undefined> {
  let row = await survey(db, 1);
  for (let i = 0; i < tries && !ok(row); i++) {
    await new Promise((r) => setTimeout(r, 100));
    row = await survey(db, 1);
  }
  return row;
}

describe.each(backends)('one runner per survey on %s', (_name, location) => {
  // 8,192 probes at 100/s: far longer than the test needs the first runner alive.
  const args = (db: string, rate: number) => ['discover', '--targets', '127.94.0.0/20', '--ports', '2324,8082', '--seed', '3', '--workers', '1', '--rate', String(rate), '--db', db, '--json'];

  it('refuses a second runner while the first renews its lease; a SIGKILLed runner\'s survey reads interrupted, and --resume completes it', async () => {
    const db = await location('two');
    const first = startCli(args(db, 100), env);
    children.push(first);
    const started = await waitFor(db, (r) => r?.lease !== null && r?.lease !== undefined && r.checkpoint.some((n) => n > 0));
    expect(started?.status).toBe('running');
    const takenAt = Date.parse(started!.lease!.takenAt);
    // Outlive the first lease: still running, so the heartbeat renewed it.
    const renewed = await waitFor(db, (r) => Date.parse(r?.lease?.expiresAt ?? '0') > takenAt + 6000);
    expect(renewed).toMatchObject({ status: 'running', lease: { owner: started!.lease!.owner } });
    expect(started!.lease!.owner).toContain(`:${first.pid}:`);

    const second = await runCli(['discover', '--resume', '1', '--rate', '100', '--db', db, '--json']);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain('E_BUSY');
    expect(second.stderr).toContain(`survey 1 is being run by ${started!.lease!.owner}`);
    expect(second.stderr).toMatch(/since \d{4}-.*expires at \d{4}-/);

    expect(first.exitCode, 'the runner ended before the test killed it (too fast a machine or too slow a poll)').toBeNull();
    await killAndWait(first);
    // The dead runner renews nothing: the survey turns interrupted by itself once the lease lapses.
    const lapsed = await waitFor(db, (r) => r?.status === 'interrupted');
    expect(lapsed?.status).toBe('interrupted');
    const listed = await runCli(['surveys', '--db', db, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ id: 1, status: 'interrupted' }]);

    const resumed = await runCli(['discover', '--resume', '1', '--rate', '0', '--db', db, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ surveyId: 1, status: 'done', resumed: true });
    expect(await survey(db, 1)).toMatchObject({ status: 'done', lease: null });
  }, 180_000);

  it('a runner that died on this host is replaced at once, without waiting for its lease', async () => {
    const db = await location('dead');
    // 8,192 probes at 50/s: still running long after its first checkpoint, even on a busy machine.
    const first = startCli(args(db, 50), { IOTCLEAN_LEASE_MS: '3600000' });
    children.push(first);
    await waitFor(db, (r) => r?.checkpoint.some((n) => n > 0) === true);
    expect(first.exitCode, 'the runner ended before the test killed it (too fast a machine or too slow a poll)').toBeNull();
    await killAndWait(first);
    // An hour-long lease, still live: only the holder's death lets the resume in.
    expect((await survey(db, 1))?.status).toBe('running');
    const resumed = await runCli(['discover', '--resume', '1', '--rate', '0', '--db', db, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ surveyId: 1, status: 'done', resumed: true });
  }, 180_000);
});

describe('a runner that loses its lease', () => {
  it('stops, and leaves the survey to the runner that took it over', async () => {
    const db = join(dir, 'lost.db');
    const store = await openStore(db);
    const stop = new AbortController();
    let outcome: Promise<unknown> = Promise.resolve();
    try {
      const scope = compileScope(defaultScope());
      const plan = { ...(await loadDefaultPlan()), modules: ['discover'] as const, ports: [{ port: 2326, service: 'test', reason: 'nothing listens here' }] };
      // 4,096 probes at 100/s: it is still running when the lease is taken from it.
      const run = runSurvey({ store, scope, targets: restrictScope(scope, ['127.94.16.0/20']), plan, seed: 1, rate: 100, workers: 1, leaseMs: 3000, signal: stop.signal });
      outcome = run.then(
        () => undefined,
        (e: unknown) => e,
      );
      const held = await waitFor(db, (r) => r?.lease !== null && r?.lease !== undefined);
      // Another runner takes over (as if this one had stalled past its lease).
      expect(await store.leases.acquire(1, { owner: 'successor', ttlMs: 60_000 }, { replacing: held!.lease!.owner })).toEqual({ ok: true });
      const err = await outcome;
      expect(err).toBeInstanceOf(IotcleanError);
      expect((err as IotcleanError).code).toBe('E_BUSY');
      // The loser wrote no final status over the successor's run.
      expect(await store.surveys.get(1)).toMatchObject({ status: 'running', lease: { owner: 'successor' }, finishedAt: null });
    } finally {
      // Even when an expectation fails, the run ends before its store closes.
      stop.abort();
      await outcome;
      await store.close();
    }
  }, 120_000);
});

describe('lease settings', () => {
  it('reads the lease length from IOTCLEAN_LEASE_MS and refuses nonsense', () => {
    expect(leaseMsFromEnv({})).toBe(DEFAULT_LEASE_MS);
    expect(leaseMsFromEnv({ IOTCLEAN_LEASE_MS: '2500' })).toBe(2500);
    for (const bad of ['1.5', '-1', '10', 'soon', '1e9']) expect(() => leaseMsFromEnv({ IOTCLEAN_LEASE_MS: bad })).toThrow(/IOTCLEAN_LEASE_MS/);
  });

  it('owner ids name the host and process and differ per runner', () => {
    const a = newLeaseOwner();
    expect(a).toContain(`:${process.pid}:`);
    expect(newLeaseOwner()).not.toBe(a);
  });
});
