/**
 * The UDP flow collector: NetFlow v5/v9 and IPFIX datagrams on one socket → FlowDecoder → a
 * FlowSink. The socket asks for a large receive buffer (32 MiB by default) because exporters send
 * in bursts (softflowd reading a capture sends a million flows in seconds); the kernel grants at
 * most net.core.rmem_max (×2 as Linux accounts overhead), which `stats().recvBuffer` reports.
 * Decoding is synchronous per datagram and the sink's Parquet writing can run in a worker, so the
 * event loop is back on the socket within microseconds. Kernel drops (receive-buffer overflow) are
 * read from /proc/net/udp, so a loss is counted, never silent.
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { IotcleanError } from '../core/errors.js';
import { FlowDecoder } from './netflow/decoder.js';
import type { CollectStats, FlowRecord, FlowSink } from './types.js';

export interface CollectorOptions {
  readonly host: string;
  readonly port: number;
  /** Where decoded flows go; without one they are only counted (and given to onFlows). */
  readonly sink?: FlowSink;
  /** Receive buffer asked for, bytes (default 32 MiB). */
  readonly recvBufferBytes?: number;
  /** Records handed to the sink at once (default 8192); a timer hands over the rest every 200 ms. */
  readonly batchRecords?: number;
  /** Called with every batch (tests, live views). */
  readonly onFlows?: (flows: readonly FlowRecord[]) => void;
  /** Flows waiting for a slow sink before new ones are dropped and counted `sink-backlog` (default 4,000,000). */
  readonly maxBacklog?: number;
}

export interface CollectorStats extends CollectStats {
  /** Receive buffer asked for and granted by the kernel, bytes. */
  readonly recvBuffer: { readonly requested: number; readonly granted: number };
  /** Datagrams the kernel dropped on this socket (receive buffer full), from /proc/net/udp; null when unreadable. */
  readonly kernelDrops: number | null;
  /**
   * Per exporter, flows lost before they reached this socket, from gaps in the sequence numbers
   * (NetFlow v9 numbers packets, so its figure counts packets).
   */
  readonly sequenceLoss: Readonly<Record<string, number>>;
  /** Sink failures (the first message), if any. */
  readonly sinkError?: string;
}

export interface FlowCollector {
  readonly address: { readonly address: string; readonly port: number };
  stats(): CollectorStats;
  /** Stop listening, hand every decoded flow to the sink and flush it (the sink is not closed). */
  close(): Promise<CollectorStats>;
}

/** Drops counted by the kernel for the UDP socket bound to host:port (the last column of /proc/net/udp). */
export function udpKernelDrops(host: string, port: number): number | null {
  try {
    const want = `${host
      .split('.')
      .map((o) => Number(o).toString(16).padStart(2, '0'))
      .reverse()
      .join('')
      .toUpperCase()}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
    const wildcard = `00000000:${port.toString(16).padStart(4, '0').toUpperCase()}`;
    for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1] === want || cols[1] === wildcard) return Number(cols[cols.length - 1]);
    }
    return null;
  } catch {
    return null;
  }
}

/** Bind the collector; resolves once it is listening. */
export async function startCollector(o: CollectorOptions): Promise<FlowCollector> {
  const requested = o.recvBufferBytes ?? 32 * 1024 * 1024;
  const batchRecords = o.batchRecords ?? 8192;
  const decoder = new FlowDecoder();
  const socket: Socket = createSocket({ type: 'udp4', recvBufferSize: requested });
  let buf: FlowRecord[] = [];
  let sinkError: unknown;
  let chain: Promise<void> = Promise.resolve();
  const maxBacklog = o.maxBacklog ?? 4_000_000;
  let backlog = 0;
  let dropped = 0;

  const handOver = () => {
    if (buf.length === 0) return;
    const batch = buf;
    buf = [];
    o.onFlows?.(batch);
    if (o.sink) {
      // A sink that cannot keep up must not grow memory without bound: drop, and say so.
      if (backlog + batch.length > maxBacklog) {
        dropped += batch.length;
        return;
      }
      const sink = o.sink;
      backlog += batch.length;
      chain = chain
        .then(() => sink.append(batch))
        .catch((e: unknown) => void (sinkError ??= e))
        .finally(() => void (backlog -= batch.length));
    }
  };

  socket.on('message', (msg, rinfo) => {
    decoder.decode(msg, rinfo.address, rinfo.port, buf);
    if (buf.length >= batchRecords) handOver();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', (e) => reject(new IotcleanError('E_FLOW_LISTEN', `cannot listen on ${o.host}:${o.port}: ${e.message}`, { hint: 'choose a free port, e.g. --listen 127.0.0.1:2055' })));
    socket.bind(o.port, o.host, () => resolve());
  });
  socket.on('error', () => undefined);
  const timer = setInterval(handOver, 200);
  const bound = socket.address();
  const granted = socket.getRecvBufferSize();

  const stats = (): CollectorStats => {
    const d = decoder.stats();
    return {
      ...d,
      skipped: dropped ? { ...d.skipped, 'sink-backlog': dropped } : d.skipped,
      recvBuffer: { requested, granted },
      kernelDrops: udpKernelDrops(bound.address, bound.port),
      sequenceLoss: decoder.sequenceLoss(),
      ...(sinkError ? { sinkError: sinkError instanceof Error ? sinkError.message : String(sinkError) } : {}),
    };
  };
  let closing: Promise<CollectorStats> | undefined;
  return {
    address: { address: bound.address, port: bound.port },
    stats,
    close() {
      closing ??= (async () => {
        const last = stats();
        clearInterval(timer);
        await new Promise<void>((resolve) => socket.close(() => resolve()));
        handOver();
        await chain;
        if (o.sink) await o.sink.flush().catch((e: unknown) => void (sinkError ??= e));
        return { ...stats(), kernelDrops: last.kernelDrops };
      })();
      return closing;
    },
  };
}
