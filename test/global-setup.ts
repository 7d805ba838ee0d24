/**
 * vitest globalSetup: give the run an id (the root of every process marker, see test/processes.ts)
 * and, when the run ends, kill any process of the run still alive and fail the run naming it.
 * test/setup.ts already cleans up after each test and file; what reaches this check escaped that
 * (a worker that crashed, a process started after its file ended), so it is reported, not hidden.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { describeProcesses, reapMarked, type MarkedProcess } from './processes.js';

/** Kill the processes of run `run` that are still alive; returns them. */
export async function reapRun(run: string): Promise<MarkedProcess[]> {
  return reapMarked(run, 2_000);
}

export default function setup(project: TestProject): () => Promise<void> {
  const run = `run-${process.pid}-${randomBytes(4).toString('hex')}`;
  project.provide('iotcleanTestRun', run);
  return async () => {
    const left = await reapRun(run);
    if (left.length === 0) return;
    console.error(`\n[processes] FAIL: ${left.length} process(es) of this test run were still running at its end and were killed: ${describeProcesses(left)}\n`);
    process.exitCode = 1;
  };
}
