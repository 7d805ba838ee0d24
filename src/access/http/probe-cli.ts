/**
 * Test and benchmark helper, run as a child process inside a test's network namespace (`ip netns
 * exec NS node --import tsx probe-cli.ts MODULE IP PORT LIST_JSON [SESSIONS]`): grab the endpoint, run one HTTP
 * access module with the given list, and print one JSON line with the verdict, the tries and the
 * elapsed time. Loopback targets only (the default scope refuses anything else).
 */
import { performance } from 'node:perf_hooks';
import type { AccessModule, Credential } from '../module.js';
import { httpBasicAccess, httpDigestAccess, httpFormAccess } from './index.js';
import { accessContext, grabbedTarget } from './test-support.js';

const modules: Readonly<Record<string, AccessModule>> = { 'http-basic': httpBasicAccess, 'http-digest': httpDigestAccess, 'http-form': httpFormAccess };

async function main(): Promise<void> {
  const [name = '', ip = '', portText = '', listJson = '[]', sessionsText = '1'] = process.argv.slice(2);
  const module = modules[name];
  if (!module || !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(ip)) throw new Error(`usage: probe-cli.ts http-basic|http-digest|http-form 127.x.y.z PORT LIST_JSON (got ${name} ${ip})`);
  const port = Number(portText);
  const list = JSON.parse(listJson) as Credential[];
  const target = await grabbedTarget(ip, port, 'http');
  const sessions = Number(sessionsText);
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 16) throw new Error(`sessions: 1..16 (got ${sessionsText})`);
  const ctx = { ...accessContext(ip, port), sessions };
  const t0 = performance.now();
  const verdict = await module.run(target, list, ctx);
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ applies: module.applies(target), verdict, ms, connections: ctx.opened() })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
