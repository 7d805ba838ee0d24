/**
 * The grab and identify stages' plumbing over a real store: concurrency bound, per-item failures
 * counted while the rest go on, batched writes, host merging in both input orders, and a survey
 * whose grab stage starts while discovery is still running. The grab runner and the identify
 * engine are replaced by small recording functions: what is tested here is the plumbing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenSpread, type Listeners } from '../../test/helpers.js';
import type { Endpoint, Identification, Observation } from '../core/records.js';
import { parsePlan, type SurveyPlan } from '../discover/plan.js';
import { compileScope, defaultScope, restrictScope } from '../scope/scope.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import { pgQuery } from '../store/test-support.js';
import type { GrabRequest, Identifier } from './deps.js';
import { grabStage, type GrabResult, type StageFailure } from './grab-stage.js';
import { groupByEndpoint, identifyStage } from './identify-stage.js';
import { runSurvey } from './survey.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-stages-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const scope = compileScope(defaultScope());
const plan = (extra = ''): SurveyPlan =>
  parsePlan(`version: "t-1"\nname: stages\n${extra}ports:\n  - {port: 2223, service: ssh, reason: r}\n  - {port: 2324, service: telnet, reason: r}\n  - {port: 2999, service: unknown, reason: r}\n`, 'stages.yaml');

function fakeObservation(req: GrabRequest, module: string, recognised: boolean): Observation {
  return {
    kind: 'observation',
    surveyId: req.surveyId ?? null,
    endpointId: req.endpointId ?? null,
    ip: req.ip,
    port: req.port,
    module,
    status: 'success',
    recognised,
    fields: { banner: `${module} at ${req.ip}:${req.port}` },
    raw: '',
    bytesReceived: 10,
    observedAt: '2026-12-01T00:00:00.000Z',
    durationMs: 1,
    source: 'grab',
  };
}

/** An identifier that names the protocol and merges by counting the host's endpoints. */
const identifier: Identifier & { merged: Map<string, number[]> } = {
  merged: new Map(),
  identifyEndpoint(obs) {
    const o = obs[0]!;
    const proto = obs.find((x) => x.recognised)?.module ?? null;
    return {
      kind: 'identification',
      surveyId: o.surveyId,
      endpointId: o.endpointId,
      ip: o.ip,
      port: o.port,
      protocol: proto,
      type: proto === 'ssh' ? 'router' : null,
      vendor: proto === 'ssh' ? 'TestVendor' : null,
      product: null,
      version: null,
      device: null,
      os: null,
      service: null,
      cpe: [],
      confidence: proto === 'ssh' ? 0.8 : 0,
      rule: proto === 'ssh' ? 'test:ssh' : null,
      rules: [],
      catalogue: null,
      identifiedAt: '2026-12-01T00:00:01.000Z',
    };
  },
  mergeHost(endpoints) {
    const ip = endpoints[0]!.ip;
    identifier.merged.set(ip, endpoints.map((e) => e.port!).sort((a, b) => a - b));
    const best = endpoints.find((e) => e.vendor !== null);
    const host: Identification = { ...endpoints[0]!, endpointId: null, port: null, protocol: null, vendor: best?.vendor ?? null, type: best?.type ?? null };
    // Host evidence flows back to every endpoint of the host.
    return { host, endpoints: endpoints.map((e) => ({ ...e, vendor: best?.vendor ?? null, type: best?.type ?? null })) };
  },
};

async function freshSurvey(store: Store, eps: readonly Endpoint[]): Promise<{ surveyId: number; stored: Endpoint[] }> {
  await store.plans.save({ digest: 'p', version: 'v', name: 'n', body: {} });
  const surveyId = await store.surveys.create({ planDigest: 'p', scope: { source: 'default', ranges: [] }, targets: [], ports: [], seed: 1, shard: { index: 0, count: 1 }, workers: 1, startedAt: '2026-12-01T00:00:00.000Z' });
  return { surveyId, stored: await store.surveys.recordProgress(surveyId, eps, [0]) };
}

const ep = (ip: string, port: number): Endpoint => ({ kind: 'endpoint', ip, port, seenAt: '2026-12-01T00:00:00.000Z', source: 'connect' });

async function* iterate<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

