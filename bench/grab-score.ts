/**
 * bench/grab's sample and scoring, kept apart from the processes so a test can check them.
 *
 * The sample is whole lab devices (every service of each), taken one profile after another in a
 * seeded order until it holds the endpoints asked for: every profile, so every protocol the lab
 * speaks, is covered even in a small sample, and both tools see exactly the same open endpoints
 * (nmap scans the sampled addresses on the union of their ports; only their services listen).
 *
 * Scoring is per device against the lab's ground truth, as fairly to nmap as we can make it:
 * - known device: iotclean is right when its merged identification has the device's type and
 *   vendor; nmap is right when the vendor is named anywhere in what it printed for the host's
 *   ports (product, extrainfo, devicetype, hostname or CPE). nmap is not asked for the type,
 *   which it seldom prints: the rule favours the reference tool.
 * - unknown device (ground truth `identity: 'unknown'`, or a vendor written in parentheses, as the
 *   lab's tarpit, garbage, endless and honeypot devices are): right when the tool claims no device,
 *   i.e. no device type (iotclean type null/other/server; nmap no devicetype other than "general
 *   purpose"/"specialized"), whatever service software it names.
 * - ambiguous device (`identity: 'ambiguous'`, or vendor "Generic"): right when the tool names no
 *   wrong device: no device type, or the right one.
 * iotclean's "wrong at high confidence" counts devices whose identification claims a device type
 * with confidence ≥ 0.8 and is not right.
 * Service software, per endpoint, where the ground truth names it (`software`: dropbear 2019.78):
 * right when the tool's product names it and, if the truth has a version, the version is equal
 * (nmap's first version word; iotclean's service layer, or its flat fields).
 */
import { XMLParser } from 'fast-xml-parser';
import { createRng } from '../src/core/rng.js';
import type { GroundTruthDevice } from '../src/lab/ground-truth.js';

/** What identification of a device can be expected to find. */
export type Expectation = 'known' | 'ambiguous' | 'unknown';

/** The expectation for a ground-truth device: its `identity` when the lab records one, else from the vendor. */
export function expectationOf(d: GroundTruthDevice): Expectation {
  const identity = (d as { identity?: unknown }).identity;
  if (identity === 'known' || identity === 'ambiguous' || identity === 'unknown') return identity;
  if (/^\(.*\)$/.test(d.vendor.trim())) return 'unknown';
  if (/^generic$/i.test(d.vendor.trim())) return 'ambiguous';
  return 'known';
}

/**
 * Whole devices, profiles taken in turn (seeded order within each profile), until the sample holds
 * at least `endpoints` services or the lab runs out.
 */
export function pickDevices(devices: readonly GroundTruthDevice[], endpoints: number, seed: string | number): GroundTruthDevice[] {
  const rng = createRng(seed);
  const byProfile = new Map<string, GroundTruthDevice[]>();
  for (const d of devices) {
    if (d.services.length === 0) continue;
    const list = byProfile.get(d.profile) ?? [];
    list.push(d);
    byProfile.set(d.profile, list);
  }
  const queues = [...byProfile.keys()].sort().map((k) => shuffle(byProfile.get(k)!, rng.int));
  const picked: GroundTruthDevice[] = [];
  let count = 0;
  while (count < endpoints && queues.some((q) => q.length > 0)) {
    for (const q of queues) {
      const d = q.shift();
      if (!d) continue;
      picked.push(d);
      count += d.services.length;
      if (count >= endpoints) break;
    }
  }
  return picked;
}

function shuffle<T>(items: readonly T[], int: (n: number) => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Lower case, letters and digits only: "TP-LINK Technologies" → "tplinktechnologies". */
const squash = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, '');

/** Whether `claim` names the vendor `truth` (either contains the other, ignoring case and punctuation). */
export function vendorMatches(truth: string, claim: string | null | undefined): boolean {
  if (!claim) return false;
  const t = squash(truth);
  const c = squash(claim);
  if (t.length < 2 || c.length < 2) return false;
  return c.includes(t) || (c.length >= 3 && t.includes(c));
}

