/**
 * Per test file (vitest setupFiles): mark every process this file starts, and kill what a test or
 * the file leaves behind, even when the test failed or timed out (vitest runs afterEach after a
 * timeout too, while the timed-out test body may still be running).
 *
 * A passing test that leaves a process running fails here, naming the process: a leak is caught
 * where it happens, not hidden by the cleanup. Tests of one file run one after another (no
 * `it.concurrent`), so one marker at a time in process.env is enough.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeEach, inject } from 'vitest';
import { describeProcesses, isOwnEsbuildService, markerVar, reapMarked } from './processes.js';

/** Time a passing test's processes get to exit by themselves (a child signalled but not awaited). */
const graceMs = 5_000;

const run = inject('iotcleanTestRun') ?? `solo-${process.pid}`;
const file = `${run}/${process.pid}-${randomBytes(3).toString('hex')}`;
const fileScope = `${file}/file`;
let count = 0;
let current: string | undefined;

// Processes started at import or in beforeAll/afterAll belong to the file.
process.env[markerVar] = fileScope;

beforeEach(() => {
  current = `${file}/t${++count}`;
  process.env[markerVar] = current;
});

afterEach(async (ctx) => {
  const scope = current ?? fileScope;
  // Anything a timed-out test body starts from now on belongs to the file, so afterAll gets it.
  process.env[markerVar] = fileScope;
  current = undefined;
  const passed = ctx.task.result?.state === 'pass';
  const left = await reapMarked(scope, passed ? graceMs : 0, isOwnEsbuildService);
  if (left.length === 0) return;
  if (passed) throw new Error(`this test left ${left.length} process(es) running (now killed): ${describeProcesses(left)}`);
  console.warn(`[processes] killed ${left.length} process(es) of the failed test "${ctx.task.name}": ${describeProcesses(left)}`);
});

afterAll(async () => {
  // Runs after the file's own afterAll hooks (hooks run in stack order), so their cleanup came first.
  const left = await reapMarked(file, graceMs, isOwnEsbuildService);
  if (left.length > 0) throw new Error(`this file left ${left.length} process(es) running (now killed): ${describeProcesses(left)}`);
});
