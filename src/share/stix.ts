/**
 * C&C candidates → one STIX 2.1 bundle (OASIS STIX 2.1, §4 SDOs, §5 SROs, §6 SCOs, §7 markings).
 *
 * Per endpoint ip:port/proto: an Infrastructure (command-and-control, botnet), an Indicator whose
 * pattern matches traffic to the endpoint, valid from first seen until liveness says otherwise, a
 * Sighting by the sharing ISP with the count of internal hosts seen talking to it, the ipv4-addr
 * SCO, and the relationships indicator→indicates→infrastructure and
 * infrastructure→consists-of→ipv4-addr. Ids are UUIDv5 of what makes the object the same thing, and
 * created/modified come from the data, never the clock, so a re-export of unchanged data is
 * byte-identical and a changed one is a new version of the same ids.
 */
import { formatIpv4, parseIpv4, type Ipv4Range } from '../core/ip.js';
import type { LivenessCheck } from '../flows/types.js';
import { scoId, stableId } from './ids.js';
import { tlp1Of, type ShareCounts, type ShareEntry, type ShareOptions, type StixBundle, type StixObject, type Tlp, type Tlp1 } from './types.js';

/** One marking definition per level, from the published uuid; `body` adds what differs between TLP versions. */
function markingTable<L extends string>(created: string, ids: Record<L, string>, body: (level: L) => Record<string, unknown>): Readonly<Record<L, StixObject>> {
  const table = {} as Record<L, StixObject>;
  for (const level of Object.keys(ids) as L[]) {
    table[level] = { type: 'marking-definition', spec_version: '2.1', id: `marking-definition--${ids[level]}`, created, name: `TLP:${level.toUpperCase()}`, ...body(level) } as StixObject;
  }
  return table;
}

/** STIX 2.1 §7.2.1.4: the TLP 1.0 marking definitions every producer uses by these ids. */
export const tlp1Markings = markingTable<Tlp1>(
  '2017-01-20T00:00:00.000Z',
  { white: '613f2e26-407d-48c7-9eca-b8e91df99dc9', green: '34098fce-860f-48ae-8e50-ebd3cc5e41da', amber: 'f88d31f6-486f-44da-b317-01333bde0b82', red: '5e57c739-391a-4eb3-b6be-7d15ca92d5ed' },
  (tlp) => ({ definition_type: 'tlp', definition: { tlp } }),
);

/** The OASIS CTI TC's TLP 2.0 property extension (cti-stix-common-objects, tlp-2.0). */
export const tlp2Extension = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** The TLP 2.0 marking definitions as OASIS published them: consumers know them by these ids. */
export const tlp2Markings = markingTable<Tlp>(
  '2022-10-01T00:00:00.000Z',
  {
    clear: '94868c89-83c2-464b-929b-a1a8aa3c8487',
    green: 'bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
    amber: '55d920b0-5e8b-4f79-9ee9-91f868d9b421',
    'amber+strict': '939a9414-2ddd-4d32-a0cd-375ea402b003',
    red: 'e828b379-4e03-4974-9ac4-e53a884c97c1',
  },
  (tlp) => ({ extensions: { [tlp2Extension]: { extension_type: 'property-extension', tlp_2_0: tlp } } }),
);

/** The marking objects of a bundle shared at `tlp`: its TLP 2.0 marking and the TLP 1.0 one no looser. */
export function markingObjects(tlp: Tlp): StixObject[] {
  return [tlp2Markings[tlp], tlp1Markings[tlp1Of[tlp]]];
}

function markingRefs(tlp: Tlp): string[] {
  return markingObjects(tlp).map((m) => m.id as string);
}

/** The identity object's own created time: fixed, so the identity is one version however often it is exported. */
const identityCreated = '2026-01-01T00:00:00.000Z';

/** The sharing ISP as a STIX identity (the creator and the sighter of everything it shares). */
export function identityObject(name: string, tlp: Tlp): StixObject {
  return {
    type: 'identity',
    spec_version: '2.1',
    id: stableId('identity', name),
    created: identityCreated,
    modified: identityCreated,
    name,
    identity_class: 'organization',
    sectors: ['telecommunications'],
    object_marking_refs: markingRefs(tlp),
  };
}

/** Milliseconds-precise RFC 3339 UTC (STIX requires millisecond precision for created/modified). */
export function stixTime(t: string | number): string {
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw new Error(`not a time: ${String(t)}`);
  return new Date(ms).toISOString();
}

