/**
 * Stored exclusions win: once an operator approves an opt-out, a survey of a loopback range whose
 * scope and targets include the network never connects to it (counting listeners prove it), on
 * both store back ends, for a new survey and for the grab stage of the same run; and
 * `iotclean grab --survey` of a survey stored before the opt-out leaves the network out too.
 */
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePlan } from '../src/discover/plan.js';
import { runSurvey } from '../src/pipeline/survey.js';
import { compileScope, defaultScope, restrictScope } from '../src/scope/scope.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { storeBackends } from '../src/store/test-support.js';
import { parseIpv4 } from '../src/core/ip.js';
import { runCli } from './helpers.js';

const { backends, cleanup } = storeBackends('web-public-survey', { fresh: true });
const PORT = 2324;
const base = `127.65.${process.pid % 250}`;
// .1–.8 listen; the opt-out covers .4/30 (.4–.7).
const hosts = Array.from({ length: 8 }, (_, i) => `${base}.${i + 1}`);
const excluded = new Set([`${base}.4`, `${base}.5`, `${base}.6`, `${base}.7`]);

const accepted = new Map<string, number>();
const servers: net.Server[] = [];
beforeAll(async () => {
  for (const ip of hosts) {
    accepted.set(ip, 0);
    const s = net.createServer((sock) => {
      accepted.set(ip, (accepted.get(ip) ?? 0) + 1);
      sock.on('error', () => {}).destroy();
    });
    servers.push(s);
    await new Promise<void>((resolve, reject) => s.once('error', reject).listen(PORT, ip, resolve));
  }
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await cleanup();
});

const plan = parsePlan(`version: "t-1"\nname: optout\nrate: 20000\nconcurrency: 64\ntimeoutMs: 1000\nretries: 0\nports:\n  - {port: ${PORT}, service: telnet, reason: test}\n`, 'optout.yaml');

describe.each(backends)('a survey honours stored exclusions (%s)', (_name, locate) => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore(await locate());
  });
  afterAll(async () => store?.close());

  it('never connects to an excluded address, and still finds the rest', { timeout: 60_000 }, async () => {
    for (const k of accepted.keys()) accepted.set(k, 0);
    const r = await store.optouts.createOptout({ cidr: `${base}.4/30`, range: { start: parseIpv4(`${base}.4`)!, end: parseIpv4(`${base}.7`)! }, email: 'o@example.invalid', reason: '', lang: 'en', clientIp: `${base}.5`, verification: 'from-network' }, Date.now());
    // Pending or merely verified requests exclude nothing: only an approval does.
    expect(await store.optouts.excludedRanges()).toEqual([]);
    await store.optouts.decideOptout(r.id, 'approved', 'admin', Date.now());

    const scope = compileScope(defaultScope());
    const targets = restrictScope(scope, [`${base}.0/28`]);
    const o = await runSurvey({ store, scope, targets, plan, rate: 0, workers: 1, stages: ['discover', 'grab'], grab: async () => [] });
    expect(o.status).toBe('done');
    const found = (await store.endpoints.all(o.surveyId)).map((e) => e.ip).sort();
    expect(found).toEqual(hosts.filter((h) => !excluded.has(h)).sort());
    for (const ip of excluded) expect(accepted.get(ip)).toBe(0);
    for (const ip of hosts.filter((h) => !excluded.has(h))) expect(accepted.get(ip)).toBeGreaterThan(0);
    // The survey records the narrowed scope it ran under.
    const row = (await store.surveys.get(o.surveyId))!;
    expect(row.scope.source).toMatch(/minus 1 stored exclusion/);
  });
});

describe('grab of a survey stored before the opt-out', () => {
  it('iotclean grab --survey never connects to the addresses excluded since', { timeout: 120_000 }, async () => {
    const location = await backends[0]![1]();
    const store = await openStore(location);
    let surveyId: number;
    try {
      const scope = compileScope(defaultScope());
      const found = await runSurvey({ store, scope, targets: restrictScope(scope, [`${base}.0/28`]), plan, rate: 0, workers: 1 });
      surveyId = found.surveyId;
      expect(await store.endpoints.count(surveyId)).toBe(hosts.length);
      const r = await store.optouts.createOptout({ cidr: `${base}.4/30`, range: { start: parseIpv4(`${base}.4`)!, end: parseIpv4(`${base}.7`)! }, email: 'o@example.invalid', reason: '', lang: 'en', clientIp: `${base}.5`, verification: 'from-network' }, Date.now());
      await store.optouts.decideOptout(r.id, 'approved', 'admin', Date.now());
    } finally {
      await store.close();
    }
    for (const k of accepted.keys()) accepted.set(k, 0);
    const run = await runCli(['grab', '--survey', String(surveyId), '--db', location, '--json']);
    expect(run.code, run.stderr).toBe(0);
    for (const ip of excluded) expect(accepted.get(ip)).toBe(0);
    for (const ip of hosts.filter((h) => !excluded.has(h))) expect(accepted.get(ip)).toBeGreaterThan(0);
  });
});
