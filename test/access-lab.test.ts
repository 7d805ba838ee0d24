/**
 * Issue 7 against the lab's ground truth. `expectLabAccessPerfect` (test/access-lab.ts) holds the
 * criteria; the lead's end-to-end test calls it on what `iotclean access` stored, once the stage
 * exists (the todo below). Until then a stand-in loop shows the access modules meet the criteria
 * on a lab holding every profile, weak and strong: each listening port grabbed by the real grab
 * stage, each host identified by the real identify stage, the default dictionary ordered for it
 * (orderFor), every module whose `applies` is true run on it, a success re-checked with a random
 * pair (accepts-any), one session per host. It is not the runner (src/access/runner.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDictionary, orderFor, dictionaryRef, type Dictionary } from '../src/access/dictionary/index.js';
import { httpBasicAccess, httpDigestAccess, httpFormAccess } from '../src/access/http/index.js';
import { randomPair } from '../src/access/http/client.js';
import type { AccessModule, Credential } from '../src/access/module.js';
import { sshAccess } from '../src/access/ssh/index.js';
import { telnetAccess } from '../src/access/telnet/index.js';
import { loopbackContext } from '../src/access/telnet/test-context.js';
import type { AccessResult, AccessVerdict, Observation } from '../src/core/records.js';
import { grabEndpoint } from '../src/grab/runner.js';
import { identifyObservations, loadIdentifier, type Identifier } from '../src/identify/index.js';
import { groundTruth, type GroundTruth } from '../src/lab/ground-truth.js';
import { loadProfiles } from '../src/lab/profiles.js';
import { startLabInProcess, type LabHandle } from '../src/lab/runtime.js';
import { scoreAccess, type AccessScore } from '../src/lab/score-access.js';
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

  // The lead's end-to-end test: `iotclean lab up`, `survey --stages discover,grab,identify,access`,
  // `lab down`, then expectLabAccessPerfect(scoreAccess(readGroundTruth(dir), stored results,
  // entry id → pair of the plan's dictionary), readLockouts(dir)).
  it.todo('the access stage on `iotclean lab up` meets every criterion (needs src/access/runner.ts and the stage)');
});

// ---- the stand-in run ------------------------------------------------------------------------

/** Entries tried per service: the ordered list's head (covers every lab weak pair's rank for its identified maker, ≤ 72). */
const listHead = 80;
/** Hosts checked at once (one session per host). */
const hostLanes = 6;
const net = `127.89.${1 + (process.pid % 250)}`;
const strong = { username: 'admin', password: 'Lab-Strong-7q#Pw' };
const scope = compileScope(defaultScope());
const limits: ConnectionLimits = { connectTimeoutMs: 3000, firstByteTimeoutMs: 5000, idleTimeoutMs: 5000, deadlineMs: 20_000, maxBytes: 256 * 1024 };
const modules: readonly AccessModule[] = [telnetAccess, sshAccess, httpBasicAccess, httpDigestAccess, httpFormAccess];

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

async function runHost(device: LabDevice, ports: readonly number[], dictionary: Dictionary, identifier: Identifier): Promise<AccessResult[]> {
  const observations: Observation[] = [];
  for (const port of ports) observations.push(...(await grabEndpoint({ scope, ip: device.ip, port, limits })));
  const host = identifyObservations(identifier, observations).hosts[0] ?? null;
  const hint = host ? { vendor: host.vendor, product: host.product, type: host.type } : null;
  const ref = dictionaryRef(dictionary);
  const results: AccessResult[] = [];
  for (const port of ports) {
    const target = { ip: device.ip, port, observations: observations.filter((o) => o.port === port) };
    for (const module of modules) {
      if (!module.applies(target)) continue;
      const list: Credential[] = orderFor(dictionary, hint, { protocol: module.protocol }).slice(0, listHead);
      const startedAt = new Date().toISOString();
      const ctx = loopbackContext(device.ip, port, limits);
      const v = await module.run(target, list, ctx);
      let verdict: AccessVerdict = v.controlAccepted ? 'accepts-any' : v.verdict;
      let entry = v.verdict === 'weak-credential' && !v.controlAccepted ? v.entry : null;
      if (verdict === 'weak-credential') {
        // Never a false alarm: a random pair that also logs in makes the host accepts-any.
        const control = await module.run(target, [{ id: 'control:1', ...randomPair() }], loopbackContext(device.ip, port, limits));
        if (control.verdict === 'weak-credential') {
          verdict = 'accepts-any';
          entry = null;
        }
      }
      results.push({
        kind: 'access-result', surveyId: null, endpointId: null, ip: device.ip, port, protocol: module.protocol, verdict, entry,
        username: entry ? (list.find((c) => c.id === entry)?.username ?? null) : null, reason: v.reason ?? null, attempts: v.attempts.length,
        planDigest: null, planVersion: null, dictionary: ref, startedAt, finishedAt: new Date().toISOString(),
      });
    }
  }
  return results;
}

describe('the access modules on a lab of every profile, weak and strong (stand-in for the stage)', () => {
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
          results.push(...(await runHost(device, [...new Set(d.services.map((s) => s.boundPort))].sort((a, b) => a - b), dictionary, identifier)));
        }
      }),
    );
    const score = scoreAccess(truth, results, (id) => byId.get(id));
    console.log(`access stand-in: ${summary(score)}`);
    expect(score.weakDevices).toBeGreaterThan(20);
    expect(score.honeypotServices).toBeGreaterThan(0);
    expect(Object.keys(score.lockoutVerdicts).length).toBeGreaterThan(0);
    expectLabAccessPerfect(score, lab.lockouts());
  }, 600_000);
});
