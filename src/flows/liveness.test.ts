/**
 * Liveness against real loopback listeners that stop and come back: the schedule thins out with
 * age, an indicator expires after N dead checks and revives when the endpoint answers again, and a
 * target outside the scope is refused by the guard and recorded out-of-scope (nothing sent).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileScope, defaultScope, parseScope } from '../scope/index.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import type { C2Candidate } from './types.js';
import { checkEndpoint, defaultPolicy, nextCheckMs, nextState, runDueChecks, type LivenessPolicy } from './liveness.js';

const H = 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'iotclean-liveness-'));
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

function listen(host: string, port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(port, host, () => {
      servers.push(s);
      resolve(s);
    });
  });
}
const stop = (s: Server) => new Promise<void>((r) => s.close(() => r()));
const portOf = (s: Server) => (s.address() as { port: number }).port;

const cand = (ip: string, port: number): C2Candidate => ({
  kind: 'c2-candidate',
  ip,
  port,
  proto: 'tcp',
  score: 0.9,
  firstSeen: '2026-11-02T00:00:00.000Z',
  lastSeen: '2026-11-02T05:00:00.000Z',
  clients: 10,
  knownBadClients: 4,
  evidence: [],
  window: { from: '2026-11-02T00:00:00.000Z', to: '2026-11-03T00:00:00.000Z' },
});

describe('liveness schedule', () => {
  it('checks hourly for 2 days, every 6 h to day 7, then daily, and stops at maxAge', () => {
    const d = Date.UTC(2026, 10, 2);
    expect(nextCheckMs(d, d + 5 * H, 'active')).toBe(d + 6 * H);
    expect(nextCheckMs(d, d + 50 * H, 'active')).toBe(d + 56 * H);
    expect(nextCheckMs(d, d + 8 * 24 * H, 'active')).toBe(d + 9 * 24 * H);
    expect(nextCheckMs(d, d + 5 * H, 'expired')).toBe(d + 29 * H);
    expect(nextCheckMs(d, d + defaultPolicy.maxAgeMs, 'active')).toBeNull();
  });

  it('expires after N consecutive dead checks, not after out-of-scope ones, and revives', () => {
    const c: { status: 'active' | 'expired'; deadStreak: number; detectedAt: string } = { status: 'active', deadStreak: 0, detectedAt: '2026-11-02T00:00:00.000Z' };
    const dead = (at: string) => ({ ip: '127.0.0.1', port: 1, at, alive: false, outcome: 'refused', ms: 1 });
    let s = { ...c };
    for (let i = 0; i < defaultPolicy.expireAfterDead - 1; i++) s = { ...s, ...nextState(s, dead('2026-11-02T01:00:00.000Z')) };
    expect(s.status).toBe('active');
    expect(nextState(s, { ...dead('2026-11-02T01:00:00.000Z'), outcome: 'out-of-scope' }).deadStreak).toBe(s.deadStreak);
    s = { ...s, ...nextState(s, dead('2026-11-02T02:00:00.000Z')) };
    expect(s.status).toBe('expired');
    const back = nextState(s, { ...dead('2026-11-03T02:00:00.000Z'), alive: true, outcome: 'connected' });
    expect(back).toMatchObject({ status: 'active', deadStreak: 0 });
  });
});

describe('liveness checks on loopback', () => {
  const scope = compileScope(defaultScope());

  it('connects to a listener, reports refused when it stops, and refuses out-of-scope targets', async () => {
    const s = await listen('127.77.0.1');
    const port = portOf(s);
    expect(await checkEndpoint(scope, '127.77.0.1', port, 'tcp')).toMatchObject({ alive: true, outcome: 'connected' });
    await stop(s);
    expect(await checkEndpoint(scope, '127.77.0.1', port, 'tcp')).toMatchObject({ alive: false, outcome: 'refused' });
    // A scope that does not hold 127.77.0.0/16: the guard refuses before any packet.
    const narrow = compileScope(parseScope('127.78.0.0/16\nallow-reserved 127.78.0.0/16\n', 'narrow'));
    expect(await checkEndpoint(narrow, '127.77.0.1', port, 'tcp')).toMatchObject({ alive: false, outcome: 'out-of-scope', ms: null });
    expect(await checkEndpoint(scope, '127.77.0.1', 53, 'udp')).toMatchObject({ outcome: 'not-tcp' });
  });

  it('stores history: alive, dies and expires, comes back and revives', async () => {
    let store: Store | undefined;
    try {
      store = await openStore(join(dir, 'live.db'));
      const s1 = await listen('127.77.0.2');
      const port = portOf(s1);
      const t0 = Date.UTC(2026, 11, 1);
      let clock = t0;
      const now = () => new Date(clock);
      const policy: LivenessPolicy = { ...defaultPolicy, expireAfterDead: 3, connectTimeoutMs: 2000 };
      const [id] = await store.flows.upsert([cand('127.77.0.2', port)], new Date(t0).toISOString());
      const tick = async () => {
        const r = await runDueChecks(store!, scope, { policy, now });
        clock += H;
        return r;
      };
      expect((await tick()).alive).toBe(1);
      await stop(s1);
      expect((await tick()).dead).toBe(1);
      await tick();
      const third = await tick();
      expect(third.expired).toBe(1);
      expect((await store.flows.get(id!))!.status).toBe('expired');
      // Expired: checked daily, not hourly.
      expect((await tick()).checked).toBe(0);
      clock += 24 * H;
      await listen('127.77.0.2', port);
      const back = await tick();
      expect(back).toMatchObject({ checked: 1, alive: 1, revived: 1 });
      const hist = await store.flows.history(id!);
      expect(hist.map((h) => h.outcome)).toEqual(['connected', 'refused', 'refused', 'refused', 'connected']);
      expect((await store.flows.get(id!))).toMatchObject({ status: 'active', deadStreak: 0, checks: 5 });
    } finally {
      await store?.close();
    }
  });
});