/** The STIX pattern of traffic to ip:port over proto (one observation, so all four must hold together). */
export function endpointPattern(ip: string, port: number, proto: 'tcp' | 'udp'): string {
  return `[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '${ip}' AND network-traffic:dst_port = ${port} AND network-traffic:protocols[*] = '${proto}']`;
}

/** Liveness as the indicator sees it: alive now?, the last sign of life, and when it died (if dead). */
export interface LivenessState {
  readonly alive: boolean;
  readonly lastCheckMs: number | null;
  readonly lastAliveMs: number | null;
  /** Start of the current run of failed checks (null while alive). */
  readonly deadSinceMs: number | null;
}

export function livenessState(checks: readonly LivenessCheck[]): LivenessState {
  const sorted = [...checks].map((c) => ({ ...c, ms: Date.parse(c.at) })).filter((c) => Number.isFinite(c.ms)).sort((a, b) => a.ms - b.ms);
  let lastAliveMs: number | null = null;
  let deadSinceMs: number | null = null;
  for (const c of sorted) {
    if (c.alive) {
      lastAliveMs = c.ms;
      deadSinceMs = null;
    } else if (deadSinceMs === null) deadSinceMs = c.ms;
  }
  const last = sorted.at(-1);
  // An endpoint never checked yet counts as alive: detection itself is the latest sign of life.
  return { alive: last ? last.alive : true, lastCheckMs: last ? last.ms : null, lastAliveMs, deadSinceMs };
}

/** The indicator's validity window: from first seen; until the monitor's verdict, the death, or the last sign of life + ttl. */
export function validity(e: ShareEntry, ttlMs: number): { from: number; until: number; live: LivenessState } {
  const from = Date.parse(e.candidate.firstSeen);
  const live = livenessState(e.liveness);
  const lastSign = Math.max(Date.parse(e.candidate.lastSeen), live.lastAliveMs ?? -Infinity);
  let until = e.validUntil !== null ? Date.parse(e.validUntil) : !live.alive && live.deadSinceMs !== null ? live.deadSinceMs : lastSign + ttlMs;
  // STIX: valid_until MUST be later than valid_from.
  if (!(until > from)) until = from + 1000;
  return { from, until, live };
}

function inRanges(ip: number, ranges: readonly Ipv4Range[]): boolean {
  return ranges.some((r) => ip >= r.start && ip <= r.end);
}

