/**
 * Benchmark: the identification engine alone, on synthetic observations (only data: nothing is
 * sent anywhere). Builds N observations (default 200,000) from a seeded, survey-like mix: the lab
 * profiles' banners as the grab records them (most real banners repeat: one firmware, many homes),
 * variants with per-device values (versions, host names, serial numbers in realms) and noise that
 * no rule should claim. Runs identifyEndpoint on each, with the engine's memo of repeated texts and
 * without it, and prints observations/s against the 50,000/s target and how many got a device.
 *
 * Run: npx tsx bench/identify.ts [--count N] [--seed S] [--recog DIR]
 *   --recog DIR  also load Recog's XML databases (Recog's xml/ folder) into the identifier.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { Observation } from '../src/core/records.js';
import { createRng, type Rng } from '../src/core/rng.js';
import { loadProfiles } from '../src/lab/profiles.js';
import { createIdentifier } from '../src/identify/engine.js';
import { loadIdentifier } from '../src/identify/load.js';
import { ftpFields, httpFields, mqttFields, observation, profileObservation, rtspFields, sshFields, telnetFields } from '../src/identify/test-support.js';

const TARGET_PER_SECOND = 50_000;
const MAX_COUNT = 2_000_000;

function options(): { count: number; seed: string; recog: string | undefined } {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '200000' }, seed: { type: 'string', default: 'identify-bench' }, recog: { type: 'string' } },
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new Error(`--count must be an integer in 1..${MAX_COUNT}`);
  return { count, seed: values.seed, recog: values.recog };
}

const hex = (rng: Rng, n: number): string => Array.from({ length: n }, () => '0123456789ABCDEF'[rng.int(16)]).join('');

/** Observations with per-device values, the way a real population varies. */
function variant(rng: Rng, ip: string): Observation {
  switch (rng.int(10)) {
    case 0:
      return observation('ssh', sshFields(`SSH-2.0-dropbear_20${10 + rng.int(13)}.${rng.int(90)}`), { ip, port: 22 });
    case 1:
      return observation('ssh', sshFields(`SSH-2.0-OpenSSH_${5 + rng.int(5)}.${rng.int(10)}p1 Debian-${rng.int(9)}+deb${7 + rng.int(5)}u${rng.int(9)}`), { ip, port: 22 });
    case 2:
      return observation('http', httpFields({ server: `lighttpd/1.4.${rng.int(70)}`, title: `${hex(rng, 6)} - Synology DiskStation` }), { ip, port: 5000 });
    case 3:
      return observation('rtsp', rtspFields('Rtsp Server/3.0', `Login to ${hex(rng, 15)}`), { ip, port: 554 });
    case 4:
      return observation('http', httpFields({ title: rng.pick(['Aterm WG2600HP', 'Aterm WX3600HP', 'AirStation WSR-1166DHP', 'Qwatch TS-WRLP', 'LAN DISK HDL-AA2']), server: 'httpd' }), { ip, port: 80 });
    case 5:
      return observation('telnet', telnetFields(`${rng.pick(['RTX1210', 'RTX830', 'NVR510'])} Rev.${10 + rng.int(6)}.01.${rng.int(40)}\r\n`, 'Password:'), { ip, port: 23 });
    case 6:
      return observation('http', httpFields({ server: `nginx/1.${rng.int(26)}.${rng.int(5)}`, title: `Welcome ${hex(rng, 4)}` }), { ip, port: 443 });
    case 7:
      return observation('ftp', ftpFields(`220 ${hex(rng, 8)} FTP server ready.`), { ip, port: 21 });
    case 8:
      return observation('mqtt', mqttFields(`mosquitto version 2.0.${rng.int(20)}`), { ip, port: 1883 });
    default:
      return observation('http', httpFields({ server: 'Apache', title: `Index of /${hex(rng, 5)}`, body: `<html><body>${hex(rng, 200)}</body></html>` }), { ip, port: 8080 });
  }
}

/** The seeded observation mix (exported for experiments that plug in other rule sources). */
export function build(count: number, seed: string): Observation[] {
  const rng = createRng(seed);
  const profiles = loadProfiles();
  const base: Observation[] = [];
  for (const p of profiles) for (const s of p.services) {
    const o = profileObservation(p, s, '127.70.0.1');
    if (o) base.push(o);
  }
  const out: Observation[] = [];
  for (let i = 0; i < count; i++) {
    const ip = `127.70.${(i >> 8) & 255}.${i & 255}`;
    const r = rng.next();
    if (r < 0.6) out.push({ ...rng.pick(base), ip });
    else out.push(variant(rng, ip));
  }
  return out;
}

function main(): void {
  const { count, seed, recog } = options();
  const observations = build(count, seed);
  const loaded = loadIdentifier({ ...(recog !== undefined ? { recogDir: recog } : {}) });
  for (const w of loaded.report.warnings) console.log(`warning: ${w}`);
  const rules = loaded.report.sources.map((s) => `${s.name} ${s.rules}`).join(', ');
  console.log(`identify bench: ${count.toLocaleString('en')} observations, rule sources: ${rules}; catalogue ${loaded.report.catalogueEntries} models`);

  const runs = [
    { name: 'with memo', identifier: loaded.identifier },
    { name: 'no memo', identifier: createIdentifier({ sources: loaded.identifier.sources, catalogue: loaded.identifier.catalogue, cacheEntries: 0 }) },
  ];
  for (const run of runs) {
    // Warm up the JIT (and the memo, as a long survey would have) on the first part.
    for (let i = 0; i < Math.min(20_000, count); i++) run.identifier.identifyEndpoint([observations[i] as Observation]);
    let devices = 0;
    let services = 0;
    const t0 = process.hrtime.bigint();
    for (const o of observations) {
      const id = run.identifier.identifyEndpoint([o]);
      if (id.device !== null || id.type !== null) devices++;
      else if (id.service !== null) services++;
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const perSecond = count / seconds;
    console.log(
      `  ${run.name.padEnd(9)} ${Math.round(perSecond).toLocaleString('en').padStart(10)} observations/s ` +
        `(${(perSecond / TARGET_PER_SECOND).toFixed(2)}× the ${TARGET_PER_SECOND.toLocaleString('en')}/s target), ` +
        `${seconds.toFixed(2)} s; device or type: ${devices.toLocaleString('en')}, service only: ${services.toLocaleString('en')}`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