/** The software a lab service really runs (ground truth `software`, when the lab records it). */
export interface Software {
  readonly vendor?: string;
  readonly product: string;
  readonly version?: string;
}

/** The software of a ground-truth service, or undefined when the lab does not say. */
export function softwareOf(service: GroundTruthDevice['services'][number]): Software | undefined {
  const sw = (service as { software?: unknown }).software;
  if (typeof sw !== 'object' || sw === null || typeof (sw as Software).product !== 'string') return undefined;
  return sw as Software;
}

/** Whether a claimed product and version are the software's: product named, version equal when the truth gives one. */
export function softwareMatches(sw: Software, product: string | null | undefined, version: string | null | undefined): boolean {
  if (!vendorMatches(sw.product, product)) return false;
  if (sw.version === undefined) return true;
  // nmap prints "9.2p1 Debian 2+deb12u10" where a rule says "9.2p1": the first word is the version.
  return (version ?? '').trim().split(/\s+/)[0] === sw.version;
}

/** One row of `iotclean devices --json` (the fields this benchmark reads). */
export interface DeviceRow {
  readonly ip: string;
  readonly port: number | null;
  readonly protocol: string | null;
  readonly type: string | null;
  readonly vendor: string | null;
  readonly product: string | null;
  readonly version: string | null;
  readonly confidence: number | null;
  readonly rule: string | null;
  /** The service layer, when `devices` prints it (the flat fields may be the device's). */
  readonly service?: { readonly vendor: string | null; readonly product: string | null; readonly version: string | null } | null;
}

/** Whether iotclean's row for an endpoint names its software (the service layer when printed, else the flat fields). */
export function iotcleanSoftwareRight(sw: Software, r: DeviceRow | undefined): boolean {
  if (!r) return false;
  const layer = r.service ?? r;
  return softwareMatches(sw, layer.product, layer.version) || softwareMatches(sw, r.product, r.version);
}

/** Whether nmap's port names the software (product and version). */
export function nmapSoftwareRight(sw: Software, p: NmapPort | undefined): boolean {
  return p !== undefined && p.state === 'open' && softwareMatches(sw, p.product, p.version);
}

/** Types that claim no device: the service layer only. */
const noDevice = new Set([null, 'other', 'server']);

/**
 * iotclean's identification of one host: its host row (port null) when `devices` prints one,
 * else the endpoint row that claims a device type with the highest confidence, else any row.
 */
export function hostIdentification(rows: readonly DeviceRow[]): DeviceRow | undefined {
  const host = rows.find((r) => r.port === null);
  if (host) return host;
  const claiming = rows.filter((r) => !noDevice.has(r.type)).sort((a, b) => (b.confidence ?? 0) - (a.confidence ?? 0));
  return claiming[0] ?? rows[0];
}

/** A device's score for one tool. */
export interface Score {
  readonly correct: boolean;
  /** What the tool said, for the mistakes list. */
  readonly said: string;
  /** iotclean only: claimed a device at confidence ≥ 0.8 and was not right. */
  readonly wrongHighConfidence?: boolean;
}

/** Score iotclean's rows for one device (see the rules at the top of this file). */
export function scoreIotclean(d: GroundTruthDevice, rows: readonly DeviceRow[]): Score {
  const id = hostIdentification(rows);
  const type = id?.type ?? null;
  const claims = !noDevice.has(type);
  const expect = expectationOf(d);
  const correct =
    expect === 'known' ? type === d.type && vendorMatches(d.vendor, id?.vendor) : expect === 'unknown' ? !claims : !claims || type === d.type;
  const said = id ? `${type ?? '-'} / ${id.vendor ?? '-'} / ${id.product ?? '-'} ${id.version ?? ''} (${id.rule ?? 'no rule'}, ${(id.confidence ?? 0).toFixed(2)})` : 'no rows';
  return { correct, said, wrongHighConfidence: claims && !correct && (id?.confidence ?? 0) >= 0.8 };
}

