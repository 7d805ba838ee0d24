/**
 * The runner's decisions, with scripted modules standing in for devices: the accepts-any
 * re-check, the lock-out back-off, one host's services in turn, the budget, and the audit.
 * The real modules against the lab and real daemons are tested in their own folders and in
 * test/access-lab.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Observation } from '../core/records.js';
import { checkAccessAttempt, checkAccessResult } from '../core/schemas.js';
import { compileScope, defaultScope } from '../scope/scope.js';
import { parseDictionary } from './dictionary/dictionary.js';
import type { AccessModule, AccessProtocol, Attempt, Credential, ModuleVerdict } from './module.js';
import { checkHost, controlCredential, type AccessHost, type AccessRunOptions } from './runner.js';

const dictionary = parseDictionary(
  [
    'version: "t1"',
    'name: test',
    'sources: { t: { title: test, url: "https://example.invalid/" } }',
    'entries:',
    '  - { id: e-1, username: root, password: "xc3511", sources: [t] }',
    '  - { id: e-2, username: admin, password: admin, sources: [t] }',
    '  - { id: e-3, username: admin, password: "1234", sources: [t], vendors: [Acme] }',
    '  - { id: e-4, username: user, password: user, sources: [t] }',
    '  - { id: e-5, username: guest, password: guest, sources: [t] }',
  ].join('\n'),
  'test.yaml',
);

/** A device as a script: which usernames/passwords get in, when it locks. */
interface Script {
  readonly accepts: (c: Credential) => boolean;
  /** Refuse as locked after this many failures (counted across the host's services). */
  readonly lockAfter?: number;
  /** Lock again on every try once locked (never unlocks during the test). */
  readonly staysLocked?: boolean;
  /** The HTTP-style own control: report controlAccepted when a random pair gets in. */
  readonly ownControl?: boolean;
  readonly throws?: boolean;
  /** The n-th call (0-based) ends in error (a device that stops answering). */
  readonly errorOnCall?: number;
}

function scripted(protocol: AccessProtocol, script: Script, state: { failures: number; locked: boolean; calls: Credential[][] }): AccessModule {
  return {
    protocol,
    description: `scripted ${protocol}`,
    applies: (t) => t.observations.some((o) => o.module === protocol),
    async run(_target, credentials, _ctx): Promise<ModuleVerdict> {
      state.calls.push([...credentials]);
      if (script.throws) throw new Error('device sent garbage');
      if (script.errorOnCall === state.calls.length - 1) return { verdict: 'error', entry: null, attempts: [], reason: 'connection-refused' };
      const attempts: Attempt[] = [];
      const at = new Date().toISOString();
      if (script.ownControl && script.accepts({ id: 'x', username: 'zz-random', password: 'zz-random' })) {
        return { verdict: 'weak-credential', entry: credentials[0]!.id, attempts, controlAccepted: true };
      }
      for (const c of credentials) {
        if (state.locked) {
          attempts.push({ entry: c.id, username: c.username, outcome: 'locked-out', startedAt: at, durationMs: 1 });
          // The lock lapses (the back-off outlasted it) and the count starts afresh, as on the lab.
          if (!script.staysLocked) {
            state.locked = false;
            state.failures = 0;
          }
          return { verdict: 'locked-out', entry: null, attempts, reason: 'Account locked' };
        }
        if (script.accepts(c)) {
          attempts.push({ entry: c.id, username: c.username, outcome: 'success', startedAt: at, durationMs: 1 });
          return { verdict: 'weak-credential', entry: c.id, attempts };
        }
        attempts.push({ entry: c.id, username: c.username, outcome: 'failure', startedAt: at, durationMs: 1 });
        state.failures++;
        if (script.lockAfter !== undefined && state.failures >= script.lockAfter) state.locked = true;
      }
      return { verdict: 'no-weak-credential', entry: null, attempts };
    },
  };
}

function obs(ip: string, port: number, module: string): Observation {
  return { kind: 'observation', surveyId: null, endpointId: null, ip, port, module, status: 'success', recognised: true, fields: {}, raw: '', bytesReceived: 0, observedAt: new Date(0).toISOString(), durationMs: 0, source: 'grab' };
}

