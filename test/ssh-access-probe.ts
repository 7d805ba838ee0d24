/**
 * Runs the ssh access module once and prints its verdict as JSON, for tests whose SSH servers live
 * in a network namespace (run it with `ip netns exec NS node --import tsx test/ssh-access-probe.ts
 * JSON`). JSON: { ip, port, credentials: [{id, username, password}], pauseMs? }; the target must be
 * inside the default (loopback) scope. Output: the ModuleVerdict plus elapsedMs.
 */
import { z } from 'zod';
import { sshAccess } from '../src/access/ssh/index.js';
import { grabWith } from '../src/grab/runner.js';
import { sshModule } from '../src/grab/ssh/index.js';
import { defaultLimits, openConnection } from '../src/scope/connection.js';
import { compileScope, defaultScope } from '../src/scope/scope.js';

const input = z
  .object({
    ip: z.string(),
    port: z.number().int().min(1).max(65535),
    credentials: z.array(z.object({ id: z.string(), username: z.string(), password: z.string() })).max(1000),
    pauseMs: z.number().int().min(0).max(10_000).optional(),
  })
  .parse(JSON.parse(process.argv[2] ?? '{}'));

const scope = compileScope(defaultScope());
const limits = { ...defaultLimits, deadlineMs: 60_000 };
const observation = await grabWith({ scope, ip: input.ip, port: input.port, limits: defaultLimits }, sshModule);
const target = { ip: input.ip, port: input.port, observations: [observation] };
const t0 = performance.now();
const verdict = await sshAccess.run(target, input.credentials, { scope, limits, pauseMs: input.pauseMs ?? 0, open: () => openConnection(scope, input.ip, input.port, limits) });
const elapsedMs = Math.round(performance.now() - t0);
process.stdout.write(`${JSON.stringify({ applies: sshAccess.applies(target), authMethods: observation.fields['authMethods'] ?? null, ...verdict, elapsedMs })}\n`);
