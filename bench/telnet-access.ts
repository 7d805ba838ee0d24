/**
 * bench/telnet-access: attempts/s of the telnet access module against the lab's telnet devices,
 * on host loopback (127.71.5.0/24, the telnet access tests' range). Each device gets a list of
 * --pairs entries with its right pair at --at (default 100 and 95, the issue's setting); one
 * session at a time per host, --hosts hosts in parallel. Prints attempts, seconds, attempts/s,
 * hosts found and false positives (a success on any entry but the right one). The lab's telnet
 * waits 100 ms after a wrong password (busybox waits 3 s: see src/access/telnet/busybox.test.ts).
 *
 * Usage: node --import tsx bench/telnet-access.ts [--pairs N] [--at K] [--hosts N] [--max-seconds S]
 *        [--sessions N]   (per host, default 1) [--fail-delay-ms MS]   (the lab's pause after a wrong password; default its own 100 ms)
 */
import { parseArgs } from 'node:util';
import { createTelnetAccess } from '../src/access/telnet/index.js';
import { loopbackContext, telnetTarget } from '../src/access/telnet/test-context.js';
import type { Credential } from '../src/access/module.js';
import { loadProfiles } from '../src/lab/profiles.js';
import { startLabInProcess } from '../src/lab/runtime.js';
import type { LabDevice } from '../src/lab/types.js';

const { values } = parseArgs({
  options: { pairs: { type: 'string', default: '100' }, at: { type: 'string', default: '95' }, hosts: { type: 'string', default: '4' }, 'max-seconds': { type: 'string', default: '120' }, 'fail-delay-ms': { type: 'string' }, sessions: { type: 'string', default: '1' } },
});
const pairs = Math.max(1, Math.min(1000, Number(values.pairs)));
const at = Math.max(1, Math.min(pairs, Number(values.at)));
const hosts = Math.max(1, Math.min(50, Number(values.hosts)));
const maxMs = Math.max(1, Number(values['max-seconds'])) * 1000;
/** Override the lab's pause after a wrong password (its telnet banner key failDelayMs). */
const failDelay = values['fail-delay-ms'];
/** Sessions per host (AccessContext.sessions; the survey's default is 1). */
const sessions = Math.max(1, Math.min(16, Number(values.sessions)));

const ids = ['huawei-hg8245h', 'zte-zxhn-h108n', 'xiongmai-nbd8004', 'yamaha-rtx1210', 'zte-zxhn-f660-odd-ports'];
const profiles = loadProfiles().filter((p) => ids.includes(p.id));
const devices: LabDevice[] = Array.from({ length: hosts }, (_, i) => {
  const base = profiles[i % profiles.length]!;
  const profile: LabDevice['profile'] =
    failDelay === undefined
      ? base
      : { ...base, services: base.services.map((s) => (s.protocol === 'telnet' ? { ...s, banner: { ...s.banner, failDelayMs: String(Math.max(0, Number(failDelay))) } } : s)) };
  const pair = profile.weakCredentials[0]!;
  return { id: `b-${i}`, ip: `127.71.5.${i + 10}`, ispId: 'bench', profile, weak: true, credentials: [pair] };
});
const lab = await startLabInProcess({ plan: { seed: 'bench-telnet', network: '127.71.5.0/24', weakShare: 1, isps: [], ispRows: [], devices } });
const module = createTelnetAccess();
const controller = new AbortController();
const timer = setTimeout(() => controller.abort(), maxMs);
try {
  const started = performance.now();
  const results = await Promise.all(
    devices.map(async (d) => {
      const service = d.profile.services.find((s) => s.protocol === 'telnet')!;
      const port = lab.portMap[String(service.port)] ?? service.port;
      const right = d.credentials[0]!;
      const list: Credential[] = Array.from({ length: pairs }, (_, i) => (i + 1 === at ? { id: `e${i + 1}`, ...right } : { id: `e${i + 1}`, username: right.username, password: `wrong-${i + 1}` }));
      const ctx = { ...loopbackContext(d.ip, port), signal: controller.signal, sessions };
      const v = await module.run(telnetTarget(d.ip, port), list, ctx);
      const wrongs = v.attempts.filter((a) => a.outcome === 'success' && a.entry !== `e${at}`).length;
      return { found: v.entry === `e${at}`, attempts: v.attempts.length, falsePositives: wrongs };
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const attempts = results.reduce((n, r) => n + r.attempts, 0);
  console.log(`telnet access vs lab: ${hosts} hosts, ${sessions} session(s) per host, ${pairs} pairs, right one at #${at}`);
  console.log(`  attempts ${attempts} in ${seconds.toFixed(2)} s = ${(attempts / seconds).toFixed(1)} attempts/s (${(attempts / seconds / hosts).toFixed(1)} per host)`);
  console.log(`  hosts found ${results.filter((r) => r.found).length}/${hosts}, hosts finished/s ${(hosts / seconds).toFixed(2)}, false positives ${results.reduce((n, r) => n + r.falsePositives, 0)}`);
} finally {
  clearTimeout(timer);
  await lab.close();
}