describe('grab stage', () => {
  it('bounds concurrency by the plan, passes the plan\'s service, counts a failing endpoint and goes on', async () => {
    const store = await openStore(join(dir, 'grab.db'));
    try {
      // 3 addresses × 3 ports, interleaved as discovery would deliver them.
      const eps = [2223, 2324, 2999].flatMap((port) => ['127.67.1.1', '127.67.1.2', '127.67.1.3'].map((ip) => ep(ip, port)));
      const { surveyId, stored } = await freshSurvey(store, eps);
      let inFlight = 0;
      let peak = 0;
      const services = new Map<number, string | undefined>();
      const failures: StageFailure[] = [];
      const grab = async (req: GrabRequest) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        services.set(req.port, req.service);
        await new Promise((r) => setImmediate(r));
        inFlight--;
        if (req.ip === '127.67.1.2' && req.port === 2324) throw new Error('runner bug');
        return [fakeObservation(req, 'telnet', req.port === 2324), fakeObservation(req, 'ssh', req.port === 2223)];
      };
      const counts = { in: 0, out: 0, failed: 0 };
      const results: GrabResult[] = [];
      for await (const r of grabStage(iterate(stored), { store, surveyId, scope, plan: plan('grab: {concurrency: 3, batchSize: 4}\n'), grab, counts, onError: (f) => failures.push(f) })) results.push(r);
      expect(peak).toBe(3);
      expect(services).toEqual(new Map([[2223, 'ssh'], [2324, 'telnet'], [2999, undefined]]));
      expect(counts).toEqual({ in: 9, out: 16, failed: 1 });
      expect(failures.map((f) => [f.stage, f.item, (f.error as Error).message])).toEqual([['grab', '127.67.1.2:2324', 'runner bug']]);
      expect(results).toHaveLength(8);
      expect(await store.observations.count(surveyId)).toBe(16);
      // Each result's observations carry its endpoint's id and the survey.
      for (const r of results) for (const o of r.observations) expect([o.endpointId, o.surveyId]).toEqual([r.endpoint.id, surveyId]);
    } finally {
      await store.close();
    }
  });

  it('an endpoint whose records do not validate fails alone', async () => {
    const store = await openStore(join(dir, 'grab-bad.db'));
    try {
      const { surveyId, stored } = await freshSurvey(store, [ep('127.67.2.1', 2223), ep('127.67.2.2', 2223)]);
      const grab = async (req: GrabRequest) => [{ ...fakeObservation(req, 'ssh', true), ...(req.ip === '127.67.2.1' ? { status: 'exploded' as never } : {}) }];
      const counts = { in: 0, out: 0, failed: 0 };
      for await (const _ of grabStage(iterate(stored), { store, surveyId, scope, plan: plan(), grab, counts }));
      expect(counts).toEqual({ in: 2, out: 1, failed: 1 });
    } finally {
      await store.close();
    }
  });
});

