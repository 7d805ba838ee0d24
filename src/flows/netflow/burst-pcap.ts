/**
 * A capture of N distinct flows among 127.x hosts, for the real-exporter test and bench/flows:
 * softflowd reads it (-r) and exports one flow per 5-tuple, so N is the exact truth both
 * collectors must report. TCP flows are SYN, ACK+PSH, FIN (3 packets), UDP flows one or two
 * packets; every address is in 127.0.0.0/8. Only a file is written: nothing is sent.
 */
import { CaptureWriter } from '../../darknet/pcap/writer.js';
import { newFrameSpec, writeFrame, tcpFlag } from '../../darknet/pcap/build.js';
import { linkTypes } from '../../darknet/pcap/packet.js';

export interface BurstPcapOptions {
  readonly out: string;
  readonly flows: number;
  /** Capture time of the first packet, epoch seconds. */
  readonly startSec?: number;
  /** Share of UDP flows (the rest TCP), 0..1. */
  readonly udpShare?: number;
  /** One packet per flow (a SYN, or one datagram): a third of the file for the same flow count. */
  readonly compact?: boolean;
}

export interface BurstPcapTruth {
  readonly flows: number;
  readonly packets: number;
  readonly bytes: number;
  readonly tcpFlows: number;
  readonly udpFlows: number;
}

/** Write the capture; flow i goes from 127.10.x.y:(1024+i%60000) to 127.20.a.b:port. */
export function writeBurstPcap(o: BurstPcapOptions): BurstPcapTruth {
  const w = new CaptureWriter(o.out, { format: 'pcap', interfaces: [{ linkType: linkTypes.ethernet }] });
  const spec = newFrameSpec();
  const buf = new Uint8Array(2048);
  const udpEvery = o.udpShare === undefined ? 4 : o.udpShare <= 0 ? 0 : Math.max(1, Math.round(1 / o.udpShare));
  let sec = o.startSec ?? 1_767_225_600;
  let usec = 0;
  let packets = 0;
  let bytes = 0;
  let tcpFlows = 0;
  const emit = (payload: number, flags: number) => {
    spec.payload = payload;
    spec.tcpFlags = flags;
    const len = writeFrame(buf, spec);
    w.packet(buf, len, sec, usec * 1000);
    packets++;
    bytes += len - 14;
    usec += 7;
    if (usec >= 1_000_000) {
      usec -= 1_000_000;
      sec++;
    }
  };
  for (let i = 0; i < o.flows; i++) {
    // Distinct 5-tuples: source host and port vary with i, destination with i too.
    spec.src = ((127 << 24) | (10 << 16) | (((i >>> 6) & 0xff) << 8) | (1 + (i & 63))) >>> 0;
    spec.dst = ((127 << 24) | (20 << 16) | (((i >>> 14) & 0xff) << 8) | (1 + ((i >>> 22) & 0x7f))) >>> 0;
    spec.sport = 1024 + (i % 60000);
    spec.dport = [23, 80, 443, 2323, 6667, 53, 123][i % 7]!;
    if (udpEvery > 0 && i % udpEvery === 0) {
      spec.proto = 17;
      emit(40 + (i % 100), 0);
      if (i % 2 === 0 && !o.compact) emit(60, 0);
    } else {
      spec.proto = 6;
      tcpFlows++;
      emit(0, tcpFlag.syn);
      if (o.compact) continue;
      emit(100 + (i % 200), tcpFlag.ack | tcpFlag.psh);
      emit(0, tcpFlag.fin | tcpFlag.ack);
    }
  }
  w.close();
  return { flows: o.flows, packets, bytes, tcpFlows, udpFlows: o.flows - tcpFlows };
}
