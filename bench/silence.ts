/**
 * Internet-like silence for the discovery benchmark: nftables rules for a lab running inside the
 * benchmark's own network namespace. On loopback every closed port refuses at once, so a scan
 * measures CPU per probe; on the Internet most probes meet silence. These rules make the lab look
 * like that, with the kernel doing it (no userspace proxy to slow the lab down):
 *
 * - unused addresses (no device) drop every SYN, so a connect times out, as unrouted or
 *   unassigned space does;
 * - firewalled devices (every second one) drop SYNs to their closed ports and answer only on their
 *   listening ports, as a CPE router with a default-deny filter does;
 * - slow devices (every eighth one) lose the first SYN of every connection and answer the
 *   kernel's retransmission 1 s later (Linux's initial RTO), as a lossy or far-away path does.
 *   This kernel has no sch_netem, and a late accept() does not delay the handshake, so the delay
 *   is made by loss, which is what a scanner meets most on a bad path anyway.
 *
 * Only SYNs without ACK are matched: replies to the scanner (at 127.0.0.1) pass untouched.
 * Bench and test code only: it reads the lab's ground truth to place the rules.
 */
import { cidrRange, formatIpv4, parseIpv4 } from '../src/core/ip.js';
import type { GroundTruth } from '../src/lab/ground-truth.js';

/** nftables table the rules live in (inside the benchmark's namespace only). */
export const silenceTable = 'iotclean_bench';

/** Where the lab answers, and how, once the rules are loaded. */
export interface SilencePlan {
  /** The lab network the rules cover. */
  readonly network: string;
  /** Device addresses in the network (every other address is silent). */
  readonly live: readonly string[];
  /** Devices whose closed ports are silent. */
  readonly firewalled: readonly string[];
  /** Devices that lose the first SYN of each connection. */
  readonly slow: readonly string[];
  /** Listening (ip, port) pairs: what a scan should find. */
  readonly open: readonly (readonly [string, number])[];
}

/** Every `firewallEvery`-th device (by address) firewalls closed ports; every `slowEvery`-th is slow. */
export function planSilence(truth: GroundTruth, options: { firewallEvery?: number; slowEvery?: number } = {}): SilencePlan {
  const firewallEvery = options.firewallEvery ?? 2;
  const slowEvery = options.slowEvery ?? 8;
  const devices = [...truth.devices].sort((a, b) => parseIpv4(a.ip)! - parseIpv4(b.ip)!);
  return {
    network: truth.network,
    live: devices.map((d) => d.ip),
    firewalled: devices.filter((_, i) => i % firewallEvery === firewallEvery - 1).map((d) => d.ip),
    slow: devices.filter((_, i) => i % slowEvery === 0).map((d) => d.ip),
    open: devices.flatMap((d) => d.services.map((s) => [d.ip, s.boundPort] as const)),
  };
}

function elements(items: readonly string[]): string {
  // nft refuses an empty `elements = { }`: leave the clause out instead.
  return items.length > 0 ? ` elements = { ${items.join(', ')} };` : '';
}

/** The ruleset for `nft -f -`, with one named counter per kind of silence. */
export function silenceRuleset(p: SilencePlan): string {
  const tuple = 'ip saddr . tcp sport . ip daddr . tcp dport';
  return [
    `table inet ${silenceTable} {`,
    `  set live { type ipv4_addr;${elements(p.live)} }`,
    `  set firewalled { type ipv4_addr;${elements(p.firewalled)} }`,
    `  set open { type ipv4_addr . inet_service;${elements(p.open.map(([ip, port]) => `${ip} . ${port}`))} }`,
    `  set slow { type ipv4_addr;${elements(p.slow)} }`,
    // Connections whose first SYN was dropped; the retransmission (same 4-tuple) then passes.
    '  set seen { type ipv4_addr . inet_service . ipv4_addr . inet_service; flags dynamic, timeout; timeout 2m; size 1048576; }',
    '  counter unused { }',
    '  counter firewalled { }',
    '  counter slow { }',
    '  chain syn {',
    '    ip daddr != @live counter name unused drop',
    '    ip daddr @firewalled ip daddr . tcp dport != @open counter name firewalled drop',
    `    ip daddr @slow ${tuple} != @seen add @seen { ${tuple} } counter name slow drop`,
    '  }',
    '  chain input {',
    '    type filter hook input priority 0; policy accept;',
    `    tcp flags & (syn | ack) == syn ip daddr ${p.network} jump syn`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/** Counter name → packets dropped, from `nft -j list counters table inet <table>` output. */
export function parseCounters(json: string): Record<string, number> {
  const out: Record<string, number> = {};
  const doc = JSON.parse(json) as { nftables?: { counter?: { name: string; packets: number } }[] };
  for (const item of doc.nftables ?? []) if (item.counter) out[item.counter.name] = item.counter.packets;
  return out;
}

/**
 * The block of the given prefix length inside the lab network that holds the most devices: the
 * scanned targets, kept small because silent probes each cost the full timeout × tries.
 */
export function densestBlock(truth: GroundTruth, prefixLen: number): string {
  const counts = new Map<number, number>();
  for (const d of truth.devices) {
    const start = cidrRange(parseIpv4(d.ip)!, prefixLen).start;
    counts.set(start, (counts.get(start) ?? 0) + 1);
  }
  let best: [number, number] | undefined;
  for (const [start, n] of counts) if (!best || n > best[1] || (n === best[1] && start < best[0])) best = [start, n];
  if (!best) throw new Error('the lab has no devices');
  return `${formatIpv4(best[0])}/${prefixLen}`;
}

/** Is this address inside the CIDR block? */
export function inBlock(ip: string, block: string): boolean {
  const [base, len] = block.split('/');
  const r = cidrRange(parseIpv4(base!)!, Number(len));
  const n = parseIpv4(ip)!;
  return n >= r.start && n <= r.end;
}
