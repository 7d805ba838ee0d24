/**
 * Safety properties of a survey's scope, run in-process against real loopback listeners: shards
 * without --seed are disjoint and complete, an exclusion added before a resume is honoured (the
 * opted-out address is never contacted again), and scopes larger than a /8 need confirmation.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LARGE_SCOPE, resolveScope } from '../src/cli/context.js';
import { IotcleanError } from '../src/core/errors.js';
import { createRng } from '../src/core/rng.js';
import { parsePlan, type SurveyPlan } from '../src/discover/plan.js';
import { defaultSeed, runSurvey } from '../src/pipeline/survey.js';
import { compileScope, defaultScope, parseScope, restrictScope } from '../src/scope/scope.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { existsSync } from 'node:fs';
import { listenSpread, runCli, type Listeners } from './helpers.js';

// Unprivileged ports and /20s no other test uses, so parallel runs do not collide.
const PORTS = [2323, 8081, 37777];
const plan = (rate: number): SurveyPlan =>
  parsePlan(
    `version: "t-1"\nname: safety\nrate: ${rate}\nconcurrency: 256\ntimeoutMs: 2000\nretries: 1\nports:\n${PORTS.map((p) => `  - {port: ${p}, service: telnet, reason: test}\n`).join('')}`,
    'safety.yaml',
  );

let dir: string;
let store: Store | undefined;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iotclean-scope-safety-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const key = (e: { ip: string; port: number }): string => `${e.ip}:${e.port}`;

describe('shards without --seed', () => {
  let lab: Listeners;
  beforeAll(async () => {
    lab = await listenSpread('127.213.16.0', PORTS, 60, 5);
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('derive one seed from targets and ports, in 0…2^32−1', () => {
    const a = defaultSeed([{ start: 1, end: 9 }], [23, 80]);
    expect(defaultSeed([{ start: 1, end: 9 }], [23, 80])).toBe(a);
    expect(defaultSeed([{ start: 1, end: 10 }], [23, 80])).not.toBe(a);
    expect(defaultSeed([{ start: 1, end: 9 }], [23, 81])).not.toBe(a);
    expect(a >>> 0).toBe(a);
  });

  it('1/2 and 2/2, run separately, are disjoint and together find exactly the truth', { timeout: 120_000 }, async () => {
    store = await openStore(join(dir, 'shards.db'));
    const targets = restrictScope(compileScope(defaultScope()), ['127.213.16.0/20']);
    const scope = compileScope(defaultScope());
    const found: string[][] = [];
    const seeds: number[] = [];
    for (const index of [0, 1]) {
      const o = await runSurvey({ store, scope, targets, plan: plan(20000), shard: { index, count: 2 }, rate: 0, workers: 2 });
      expect(o.status).toBe('done');
      seeds.push((await store.surveys.get(o.surveyId))!.seed);
      found.push((await store.endpoints.all(o.surveyId)).map(key));
    }
    expect(seeds[0]).toBe(seeds[1]);
    const [one = [], two = []] = found;
    expect(one.filter((k) => two.includes(k))).toEqual([]);
    const all = [...one, ...two];
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([...lab.truth].sort());
  });
});

/** Listeners that count the connections they accept, at seeded addresses inside base/22. */
async function countingListeners(base: string, count: number): Promise<{ accepted: Map<string, number>; close(): Promise<void> }> {
  const [a, b, c] = base.split('.').map(Number) as [number, number, number];
  const rnd = createRng(77).next;
  const accepted = new Map<string, number>();
  const servers: net.Server[] = [];
  try {
    while (accepted.size < count) {
      const k = `${a}.${b}.${c + Math.floor(rnd() * 4)}.${1 + Math.floor(rnd() * 254)}:${PORTS[Math.floor(rnd() * PORTS.length)]}`;
      if (accepted.has(k)) continue;
      accepted.set(k, 0);
      const [ip = '', port = ''] = k.split(':');
      const server = net.createServer((sock) => {
        accepted.set(k, (accepted.get(k) ?? 0) + 1);
        sock.on('error', () => {}).destroy();
      });
      servers.push(server);
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(Number(port), ip, resolve));
    }
  } catch (e) {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    throw e;
  }
  return { accepted, close: async () => void (await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))) };
}

