/**
 * Issue 7 against the lab's ground truth. `expectLabAccessPerfect` (test/access-lab.ts) holds the
 * criteria (its own tests first); then the runner (src/access/runner.ts) on an in-process lab
 * holding every profile twice, weak and strong: each listening port grabbed by the real grab
 * stage, each host identified by the real identify stage, then checkHost with the default
 * dictionary. test/access-cli.test.ts runs the same criteria through the CLI on `lab up`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDictionary, type Dictionary } from '../src/access/dictionary/index.js';
import { checkHost } from '../src/access/runner.js';
import type { AccessResult, AccessVerdict, Observation } from '../src/core/records.js';
import { grabEndpoint } from '../src/grab/runner.js';
import { identifyObservations, loadIdentifier, type Identifier } from '../src/identify/index.js';
import { groundTruth, type GroundTruth } from '../src/lab/ground-truth.js';
import { loadProfiles } from '../src/lab/profiles.js';
import { startLabInProcess, type LabHandle } from '../src/lab/runtime.js';
import { accessProtocolOf, scoreAccess, type AccessScore } from '../src/lab/score-access.js';
import type { LabDevice } from '../src/lab/types.js';
import { compileScope, defaultScope } from '../src/scope/scope.js';
import type { ConnectionLimits } from '../src/scope/connection.js';
import { expectLabAccessPerfect, labAccessProblems, summary } from './access-lab.js';

describe('expectLabAccessPerfect', () => {
  const truth: GroundTruth = {
    version: 1,
    seed: 's',
    network: '127.89.0.0/16',
    weakShare: 0.5,
    portMap: {},
    isps: [],
    devices: [
      { id: 'w', ip: '127.89.0.1', ispId: 'i', profile: 'pw', type: 'router', vendor: 'V', model: 'M', behaviour: 'normal', weak: true, credentials: [{ username: 'admin', password: 'admin' }], services: [{ port: 23, boundPort: 23, protocol: 'telnet', auth: 'telnet-login' }] },
      { id: 'h', ip: '127.89.0.2', ispId: 'i', profile: 'ph', type: 'other', vendor: 'V', model: 'M', behaviour: 'honeypot', weak: false, credentials: [{ username: 'a', password: 'Strong-1' }], services: [{ port: 22, boundPort: 22, protocol: 'ssh', auth: 'ssh' }] },
    ],
  };
  const r = (ip: string, port: number, protocol: AccessResult['protocol'], verdict: AccessVerdict, entry: string | null = null): AccessResult => ({
    kind: 'access-result', surveyId: null, endpointId: null, ip, port, protocol, verdict, entry, username: null, reason: null, attempts: 1,
    planDigest: null, planVersion: null, dictionary: { name: 'd', version: '1', digest: 'x' }, startedAt: '', finishedAt: '',
  });
  const pair = (id: string) => (id === 'good' ? { username: 'admin', password: 'admin' } : id === 'bad' ? { username: 'root', password: 'x' } : undefined);
  const score = (results: AccessResult[]): AccessScore => scoreAccess(truth, results, pair);

  it('passes a perfect run', () => {
    expect(() => expectLabAccessPerfect(score([r('127.89.0.1', 23, 'telnet', 'weak-credential', 'good'), r('127.89.0.2', 22, 'ssh', 'accepts-any')]))).not.toThrow();
  });

  it('names the device for each broken criterion', () => {
    expect(labAccessProblems(score([r('127.89.0.2', 22, 'ssh', 'accepts-any')]))).toEqual([expect.stringMatching(/^weak device not found: w \(pw, 127\.89\.0\.1\) — telnet@23: no result$/)]);
    expect(labAccessProblems(score([r('127.89.0.1', 23, 'telnet', 'weak-credential', 'bad'), r('127.89.0.2', 22, 'ssh', 'accepts-any')]))).toEqual([
      expect.stringMatching(/^weak device not found: w/),
      expect.stringMatching(/^false positive: w .*entry bad \(root\) is not accepted/),
    ]);
    expect(labAccessProblems(score([r('127.89.0.1', 23, 'telnet', 'weak-credential', 'good'), r('127.89.0.2', 22, 'ssh', 'weak-credential', 'good')]))).toEqual([
      expect.stringMatching(/^false positive: h \(ph, 127\.89\.0\.2\) ssh@22: a honeypot/),
    ]);
    expect(labAccessProblems(score([r('127.89.0.1', 23, 'telnet', 'weak-credential', 'good'), r('127.89.0.2', 22, 'ssh', 'no-weak-credential')]))).toEqual([
      expect.stringMatching(/^honeypot not accepts-any: h/),
    ]);
    expect(labAccessProblems(score([r('127.89.0.1', 23, 'telnet', 'weak-credential', 'good'), r('127.89.0.2', 22, 'ssh', 'accepts-any'), r('127.89.0.9', 80, 'http-basic', 'weak-credential', 'good')]))).toEqual([
      'false positive at an endpoint with no such login: 127.89.0.9:80 http-basic',
    ]);
    const relocked = [{ deviceId: 'l', ip: '127.89.0.3', profile: 'pl', lockoutAfter: 5, lockoutSeconds: 1, periods: [{ lockedAt: 0, until: 1000, refused: 9 }], dropped: 0 }];
    expect(labAccessProblems(score([r('127.89.0.1', 23, 'telnet', 'weak-credential', 'good'), r('127.89.0.2', 22, 'ssh', 'accepts-any')]), relocked)).toEqual([expect.stringMatching(/^lock-out: l .*9 attempts refused/)]);
  });

  it('fails an empty run', () => {
    expect(() => expectLabAccessPerfect(score([]))).toThrow();
  });
});

// ---- the runner on every profile --------------------------------------------------------------

/** Entries tried per service: the ordered list's head (covers every lab weak pair's rank for its identified maker, ≤ 72). */
const listHead = 80;
/** Hosts checked at once (one session per host). */
const hostLanes = 6;
const net = `127.89.${1 + (process.pid % 250)}`;
const strong = { username: 'admin', password: 'Lab-Strong-7q#Pw' };
const scope = compileScope(defaultScope());
const limits: ConnectionLimits = { connectTimeoutMs: 3000, firstByteTimeoutMs: 5000, idleTimeoutMs: 5000, deadlineMs: 20_000, maxBytes: 256 * 1024 };