/** The STIX objects of one candidate (without identity and marking), or why it is not shared. */
export function entryObjects(e: ShareEntry, o: ShareOptions, nowMs: number): { objects: StixObject[]; expired: boolean } | { skip: keyof ShareCounts['skipped'] } {
  const c = e.candidate;
  const ipNum = parseIpv4(c.ip);
  if (ipNum === undefined) return { skip: 'not-ipv4' };
  if (c.score < o.minScore) return { skip: 'low-score' };
  if (inRanges(ipNum, o.exclude)) return { skip: 'excluded' };
  const { from, until, live } = validity(e, o.ttlMs);
  if (o.aliveOnly && !live.alive) return { skip: 'dead' };
  const lastSeenMs = Date.parse(c.lastSeen);
  const modifiedMs = Math.max(lastSeenMs, live.lastCheckMs ?? -Infinity, from);
  if (o.since !== undefined && modifiedMs < Date.parse(o.since)) return { skip: 'before-since' };

  const identity = stableId('identity', o.identity);
  const marking = markingRefs(o.tlp);
  const key = [o.identity, formatIpv4(ipNum), c.port, c.proto] as const;
  const created = stixTime(from);
  const modified = stixTime(modifiedMs);
  const common = { spec_version: '2.1', created, modified, created_by_ref: identity, object_marking_refs: marking };
  const where = `${c.ip}:${c.port}/${c.proto}`;
  const evidence = c.evidence.map((x) => `${x.feature}=${x.value} (${x.note})`).join('; ');
  const lastSignMs = Math.max(lastSeenMs, live.lastAliveMs ?? -Infinity);

  const addr: StixObject = { type: 'ipv4-addr', spec_version: '2.1', id: scoId('ipv4-addr', { value: c.ip }), value: c.ip, object_marking_refs: marking };
  const infra: StixObject = {
    type: 'infrastructure',
    id: stableId('infrastructure', ...key),
    ...common,
    name: `C&C ${where}`,
    description: `Suspected IoT botnet command-and-control endpoint ${where}, found in flow records (headers only).`,
    infrastructure_types: ['command-and-control', 'botnet'],
    first_seen: created,
    last_seen: stixTime(Math.max(lastSignMs, from)),
  };
  const indicator: StixObject = {
    type: 'indicator',
    id: stableId('indicator', ...key),
    ...common,
    name: `Traffic to suspected C&C ${where}`,
    description: `Score ${c.score.toFixed(3)}; ${c.knownBadClients} of ${c.clients} internal clients are known bots; ${live.alive ? 'reachable at the last check' : 'unreachable since the last checks'}. Evidence: ${evidence || 'none given'}.`,
    indicator_types: ['malicious-activity'],
    pattern: endpointPattern(c.ip, c.port, c.proto),
    pattern_type: 'stix',
    pattern_version: '2.1',
    valid_from: created,
    valid_until: stixTime(until),
    confidence: Math.max(0, Math.min(100, Math.round(c.score * 100))),
  };
  const sighting: StixObject = {
    type: 'sighting',
    id: stableId('sighting', ...key),
    ...common,
    description: `${c.clients} internal host(s) contacted ${where} in the window ${c.window.from} to ${c.window.to}; ${c.knownBadClients} of them known bots.`,
    first_seen: created,
    last_seen: stixTime(Math.max(lastSeenMs, from)),
    count: Math.max(0, Math.min(999_999_999, Math.round(c.clients))),
    sighting_of_ref: indicator.id,
    where_sighted_refs: [identity],
  };
  const rel = (type: string, source: string, target: string): StixObject => ({
    type: 'relationship',
    id: stableId('relationship', type, source, target),
    ...common,
    // A relationship never changes: its one version is as old as the candidate.
    modified: created,
    relationship_type: type,
    source_ref: source,
    target_ref: target,
  });
  return {
    objects: [addr, infra, indicator, sighting, rel('indicates', indicator.id, infra.id), rel('consists-of', infra.id, addr.id)],
    expired: until <= nowMs,
  };
}

export interface BuiltBundle {
  readonly bundle: StixBundle;
  readonly counts: ShareCounts;
}

/**
 * Build one bundle from candidates. `nowMs` only decides what counts as expired in the counts;
 * the objects never depend on it.
 */
export async function buildBundle(entries: AsyncIterable<ShareEntry> | Iterable<ShareEntry>, o: ShareOptions, nowMs = Date.now()): Promise<BuiltBundle> {
  const skipped: Record<keyof ShareCounts['skipped'], number> = { 'low-score': 0, dead: 0, excluded: 0, 'before-since': 0, 'not-ipv4': 0 };
  // One set of objects per endpoint: a candidate reported twice (two windows) keeps its newest version.
  const byKey = new Map<string, { sort: string; modified: string; objects: StixObject[] }>();
  let candidates = 0;
  let expired = 0;
  for await (const e of entries) {
    candidates++;
    const r = entryObjects(e, o, nowMs);
    if ('skip' in r) {
      skipped[r.skip]++;
      continue;
    }
    if (r.expired) expired++;
    const ip = parseIpv4(e.candidate.ip)!;
    const sort = `${ip.toString(16).padStart(8, '0')}:${String(e.candidate.port).padStart(5, '0')}:${e.candidate.proto}`;
    const modified = String(r.objects.find((x) => x.type === 'indicator')!.modified);
    const had = byKey.get(sort);
    if (!had || modified > had.modified) byKey.set(sort, { sort, modified, objects: r.objects });
  }
  const perEntry = [...byKey.values()];
  perEntry.sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0));
  const objects: StixObject[] = [...markingObjects(o.tlp), identityObject(o.identity, o.tlp)];
  const seen = new Set(objects.map((x) => x.id));
  // The same address on two ports is one ipv4-addr SCO; a duplicate candidate is one set of objects.
  for (const p of perEntry) for (const x of p.objects) if (!seen.has(x.id)) (seen.add(x.id), objects.push(x));
  const id = stableId('bundle', ...objects.map((x) => `${x.id}@${String(x.modified ?? '')}`));
  return { bundle: { type: 'bundle', id, objects }, counts: { candidates, shared: perEntry.length, expired, skipped } };
}
