/**
 * Test and bench helper, not part of the product: run the telnet access module once against
 * ip:port and print its verdict as one JSON line. The busybox test runs it inside its network
 * namespace (`ip netns exec NS node --import tsx netns-probe.ts '<json>'`), since a real login
 * there is reachable only from inside. The address must be loopback (the default scope refuses
 * anything else).
 *
 * Argument: {"ip", "port", "credentials": [{id, username, password}], "sessions"?: n, "limits"?: {...}}
 */
import { z } from 'zod';
import { telnetAccess } from './index.js';
import { loopbackContext, telnetTarget } from './test-context.js';

const Args = z.object({
  ip: z.string(),
  port: z.int().min(1).max(65_535),
  sessions: z.int().min(1).max(16).optional(),
  credentials: z.array(z.object({ id: z.string(), username: z.string(), password: z.string() })).max(10_000),
  limits: z
    .object({
      connectTimeoutMs: z.int().positive(),
      firstByteTimeoutMs: z.int().positive(),
      idleTimeoutMs: z.int().positive(),
      deadlineMs: z.int().positive(),
      maxBytes: z.int().positive(),
    })
    .partial()
    .optional(),
});

const args = Args.parse(JSON.parse(process.argv[2] ?? '{}'));
const started = performance.now();
const verdict = await telnetAccess.run(telnetTarget(args.ip, args.port), args.credentials, { ...loopbackContext(args.ip, args.port, args.limits ?? {}), sessions: args.sessions ?? 1 });
const elapsedMs = Math.round(performance.now() - started);
process.stdout.write(`${JSON.stringify({ ...verdict, elapsedMs })}\n`);