/** Every profile twice: weak (the last pair of its pool, often the latest in the list) and strong. */
function labDevices(): LabDevice[] {
  const out: LabDevice[] = [];
  let n = 1;
  for (const profile of loadProfiles()) {
    const weakPair = profile.behaviour === 'honeypot' ? undefined : profile.weakCredentials.at(-1);
    if (weakPair) out.push({ id: `w-${profile.id}`, ip: `${net}.${n++}`, ispId: 't', profile, weak: true, credentials: [weakPair] });
    out.push({ id: `s-${profile.id}`, ip: `${net}.${n++}`, ispId: 't', profile, weak: false, credentials: [strong] });
  }
  return out;
}

/** Grab every port of the device, identify the host, then the real runner (src/access/runner.ts) on it. */
async function runHost(device: LabDevice, ports: readonly number[], logins: number, dictionary: Dictionary, identifier: Identifier): Promise<AccessResult[]> {
  const observations: Observation[] = [];
  for (const port of ports) observations.push(...(await grabEndpoint({ scope, ip: device.ip, port, limits })));
  const host = identifyObservations(identifier, observations).hosts[0] ?? null;
  const hint = host ? { vendor: host.device?.vendor ?? host.vendor, product: host.device?.product ?? host.product, type: host.type } : null;
  const endpoints = ports.map((port) => ({ endpointId: null, port, observations: observations.filter((o) => o.port === port) }));
  const outcomes = await checkHost(
    { ip: device.ip, endpoints, hint },
    // The head of the ordered list per login service; a lock-out is reported at once (the lab's lock lasts 10 minutes).
    { scope, dictionary, surveyId: null, planDigest: null, planVersion: null, pauseMs: 0, maxAttemptsPerHost: listHead * Math.max(1, logins), lockoutBackoffMs: 0, limits },
  );
  return outcomes.map((o) => o.result);
}

describe('the access runner on a lab of every profile, weak and strong', () => {
  const devices = labDevices();
  let lab: LabHandle;
  beforeAll(async () => {
    lab = await startLabInProcess({ plan: { seed: 'access-lab', network: `${net}.0/24`, weakShare: 0.5, isps: [], ispRows: [], devices } });
  }, 120_000);
  afterAll(async () => lab?.close());

  it('finds every weak device with a right pair, no false positive, honeypots accepts-any, lock-outs polite', async () => {
    const dictionary = await loadDictionary();
    const { identifier } = loadIdentifier();
    const truth = groundTruth(lab.plan, lab.portMap);
    const byId = new Map(dictionary.entries.map((e) => [e.id, e]));
    const results: AccessResult[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: hostLanes }, async () => {
        while (next < truth.devices.length) {
          const d = truth.devices[next++]!;
          const device = devices.find((x) => x.id === d.id)!;
          const logins = d.services.filter((s) => accessProtocolOf(s.auth) !== null).length;
          results.push(...(await runHost(device, [...new Set(d.services.map((s) => s.boundPort))].sort((a, b) => a - b), logins, dictionary, identifier)));
        }
      }),
    );
    const score = scoreAccess(truth, results, (id) => byId.get(id));
    console.log(`access runner on every profile: ${summary(score)}`);
    expect(score.weakDevices).toBeGreaterThan(20);
    expect(score.honeypotServices).toBeGreaterThan(0);
    expect(Object.keys(score.lockoutVerdicts).length).toBeGreaterThan(0);
    expectLabAccessPerfect(score, lab.lockouts());
  }, 600_000);
});