function host(ports: readonly (readonly [number, string])[], hint: AccessHost['hint'] = null): AccessHost {
  return { ip: '127.0.0.9', endpoints: ports.map(([port, module]) => ({ endpointId: null, port, observations: [obs('127.0.0.9', port, module)] })), hint };
}

function options(modules: readonly AccessModule[], extra: Partial<AccessRunOptions> = {}): AccessRunOptions {
  let n = 0;
  return {
    scope: compileScope(defaultScope()),
    dictionary,
    surveyId: null,
    planDigest: null,
    planVersion: 'p1',
    pauseMs: 0,
    maxAttemptsPerHost: 600,
    lockoutBackoffMs: 0,
    modules,
    random: (k) => Buffer.alloc(k, ++n),
    ...extra,
  };
}

const fresh = () => ({ failures: 0, locked: false, calls: [] as Credential[][] });

describe('access runner', () => {
  it('reports a weak pair only after a random pair is refused, with valid records', async () => {
    const state = fresh();
    const out = await checkHost(host([[23, 'telnet']]), options([scripted('telnet', { accepts: (c) => c.username === 'admin' && c.password === 'admin' }, state)]));
    expect(out).toHaveLength(1);
    const { result, attempts } = out[0]!;
    expect(result).toMatchObject({ verdict: 'weak-credential', entry: 'e-2', username: 'admin', protocol: 'telnet', port: 23, reason: null });
    // The second call is the re-check: one random pair, never a dictionary entry.
    expect(state.calls).toHaveLength(2);
    expect(state.calls[1]).toHaveLength(1);
    expect(state.calls[1]![0]!.id).toBe('control:1');
    expect(dictionary.entries.some((e) => e.username === state.calls[1]![0]!.username)).toBe(false);
    expect(attempts.map((a) => [a.entry, a.outcome])).toEqual([
      ['e-1', 'failure'],
      ['e-2', 'success'],
      ['control:1', 'failure'],
    ]);
    expect(result.attempts).toBe(3);
    expect(() => checkAccessResult(result)).not.toThrow();
    for (const a of attempts) expect(() => checkAccessAttempt(a)).not.toThrow();
    // Nothing in the records carries a password.
    expect(JSON.stringify(out)).not.toContain('"admin","password"');
    expect(JSON.stringify(out)).not.toMatch(/xc3511|password/);
  });

  it('a host that lets the random pair in is accepts-any, never weak', async () => {
    const out = await checkHost(host([[23, 'telnet']]), options([scripted('telnet', { accepts: () => true }, fresh())]));
    expect(out[0]!.result).toMatchObject({ verdict: 'accepts-any', entry: null, username: null });
  });

  it("a module's own control that got in is accepts-any", async () => {
    const state = fresh();
    const out = await checkHost(host([[80, 'http-basic']]), options([scripted('http-basic', { accepts: () => true, ownControl: true }, state)]));
    expect(out[0]!.result.verdict).toBe('accepts-any');
    expect(state.calls).toHaveLength(1);
  });

  it('a re-check that cannot be completed is an error, not a weak report', async () => {
    const state = fresh();
    // Accepts admin/admin, then stops answering: the re-check cannot say whether it takes anything.
    const module = scripted('telnet', { accepts: (c) => c.password === 'admin', errorOnCall: 1 }, state);
    const out = await checkHost(host([[23, 'telnet']]), options([module]));
    expect(out[0]!.result.verdict).toBe('error');
    expect(out[0]!.result.entry).toBeNull();
    expect(out[0]!.result.reason).toContain('e-2 logged in');
  });

  it('orders the list by the identified maker', async () => {
    const state = fresh();
    await checkHost(host([[23, 'telnet']], { vendor: 'Acme', product: null, type: null }), options([scripted('telnet', { accepts: () => false }, state)]));
    expect(state.calls[0]!.map((c) => c.id)).toEqual(['e-3', 'e-1', 'e-2', 'e-4', 'e-5']);
  });

  it('backs off once after a lock-out and goes on from the refused entry', async () => {
    const state = fresh();
    const module = scripted('telnet', { accepts: (c) => c.username === 'guest', lockAfter: 3 }, state);
    const out = await checkHost(host([[23, 'telnet']]), options([module], { lockoutBackoffMs: 5 }));
    // First run: e-1..e-3 fail, e-4 meets the lock; after the back-off: e-4, then e-5 (weak).
    expect(state.calls[1]!.map((c) => c.id)).toEqual(['e-4', 'e-5']);
    expect(out[0]!.result).toMatchObject({ verdict: 'weak-credential', entry: 'e-5' });
  });

  it('a host still locked after the back-off is locked-out, and its other services are not hammered', async () => {
    const state = fresh();
    const script = { accepts: () => false, lockAfter: 2, staysLocked: true };
    const out = await checkHost(host([[23, 'telnet'], [80, 'http-basic']]), options([scripted('telnet', script, state), scripted('http-basic', script, state)]));
    expect(out.map((o) => [o.result.protocol, o.result.verdict])).toEqual([
      ['telnet', 'locked-out'],
      ['http-basic', 'locked-out'],
    ]);
    // Without a back-off the second service is reported without a single try.
    expect(out[1]!.attempts).toHaveLength(0);
    expect(out[1]!.result.reason).toContain('telnet/23');
    expect(state.calls).toHaveLength(1);
  });

  it('checks a page offering Digest and Basic once, with Digest', async () => {
    const state = fresh();
    const both: AccessHost = { ip: '127.0.0.9', endpoints: [{ endpointId: null, port: 80, observations: [obs('127.0.0.9', 80, 'http-digest'), obs('127.0.0.9', 80, 'http-basic')] }], hint: null };
    const out = await checkHost(both, options([scripted('http-digest', { accepts: () => false }, state), scripted('http-basic', { accepts: () => false }, state)]));
    expect(out.map((o) => o.result.protocol)).toEqual(['http-digest']);
  });

  it("shares one budget fairly over the host's services", async () => {
    const state = fresh();
    const refuse = { accepts: () => false };
    const three = host([[23, 'telnet'], [22, 'ssh'], [80, 'http-basic']]);
    const out = await checkHost(three, options([scripted('telnet', refuse, state), scripted('ssh', refuse, state), scripted('http-basic', refuse, state)], { maxAttemptsPerHost: 7 }));
    // A strong first service cannot starve the others: 7 tries split 3 + 2 + 2.
    expect(state.calls.map((c) => c.length)).toEqual([3, 2, 2]);
    expect(out.map((o) => o.result.verdict)).toEqual(['no-weak-credential', 'no-weak-credential', 'no-weak-credential']);
    // What a service leaves unspent goes to the ones after it.
    const again = fresh();
    await checkHost(host([[23, 'telnet'], [22, 'ssh']]), options([scripted('telnet', { accepts: (c) => c.id === 'e-1' }, again), scripted('ssh', refuse, again)], { maxAttemptsPerHost: 7 }));
    expect(again.calls.map((c) => c.length)).toEqual([4, 1, 5]);
  });

  it('a module that throws is an error result naming it; services already checked are skipped', async () => {
    const out = await checkHost(host([[23, 'telnet'], [22, 'ssh']]), options([scripted('telnet', { accepts: () => false, throws: true }, fresh()), scripted('ssh', { accepts: () => false }, fresh())], { skip: new Set(['127.0.0.9:22:ssh']) }));
    expect(out).toHaveLength(1);
    expect(out[0]!.result).toMatchObject({ verdict: 'error', protocol: 'telnet' });
    expect(out[0]!.result.reason).toContain('device sent garbage');
  });

  it('control pairs are random and never a dictionary pair', () => {
    const a = controlCredential(1);
    const b = controlCredential(2);
    expect(a.username).not.toBe(b.username);
    expect(a.password).toMatch(/^p[0-9a-f]{16}$/);
  });
});