// The host merge rewrites rows while it reads by keyset: run it on PostgreSQL too when given one.
const pgUrl = process.env.IOTCLEAN_TEST_POSTGRES;
const pgSchema = `iotclean_stages_${process.pid}`;
const identifyStores: [string, () => Promise<string>][] = [['sqlite', async () => join(dir, 'identify.db')]];
if (pgUrl) {
  identifyStores.push(['postgres', async () => {
    await pgQuery(pgUrl, `create schema if not exists ${pgSchema}`);
    return `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${pgSchema}`)}`;
  }]);
  afterAll(() => pgQuery(pgUrl, `drop schema if exists ${pgSchema} cascade`));
}

describe.each(identifyStores)('identify stage on %s', (_name, location) => {
  it('merges each host over all its endpoints, in discovery order (at the end) and sorted (at once); a rerun replaces', async () => {
    identifier.merged.clear();
    const store = await openStore(await location());
    try {
      const eps = [ep('127.67.3.1', 2223), ep('127.67.3.2', 2324), ep('127.67.3.1', 2324), ep('127.67.3.2', 2999), ep('127.67.3.1', 2999)];
      const { surveyId, stored } = await freshSurvey(store, eps);
      const groups = stored.map((e) => [fakeObservation({ scope, ip: e.ip, port: e.port, endpointId: e.id!, surveyId }, e.port === 2223 ? 'ssh' : 'telnet', e.port !== 2999)]);
      await store.observations.add(groups.flat());
      const first = await identifyStage(iterate(groups), { store, surveyId, identifier });
      expect(first).toEqual({ endpoints: 5, hosts: 2, failed: 0 });
      expect(identifier.merged).toEqual(new Map([['127.67.3.1', [2223, 2324, 2999]], ['127.67.3.2', [2324, 2999]]]));
      const rows: Identification[] = [];
      for await (const r of store.identifications.list(surveyId, { level: 'all' })) rows.push(r);
      expect(rows.map((r) => `${r.ip}:${r.port}:${r.vendor}`)).toEqual([
        '127.67.3.1:2223:TestVendor', '127.67.3.1:2324:TestVendor', '127.67.3.1:2999:TestVendor', '127.67.3.1:null:TestVendor',
        '127.67.3.2:2324:null', '127.67.3.2:2999:null', '127.67.3.2:null:null',
      ]);
      // From the store, sorted by address: the same rows, none duplicated.
      identifier.merged.clear();
      const again = await identifyStage(groupByEndpoint(store.observations.list(surveyId)), { store, surveyId, identifier, sortedByIp: true });
      expect(again).toEqual({ endpoints: 5, hosts: 2, failed: 0 });
      expect(identifier.merged.get('127.67.3.1')).toEqual([2223, 2324, 2999]);
      expect(await store.identifications.count(surveyId, { level: 'all' })).toBe(7);
      expect(await store.identifications.countBy(surveyId, 'vendor')).toEqual(new Map([['TestVendor', 1], [null, 1]]));
    } finally {
      await store.close();
    }
  });

});

describe('identify stage failures', () => {
  it('an endpoint the engine throws on is counted; its host is still merged from the others', async () => {
    const store = await openStore(join(dir, 'identify-bad.db'));
    try {
      const { surveyId, stored } = await freshSurvey(store, [ep('127.67.4.1', 2223), ep('127.67.4.1', 2324)]);
      const groups = stored.map((e) => [fakeObservation({ scope, ip: e.ip, port: e.port, endpointId: e.id!, surveyId }, 'ssh', true)]);
      const throwing: Identifier = { ...identifier, identifyEndpoint: (obs) => (obs[0]!.port === 2324 ? (() => { throw new Error('engine bug'); })() : identifier.identifyEndpoint(obs)) };
      const failures: StageFailure[] = [];
      const out = await identifyStage(iterate(groups), { store, surveyId, identifier: throwing, onError: (f) => failures.push(f) });
      expect(out).toEqual({ endpoints: 1, hosts: 1, failed: 1 });
      expect(failures.map((f) => f.item)).toEqual(['127.67.4.1:2324']);
      expect(await store.identifications.count(surveyId, { level: 'host' })).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describe('survey with discover, grab, identify', () => {
  let lab: Listeners;
  beforeAll(async () => {
    lab = await listenSpread('127.67.16.0', [2223, 2324], 24, 7);
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('grabs endpoints while discovery is still running, and identifies every one', async () => {
    const store = await openStore(join(dir, 'survey.db'));
    try {
      const targets = restrictScope(scope, ['127.67.16.0/20']);
      let progress = { done: 0, total: 1 };
      const doneAtGrab: number[] = [];
      const grab = async (req: GrabRequest) => {
        doneAtGrab.push(progress.done / progress.total);
        return [fakeObservation(req, 'ssh', req.port === 2223)];
      };
      // 8,192 probes at 2,000/s: discovery reports batches for about four seconds.
      const outcome = await runSurvey({
        store,
        scope,
        targets,
        plan: plan('timeoutMs: 500\nretries: 0\n'),
        stages: ['discover', 'grab', 'identify'],
        rate: 2000,
        workers: 1,
        seed: 5,
        grab,
        identifier,
        onProgress: (p) => (progress = p),
      });
      expect(outcome.status).toBe('done');
      expect(outcome.stages).toEqual(['discover', 'grab', 'identify']);
      const found = (await store.endpoints.all(outcome.surveyId)).map((e) => `${e.ip}:${e.port}`);
      expect(new Set(found)).toEqual(lab.truth);
      expect(outcome.grab).toEqual({ in: 24, out: 24, failed: 0 });
      expect(outcome.identify).toMatchObject({ endpoints: 24, failed: 0 });
      expect(await store.identifications.count(outcome.surveyId)).toBe(24);
      expect(await store.identifications.count(outcome.surveyId, { level: 'host' })).toBe(new Set([...lab.truth].map((k) => k.split(':')[0])).size);
      // Streaming: the first endpoints were grabbed before discovery had gone through its targets.
      expect(Math.min(...doneAtGrab)).toBeLessThan(1);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('a resumed survey grabs the endpoints earlier runs stored but did not grab, once each', async () => {
    const store = await openStore(join(dir, 'resume.db'));
    try {
      const targets = restrictScope(scope, ['127.67.16.0/20']);
      const stop = new AbortController();
      // First run: discovery only, stopped once something is stored (whenever that is).
      const first = await runSurvey({
        store, scope, targets, plan: plan('timeoutMs: 500\nretries: 0\n'), stages: ['discover'], rate: 2000, workers: 1, seed: 9, signal: stop.signal,
        onProgress: (p) => {
          if (p.open > 0) stop.abort();
        },
      });
      expect(first.status).toBe('interrupted');
      const before = (await store.endpoints.all(first.surveyId)).map((e) => e.id);
      expect(before.length).toBeGreaterThan(0);
      const grabbed: number[] = [];
      const grab = async (req: GrabRequest) => {
        grabbed.push(req.endpointId!);
        return [fakeObservation(req, 'ssh', true)];
      };
      const resumed = await runSurvey({ store, scope, targets, plan: plan(), stages: ['discover', 'grab'], rate: 0, resume: first.surveyId, grab });
      expect(resumed.status).toBe('done');
      const all = (await store.endpoints.all(first.surveyId)).map((e) => e.id!);
      expect(all).toHaveLength(24);
      expect([...grabbed].sort((a, b) => a - b)).toEqual([...all].sort((a, b) => a - b));
      for (const id of before) expect(grabbed).toContain(id);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('refuses identify without grab, and a stage not built, before creating anything', async () => {
    const store = await openStore(join(dir, 'refuse.db'));
    try {
      const targets = restrictScope(scope, ['127.67.32.1']);
      await expect(runSurvey({ store, scope, targets, plan: plan(), stages: ['discover', 'identify'], identifier })).rejects.toMatchObject({ code: 'E_PLAN_FILE', message: expect.stringMatching(/identify without grab/) });
      await expect(runSurvey({ store, scope, targets, plan: plan(), stages: ['discover', 'access'] })).rejects.toMatchObject({ code: 'E_PLAN_FILE' });
      expect(await store.surveys.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