/** One port as nmap -sV printed it in -oX. */
export interface NmapPort {
  readonly port: number;
  readonly state: string;
  readonly name?: string;
  readonly product?: string;
  readonly version?: string;
  readonly extrainfo?: string;
  readonly devicetype?: string;
  readonly hostname?: string;
  readonly cpe: readonly string[];
}

/** nmap's device types that name no device. */
const nmapNoDevice = new Set(['general purpose', 'specialized']);

/** nmap's devicetype → our device types, for ambiguous devices (nmap-service-probes' d/ values). */
const nmapTypes: Readonly<Record<string, string>> = {
  webcam: 'camera',
  router: 'router',
  'broadband router': 'router',
  wap: 'access-point',
  'storage-misc': 'nas',
  'security-misc': 'dvr',
  'media device': 'media',
  printer: 'printer',
  switch: 'switch',
  firewall: 'firewall',
  'voip phone': 'voip',
  'voip adapter': 'voip',
};

/** Score nmap's ports for one device (see the rules at the top of this file). */
export function scoreNmap(d: GroundTruthDevice, ports: readonly NmapPort[]): Score {
  const open = ports.filter((p) => p.state === 'open');
  const text = open.flatMap((p) => [p.product, p.extrainfo, p.devicetype, p.hostname, ...p.cpe]).filter((x): x is string => !!x);
  const devicetypes = open.map((p) => p.devicetype?.toLowerCase()).filter((t): t is string => !!t && !nmapNoDevice.has(t));
  const expect = expectationOf(d);
  const correct =
    expect === 'known'
      ? text.some((t) => vendorMatches(d.vendor, t))
      : expect === 'unknown'
        ? devicetypes.length === 0
        : devicetypes.every((t) => nmapTypes[t] === d.type);
  const said = open.length === 0 ? 'no open port reported' : open.map((p) => `${p.port}:${p.name ?? '?'}${p.product ? ` "${p.product}${p.version ? ` ${p.version}` : ''}"` : ''}${p.devicetype ? ` [${p.devicetype}]` : ''}`).join(', ');
  return { correct, said };
}

/** nmap's -oX output → the ports of each host address. Hosts it dropped (host timeout) are absent. */
export function parseNmapXml(xml: string): Map<string, NmapPort[]> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['host', 'port', 'cpe', 'address'].includes(name) });
  const doc = parser.parse(xml) as { nmaprun?: { host?: NmapHostXml[] } };
  const out = new Map<string, NmapPort[]>();
  for (const host of doc.nmaprun?.host ?? []) {
    const addr = host.address?.find((a) => a.addrtype === 'ipv4')?.addr;
    if (!addr) continue;
    const ports: NmapPort[] = (host.ports?.port ?? []).map((p) => {
      const s = p.service ?? {};
      const cpe = (s.cpe ?? []).map((c) => (typeof c === 'string' ? c : String(c['#text'] ?? '')));
      return {
        port: Number(p.portid),
        state: p.state?.state ?? 'unknown',
        ...optional({ name: s.name, product: s.product, version: s.version, extrainfo: s.extrainfo, devicetype: s.devicetype, hostname: s.hostname }),
        cpe,
      };
    });
    out.set(addr, ports);
  }
  return out;
}

interface NmapHostXml {
  address?: { addr?: string; addrtype?: string }[];
  ports?: { port?: { portid?: string; state?: { state?: string }; service?: NmapServiceXml }[] };
}
interface NmapServiceXml {
  name?: string;
  product?: string;
  version?: string;
  extrainfo?: string;
  devicetype?: string;
  hostname?: string;
  cpe?: (string | { '#text'?: string })[];
}

function optional(o: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') out[k] = String(v);
  return out;
}