describe('opt-outs win on resume', () => {
  const BASE = '127.214.8.0';
  const scopeText = `include ${BASE}/22\nallow-reserved 127.0.0.0/8\n`;
  let lab: Awaited<ReturnType<typeof countingListeners>>;
  beforeAll(async () => {
    lab = await countingListeners(BASE, 40);
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('a resume applies an exclude added since: the excluded listener is never contacted, the rest are found', { timeout: 120_000 }, async () => {
    store = await openStore(join(dir, 'resume.db'));
    const first = compileScope(parseScope(scopeText, 'first.scope'));
    // 1,024 addresses × 3 ports at 1,500 probes/s take two seconds: the first report comes well before the end.
    const abort = new AbortController();
    const started = await runSurvey({
      store,
      scope: first,
      targets: first,
      plan: plan(1500),
      workers: 1,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.done > 0) abort.abort();
      },
    });
    expect(started.status).toBe('interrupted');
    const before = new Set((await store.endpoints.all(started.surveyId)).map(key));
    const pending = [...lab.accepted.keys()].filter((k) => !before.has(k));
    expect(pending.length).toBeGreaterThan(1);
    const optedOut = pending[0]!;
    const optedOutIp = optedOut.split(':')[0]!;

    // Widening (includes that no longer cover the targets) is still refused.
    const narrower = compileScope(parseScope(`include ${BASE}/23\nallow-reserved 127.0.0.0/8\n`, 'narrow.scope'));
    await expect(runSurvey({ store, scope: narrower, targets: narrower, plan: plan(20000), resume: started.surveyId })).rejects.toMatchObject({
      code: 'E_SCOPE_DENIED',
      message: expect.stringMatching(/does not include/),
    });

    for (const k of lab.accepted.keys()) lab.accepted.set(k, 0);
    const second = compileScope(parseScope(`${scopeText}exclude ${optedOutIp} # opt-out\n`, 'second.scope'));
    const resumed = await runSurvey({ store, scope: second, targets: second, plan: plan(20000), rate: 0, resume: started.surveyId });
    expect(resumed.status).toBe('done');
    expect(resumed.stats.denied).toBeGreaterThan(0);
    expect(lab.accepted.get(optedOut)).toBe(0);
    const stored = (await store.endpoints.all(started.surveyId)).map(key);
    expect(new Set(stored).size).toBe(stored.length);
    const want = [...lab.accepted.keys()].filter((k) => !k.startsWith(`${optedOutIp}:`)).sort();
    expect(stored.filter((k) => !k.startsWith(`${optedOutIp}:`)).sort()).toEqual(want);
    expect(stored.filter((k) => k.startsWith(`${optedOutIp}:`) && !before.has(k))).toEqual([]);
  });
});

describe('large scopes need confirmation', () => {
  const write = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it('the default loopback scope (exactly a /8) needs no flag', async () => {
    const { scope } = await resolveScope({});
    expect(scope.size).toBe(LARGE_SCOPE);
  });

  it('include 0.0.0.0/0 is refused with its size, and accepted with --confirm-large-scope minus the blocklist', async () => {
    const file = await write('world.scope', 'include 0.0.0.0/0\n');
    const e = await resolveScope({ scope: file }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(IotcleanError);
    expect((e as IotcleanError).code).toBe('E_SCOPE_DENIED');
    expect((e as IotcleanError).message).toMatch(/authorises 3,702,257,664 addresses, more than a \/8/);
    expect((e as IotcleanError).where.hint).toMatch(/--confirm-large-scope/);
    const { scope } = await resolveScope({ scope: file, 'confirm-large-scope': true });
    expect(scope.size).toBe(3_702_257_664);
    for (const ip of [0, 0xe2010203, 0xffffffff, 0x7f000001]) expect(scope.allows(ip)).toBe(false);
  });

  it('through the CLI: discover refuses before opening a store; iotclean scope shows what the blocklist removed', { timeout: 90_000 }, async () => {
    const file = await write('world-cli.scope', 'include 0.0.0.0/0\nallow-reserved 127.0.0.0/8\n');
    const db = join(dir, 'never.db');
    const refused = await runCli(['discover', '--scope', file, '--db', db]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/E_SCOPE_DENIED .*authorises 3,719,034,880 addresses/);
    expect(existsSync(db)).toBe(false);
    const checked = await runCli(['scope', file, '--json']);
    expect(checked.code, checked.stderr).toBe(0);
    const report = JSON.parse(checked.stdout) as { addresses: number; reserved: { block: string; addresses: number }[]; lifted: string[]; needsConfirmation: boolean };
    expect(report.addresses).toBe(3_719_034_880);
    expect(report.lifted).toEqual(['127.0.0.0/8']);
    expect(report.needsConfirmation).toBe(true);
    expect(report.reserved.find((r) => r.block === '224.0.0.0/4')?.addresses).toBe(2 ** 28);
    expect(report.reserved.find((r) => r.block === '127.0.0.0/8')).toBeUndefined();
  });

  it('one address more than a /8 is already too large', async () => {
    const file = await write('big.scope', 'include 127.0.0.0/8\ninclude 1.2.3.4\nallow-reserved 127.0.0.0/8\n');
    await expect(resolveScope({ scope: file })).rejects.toMatchObject({ code: 'E_SCOPE_DENIED', message: expect.stringMatching(/16,777,217 addresses/) });
    await expect(resolveScope({ scope: file, targets: '127.1.0.0/16' })).rejects.toMatchObject({ code: 'E_SCOPE_DENIED' });
    expect((await resolveScope({ scope: file, targets: '127.1.0.0/16', 'confirm-large-scope': true })).targets.size).toBe(65536);
  });
});

describe('plan modules', () => {
  it('a plan built in code whose stages cannot run together is refused before anything runs', async () => {
    store = await openStore(join(dir, 'modules.db'));
    const scope = restrictScope(compileScope(defaultScope()), ['127.215.0.1']);
    const asking = { ...plan(20000), modules: ['discover', 'vuln'] } as unknown as SurveyPlan;
    await expect(runSurvey({ store, scope, targets: scope, plan: asking })).rejects.toMatchObject({ code: 'E_PLAN_FILE', message: expect.stringMatching(/vuln without identify/) });
    expect(await store.surveys.list()).toEqual([]);
  });
});
