/**
 * Scanner fingerprints: one declarative rule per tool family, each a test on one TCP SYN probe's
 * header fields. A source is labelled by the share of its SYN probes that match (never one hit),
 * so a rule that random fields satisfy once in 65,536 packets cannot label a busy scanner.
 *
 * Facts from the tools' sources (read, not copied):
 * - Mirai (scanner.c of the 2016 release): TCP sequence number = destination IPv4 address;
 *   destination port 23, every tenth probe 2323; IP ID, source port and window random.
 * - masscan (templ-pkt.c, 1.3.x): IP ID = low 16 bits of (destination address XOR destination port
 *   XOR sequence number), the sequence number being its SYN cookie; window 1024, TTL 255.
 * - ZMap before 4.1 (packet.c make_ip_header): IP ID fixed at 54321, window 65535, TTL 255.
 *   Newer ZMap takes the IP ID from its validation hash (random-looking) but keeps window 65535,
 *   TTL 255 and one of four fixed TCP option layouts (module_tcp_synscan.c probe-args: windows,
 *   the default, linux, bsd, smallest-probes).
 */
import { tcpOptionLayout } from './pcap/packet.js';

/** The families we name; everything else is 'unknown'. */
export type Fingerprint = 'mirai' | 'masscan' | 'zmap' | 'unknown';

/**
 * A rule's test on one SYN probe, given the fields it may read as numbers, as PacketView has them
 * (addresses and sequence number unsigned 32-bit, tcpOptions the option layout's digest). Numbers
 * rather than a view: the row packer reads them straight from a frame's bytes, and filling an
 * object for every probe cost more than the rules themselves.
 */
export type SynMatch = (dst: number, dport: number, seq: number, ipId: number, window: number, ttl: number, tcpOptions: number) => boolean;

export interface FingerprintRule {
  readonly name: Exclude<Fingerprint, 'unknown'>;
  /** Whether one SYN probe (IPv4, SYN without ACK) carries the family's trait. */
  readonly match: SynMatch;
  /** SYN probes a source needs before the rule is trusted. */
  readonly minPackets: number;
  /** Share of a source's SYN probes that must match. */
  readonly minShare: number;
  /** Chance that one probe with random fields matches (for documentation and confidence). */
  readonly chance: number;
}

/** Option digests of ZMap's fixed SYN layouts (MSS 1460; window scale 8, 7 or 6). */
const ZMAP_LAYOUTS: readonly number[] = [
  [2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2],
  [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7],
  [2, 4, 5, 0xb4, 1, 3, 3, 6, 1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 4, 2, 0, 0],
  [2, 4, 5, 0xb4],
].map((bytes) => tcpOptionLayout(Uint8Array.from(bytes), 0, bytes.length));

/** Whether a digest is one of ZMap's. A loop, not a Set or includes: both are calls that box the digest. */
function isZmapLayout(digest: number): boolean {
  for (const z of ZMAP_LAYOUTS) if (z === digest) return true;
  return false;
}

/** The registry: evaluated in this order, the first family wins a tie. */
export const fingerprintRules: readonly FingerprintRule[] = [
  { name: 'mirai', match: (dst, _dport, seq) => seq === dst, minPackets: 2, minShare: 0.5, chance: 2 ** -32 },
  { name: 'masscan', match: (dst, dport, seq, ipId) => ((dst ^ dport ^ seq) & 0xffff) === ipId, minPackets: 3, minShare: 0.5, chance: 2 ** -16 },
  {
    name: 'zmap',
    match: (_dst, _dport, _seq, ipId, window, ttl, tcpOptions) => ipId === 54321 || (window === 65535 && ttl > 128 && isZmapLayout(tcpOptions)),
    minPackets: 3,
    minShare: 0.5,
    chance: 2 ** -16,
  },
];

/** Result of weighing one source's hits. */
export interface FingerprintVerdict {
  readonly fingerprint: Fingerprint;
  /** Share of matching SYN probes, discounted for few probes: share·n/(n+1). */
  readonly confidence: number;
}

/** Label a source from its SYN probe count and per-rule hit counts (same order as the registry). */
export function weighFingerprints(probes: number, hits: readonly number[]): FingerprintVerdict {
  let best: Fingerprint = 'unknown';
  let bestShare = 0;
  let anyShare = 0;
  // A plain loop: this runs once per source summary, a hundred thousand times for a busy day.
  for (let i = 0; i < fingerprintRules.length; i++) {
    const r = fingerprintRules[i]!;
    const share = probes > 0 ? (hits[i] ?? 0) / probes : 0;
    if (share > anyShare) anyShare = share;
    if (probes >= r.minPackets && share >= r.minShare && share > bestShare) {
      best = r.name;
      bestShare = share;
    }
  }
  const discount = probes / (probes + 1);
  const confidence = best === 'unknown' ? (1 - anyShare) * discount : bestShare * discount;
  return { fingerprint: best, confidence: Math.round(confidence * 1000) / 1000 };
}
