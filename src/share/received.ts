/**
 * Other ISPs' C&C lists as endpoints again: the indicators received over TAXII, read back as
 * ip:port/proto with their validity and who shared them, so detection and liveness can use
 * endpoints one ISP alone would not have seen.
 */
import type { ShareRepository } from '../store/share.js';
import { tlp1Markings, tlp2Markings } from './stix.js';
import { tlpLevels, type Tlp, type Tlp1 } from './types.js';
import type { StixObject } from './types.js';

export interface ReceivedEndpoint {
  readonly ip: string;
  readonly port: number | null;
  readonly proto: 'tcp' | 'udp' | null;
  readonly indicator: string;
  readonly sharedBy: string | null;
  readonly validFrom: string;
  readonly validUntil: string | null;
  /** Valid at `nowMs` (not expired, not revoked). */
  readonly valid: boolean;
  readonly confidence: number | null;
  readonly modified: string;
  /** The strictest TLP the sender marked it with, as a TLP 2.0 level (null: unmarked or an unknown marking): what it may be passed on to. */
  readonly tlp: Tlp | null;
}

/** TLP 1.0 levels read as 2.0 ones: 1.0 AMBER meant the recipient's organisation only, 2.0's AMBER+STRICT. */
const fromTlp1: Record<Tlp1, Tlp> = { white: 'clear', green: 'green', amber: 'amber+strict', red: 'red' };
const tlp2ById = new Map(Object.entries(tlp2Markings).map(([level, m]) => [m.id as string, level as Tlp]));
const tlp1ById = new Map(Object.entries(tlp1Markings).map(([level, m]) => [m.id as string, fromTlp1[level as Tlp1]]));

/**
 * The strictest known TLP among an object's marking refs. TLP 2.0 markings rule when there are any:
 * a TLP 1.0 one beside them is the sender's copy for older consumers (iotclean sends both).
 */
export function tlpOfMarkings(refs: unknown): Tlp | null {
  if (!Array.isArray(refs)) return null;
  const strictest = (byId: Map<string, Tlp>): number => Math.max(-1, ...refs.map((r) => (typeof r === 'string' && byId.has(r) ? tlpLevels.indexOf(byId.get(r)!) : -1)));
  const rank = strictest(tlp2ById) >= 0 ? strictest(tlp2ById) : strictest(tlp1ById);
  return rank < 0 ? null : tlpLevels[rank]!;
}

const ipOf = /(?:network-traffic:dst_ref\.value|ipv4-addr:value)\s*=\s*'(\d{1,3}(?:\.\d{1,3}){3})'/;
const portOf = /network-traffic:dst_port\s*=\s*(\d{1,5})\b/;
const protoOf = /network-traffic:protocols\[\*\]\s*=\s*'(tcp|udp)'/;

/** The endpoint an indicator's pattern names (iotclean's form and the plain ipv4-addr one), or undefined. */
export function endpointOfIndicator(o: StixObject): { ip: string; port: number | null; proto: 'tcp' | 'udp' | null } | undefined {
  if (o.type !== 'indicator' || o.pattern_type !== 'stix' || typeof o.pattern !== 'string') return undefined;
  const ip = ipOf.exec(o.pattern)?.[1];
  if (!ip) return undefined;
  const port = portOf.exec(o.pattern)?.[1];
  const proto = protoOf.exec(o.pattern)?.[1] as 'tcp' | 'udp' | undefined;
  return { ip, port: port !== undefined && Number(port) <= 65535 ? Number(port) : null, proto: proto ?? null };
}

export async function receivedEndpoints(share: ShareRepository, nowMs = Date.now()): Promise<ReceivedEndpoint[]> {
  const names = new Map((await share.received({ type: 'identity' })).map((i) => [i.id, typeof i.name === 'string' ? i.name : null]));
  const out: ReceivedEndpoint[] = [];
  for (const o of await share.received({ type: 'indicator' })) {
    const e = endpointOfIndicator(o);
    if (!e) continue;
    const until = typeof o.valid_until === 'string' ? o.valid_until : null;
    out.push({
      ...e,
      indicator: o.id,
      sharedBy: typeof o.created_by_ref === 'string' ? (names.get(o.created_by_ref) ?? o.created_by_ref) : null,
      validFrom: String(o.valid_from),
      validUntil: until,
      valid: o.revoked !== true && (until === null || Date.parse(until) > nowMs) && Date.parse(String(o.valid_from)) <= nowMs,
      confidence: typeof o.confidence === 'number' ? o.confidence : null,
      modified: String(o.modified),
      tlp: tlpOfMarkings(o.object_marking_refs),
    });
  }
  return out;
}
