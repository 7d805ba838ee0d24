/**
 * One runner per survey. A runner takes the survey's lease in the store before it sends a probe
 * and renews it on a heartbeat while it runs; a second runner is refused while the lease is live.
 * A runner that dies stops renewing, so its lease lapses and the survey reads `interrupted`, ready
 * for --resume. The store's conditional UPDATE makes taking a lease atomic on both back ends.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { IotcleanError } from '../core/errors.js';
import type { LeaseRequest, Store, SurveyRow } from './store.js';

/** How long a lease lasts without renewal; the heartbeat renews it three times as often. */
export const DEFAULT_LEASE_MS = 15_000;

/**
 * The lease length: IOTCLEAN_LEASE_MS when set (tests use a short one so a killed runner's survey
 * lapses quickly), else DEFAULT_LEASE_MS.
 */
export function leaseMsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const text = env.IOTCLEAN_LEASE_MS;
  if (text === undefined || text === '') return DEFAULT_LEASE_MS;
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms) || ms < 300 || ms > 3_600_000) {
    throw new IotcleanError('E_ARGS', `IOTCLEAN_LEASE_MS must be a whole number of milliseconds in 300..3600000, got "${text}"`, {
      hint: `unset it for the default (${DEFAULT_LEASE_MS} ms)`,
    });
  }
  return ms;
}

/** This process's runner id: host, pid and a random part (pids are reused; hosts share pids). */
export function newLeaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** The holder is a process on this host that no longer exists (so its lease can be taken now). */
function deadOnThisHost(owner: string): boolean {
  const parts = owner.split(':');
  const pid = Number(parts[parts.length - 2]);
  if (parts.slice(0, -2).join(':') !== hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    // EPERM: it exists under another user. Only "no such process" proves it died.
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface HeldLease {
  readonly owner: string;
  /** Aborted when the lease is lost (renewal failed): the run must stop, another runner owns it. */
  readonly lost: AbortSignal;
  /** Stop the heartbeat; with `release`, give the lease up (the survey's status stays). */
  stop(options?: { release?: boolean }): Promise<void>;
}

/** Refusal naming who holds the survey, since when, and until when. */
export function leaseHeldError(surveyId: number, survey: SurveyRow | undefined): IotcleanError {
  if (!survey) return new IotcleanError('E_NOT_FOUND', `no survey with id ${surveyId}`, { hint: 'list them with: iotclean surveys' });
  if (survey.status === 'done') return new IotcleanError('E_ARGS', `survey ${surveyId} is already complete`, { hint: 'start a new survey instead of --resume' });
  const l = survey.lease;
  return new IotcleanError(
    'E_BUSY',
    l
      ? `survey ${surveyId} is being run by ${l.owner} (since ${l.takenAt}; its lease expires at ${l.expiresAt} unless renewed)`
      : `survey ${surveyId} is being run by another runner`,
    { hint: 'wait for that run to end, or stop it; a runner that died frees the survey once its lease expires' },
  );
}

/** Start the heartbeat for a lease already taken. */
export function keepLease(store: Store, surveyId: number, lease: LeaseRequest): HeldLease {
  const controller = new AbortController();
  let renewing: Promise<void> = Promise.resolve();
  const beat = () => {
    renewing = store.leases.renew(surveyId, lease).then(
      (held) => {
        if (!held) controller.abort(new IotcleanError('E_BUSY', `survey ${surveyId}: another runner took over its lease; this run stops`));
      },
      // A failed renewal (database briefly unreachable) is retried on the next beat; the lease
      // lasts three beats.
      () => {},
    );
  };
  const timer = setInterval(beat, Math.max(100, Math.floor(lease.ttlMs / 3)));
  timer.unref();
  return {
    owner: lease.owner,
    lost: controller.signal,
    async stop(options = {}) {
      clearInterval(timer);
      await renewing;
      if (options.release) await store.leases.release(surveyId, lease.owner).catch(() => {});
    },
  };
}

/**
 * Take the lease of an existing survey (a resume) or fail with who holds it. A holder on this host
 * whose process is gone is replaced at once rather than after its lease lapses.
 */
export async function takeLease(store: Store, surveyId: number, lease: LeaseRequest): Promise<HeldLease> {
  let result = await store.leases.acquire(surveyId, lease);
  const holder = !result.ok ? result.survey?.lease?.owner : undefined;
  if (!result.ok && holder !== undefined && deadOnThisHost(holder)) {
    result = await store.leases.acquire(surveyId, lease, { replacing: holder });
  }
  if (!result.ok) throw leaseHeldError(surveyId, result.survey);
  return keepLease(store, surveyId, lease);
}
