/**
 * Flow records and C&C candidates: the contract between collection (NetFlow v5/v9, IPFIX, nfdump
 * CSV, pcap → flows), storage (Parquet partitioned by hour, queried through DuckDB) and detection.
 * Headers only: addresses, ports, times, counts. Never content.
 *
 * Detection reads flows as the DuckDB relation `flows` with exactly the columns of `flowColumns`
 * (a view over the stored Parquet files, or a table a test fills), so a 100 M-row window is
 * aggregated by DuckDB, never walked row by row in JavaScript.
 */

/** One unidirectional flow, as an exporter reported it, with sampling already applied to the counts. */
export interface FlowRecord {
  /** First and last packet, epoch ms (UTC). */
  readonly startMs: number;
  readonly endMs: number;
  /** IPv4 as unsigned 32-bit integers (IPv6 flows are counted as skipped for now). */
  readonly src: number;
  readonly srcPort: number;
  readonly dst: number;
  readonly dstPort: number;
  /** IANA protocol number: 6 TCP, 17 UDP, 1 ICMP. */
  readonly proto: number;
  /** Multiplied by the sampling interval the exporter announced (1 when unsampled). */
  readonly packets: number;
  readonly bytes: number;
  /** OR of the TCP flags seen (0 for other protocols). */
  readonly tcpFlags: number;
  /** Who exported it: "ip:port/observation-domain" for NetFlow/IPFIX, "file:<name>" for imports. */
  readonly exporter: string;
  /** The sampling interval applied (1 = unsampled). */
  readonly sampling: number;
}

/** The `flows` relation's columns, in order, with their DuckDB types (start_ms/end_ms epoch ms). */
export const flowColumns = [
  ['start_ms', 'BIGINT'],
  ['end_ms', 'BIGINT'],
  ['src', 'UINTEGER'],
  ['src_port', 'USMALLINT'],
  ['dst', 'UINTEGER'],
  ['dst_port', 'USMALLINT'],
  ['proto', 'UTINYINT'],
  ['packets', 'UBIGINT'],
  ['bytes', 'UBIGINT'],
  ['tcp_flags', 'UTINYINT'],
  ['exporter', 'VARCHAR'],
  ['sampling', 'UINTEGER'],
] as const;

/** Where flows go: stored in hour partitions; `flush` makes everything appended so far queryable. */
export interface FlowSink {
  append(flows: readonly FlowRecord[]): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** What a collector or importer counted: per exporter, records kept and packets dropped by reason. */
export interface CollectStats {
  readonly packets: number;
  readonly records: number;
  readonly skipped: Readonly<Record<string, number>>;
  readonly byExporter: Readonly<Record<string, { readonly packets: number; readonly records: number; readonly malformed: number; readonly missingTemplate: number }>>;
}

/** One piece of evidence a human can check: a feature, its value and what it means. */
export interface CandidateEvidence {
  readonly feature: string;
  readonly value: number | string;
  readonly note: string;
}

/** A suspected C&C endpoint (`iotclean flows detect --json` prints one object per candidate). */
export interface C2Candidate {
  readonly kind: 'c2-candidate';
  readonly ip: string;
  readonly port: number;
  readonly proto: 'tcp' | 'udp';
  /** 0..1: the combined score (graph propagation and learned model). */
  readonly score: number;
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** Internal hosts that contacted it in the window, and how many of them are known bots. */
  readonly clients: number;
  readonly knownBadClients: number;
  readonly evidence: readonly CandidateEvidence[];
  /** The window analysed, ISO 8601. */
  readonly window: { readonly from: string; readonly to: string };
}

/** One liveness check of a candidate (TCP connect through the scope guard). */
export interface LivenessCheck {
  readonly ip: string;
  readonly port: number;
  readonly at: string;
  readonly alive: boolean;
  /** connected, refused, timeout, out-of-scope, ... */
  readonly outcome: string;
  readonly ms: number | null;
}
