import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { IotcleanError } from '../../core/errors.js';
import { newFrameSpec, tcpFlag, writeFrame, type Framing } from './build.js';
import { addressText, linkTypes, type PacketView } from './packet.js';
import { readCapture } from './reader.js';
import { CaptureWriter, type CaptureFormat } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const framingLink: Record<Framing, number> = { ethernet: linkTypes.ethernet, vlan: linkTypes.ethernet, sll: linkTypes.linuxSll, sll2: linkTypes.linuxSll2, raw: linkTypes.raw };

interface Seen {
  readonly src: string;
  readonly dst: string;
  readonly proto: number;
  readonly sport: number;
  readonly dport: number;
  readonly flags: number;
  readonly seq: number;
  readonly ipId: number;
  readonly ttl: number;
  readonly window: number;
  readonly l4: boolean;
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly iface: number;
}

function keep(v: PacketView, out: Seen[]): void {
  out.push({ src: addressText(v, 'src'), dst: addressText(v, 'dst'), proto: v.proto, sport: v.sport, dport: v.dport, flags: v.tcpFlags, seq: v.seq, ipId: v.ipId, ttl: v.ttl, window: v.window, l4: v.l4, tsSec: v.tsSec, tsNsec: v.tsNsec, iface: v.iface });
}

/** A small capture: TCP SYNs, a UDP probe, an ICMP echo, an IPv6 SYN, a non-first fragment. */
function writeSample(file: string, format: CaptureFormat, framing: Framing, bigEndian: boolean, ifaces = 1): number {
  const w = new CaptureWriter(file, { format, bigEndian, interfaces: Array.from({ length: ifaces }, (_, i) => ({ linkType: framingLink[framing], tsresol: i === 1 ? 9 : 6 })) });
  const s = newFrameSpec();
  const buf = new Uint8Array(2048);
  s.framing = framing;
  let n = 0;
  const emit = (iface = 0) => {
    w.packet(buf, writeFrame(buf, s), 1_700_000_000 + n, format === 'pcap' ? 123_000_000 : 123_456_789, iface % ifaces);
    n++;
  };
  s.src = 0x7f0a0001;
  s.dst = 0x7f140203;
  s.proto = 6;
  s.sport = 40000;
  s.dport = 23;
  s.seq = 0x7f140203;
  s.tcpFlags = tcpFlag.syn;
  s.ipId = 54321;
  s.ttl = 250;
  s.window = 65535;
  emit(0);
  s.dport = 2323;
  s.tcpOptions = Uint8Array.from([2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2]);
  emit(1);
  s.tcpOptions = new Uint8Array(0);
  s.proto = 17;
  s.dport = 53;
  s.payload = 12;
  emit(0);
  s.proto = 1;
  s.payload = 0;
  emit(1);
  s.proto = 6;
  s.fragOffset = 1480;
  emit(0);
  s.fragOffset = 0;
  s.ipVersion = 6;
  s.src6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]);
  s.dst6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  s.seq = 7;
  emit(0);
  w.close();
  return n;
}

const formats: CaptureFormat[] = ['pcap', 'pcap-ns', 'pcapng'];
const framings: Framing[] = ['ethernet', 'vlan', 'sll', 'sll2', 'raw'];

describe('readCapture', () => {
  for (const format of formats) {
    for (const be of [false, true]) {
      for (const framing of framings) {
        it(`reads ${format} ${be ? 'big' : 'little'}-endian ${framing}`, async () => {
          const file = join(dir, `${format}-${be}-${framing}.cap`);
          const written = writeSample(file, format, framing, be, format === 'pcapng' ? 2 : 1);
          const seen: Seen[] = [];
          const stats = await readCapture(file, (v) => keep(v, seen), { chunkSize: 4096 });
          expect(stats.records).toBe(written);
          expect(stats.packets).toBe(written);
          expect(stats.skipped).toEqual({});
          const [syn, syn2, udp, icmp, frag, v6] = seen;
          expect(syn).toMatchObject({ src: '127.10.0.1', dst: '127.20.2.3', proto: 6, dport: 23, flags: 2, seq: 0x7f140203, ipId: 54321, ttl: 250, window: 65535, l4: true, tsSec: 1_700_000_000 });
          expect(syn!.tsNsec).toBe(format === 'pcap' ? 123_000_000 : format === 'pcapng' ? 123_456_000 : 123_456_789);
          expect(syn2).toMatchObject({ dport: 2323, iface: format === 'pcapng' ? 1 : 0 });
          if (format === 'pcapng') expect(syn2!.tsNsec).toBe(123_456_789);
          expect(udp).toMatchObject({ proto: 17, dport: 53, l4: true });
          expect(icmp).toMatchObject({ proto: 1, l4: true });
          expect(frag).toMatchObject({ proto: 6, l4: false, dport: 0 });
          expect(v6).toMatchObject({ src: '2001:db8::1', dst: '2001:db8::2', proto: 6, dport: 53, seq: 7, l4: true });
        });
      }
    }
  }

  it('reads a stream (stdin-like) cut into odd-sized chunks', async () => {
    const file = join(dir, 'stream.pcapng');
    const written = writeSample(file, 'pcapng', 'ethernet', false, 2);
    const bytes = readFileSync(file);
    const pieces: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 7) pieces.push(bytes.subarray(i, i + 7));
    const seen: Seen[] = [];
    const stats = await readCapture({ name: 'stdin', stream: Readable.from(pieces) }, (v) => keep(v, seen), { chunkSize: 4096 });
    expect(stats.packets).toBe(written);
    expect(seen[0]?.dst).toBe('127.20.2.3');
  });

  it('reads a pcapng with several sections of different byte orders (concatenated captures)', async () => {
    const le = join(dir, 'sec-le.pcapng');
    const be = join(dir, 'sec-be.pcapng');
    const a = writeSample(le, 'pcapng', 'ethernet', false, 2);
    const b = writeSample(be, 'pcapng', 'sll2', true, 1);
    const both = join(dir, 'sections.pcapng');
    writeFileSync(both, Buffer.concat([readFileSync(le), readFileSync(be)]));
    const seen: Seen[] = [];
    const stats = await readCapture(both, (v) => keep(v, seen), { chunkSize: 4096 });
    expect(stats.packets).toBe(a + b);
    expect(stats.skipped).toEqual({});
    // Interface numbering restarts with each section.
    expect(seen.slice(a).every((p) => p.iface === 0)).toBe(true);
    expect(seen[a]).toMatchObject({ src: '127.10.0.1', dport: 23 });
  });

  it('skips unknown pcapng blocks and counts packets on an undeclared interface', async () => {
    const file = join(dir, 'odd.pcapng');
    writeSample(file, 'pcapng', 'ethernet', false, 1);
    const good = readFileSync(file);
    // A custom block (type 0x00000BAD, 16 bytes) and an EPB on interface 5 appended.
    const custom = Buffer.alloc(16);
    custom.writeUInt32LE(0xbad, 0);
    custom.writeUInt32LE(16, 4);
    custom.writeUInt32LE(16, 12);
    const epb = Buffer.alloc(32 + 4);
    epb.writeUInt32LE(6, 0);
    epb.writeUInt32LE(36, 4);
    epb.writeUInt32LE(5, 8);
    epb.writeUInt32LE(4, 20);
    epb.writeUInt32LE(4, 24);
    epb.writeUInt32LE(36, 32);
    writeFileSync(file, Buffer.concat([good, custom, epb]));
    const stats = await readCapture(file, () => {});
    expect(stats.packets).toBe(6);
    expect(stats.skipped).toEqual({ 'unknown-interface': 1 });
  });

  it('reads Simple Packet Blocks, walks IPv6 extension headers, counts non-IP and unknown link types', async () => {
    const file = join(dir, 'mixed.pcapng');
    // Interface 0 Ethernet, interface 1 an unknown link type (147, a user DLT).
    const w = new CaptureWriter(file, { format: 'pcapng', interfaces: [{ linkType: 1 }, { linkType: 147 }] });
    const s = newFrameSpec();
    const buf = new Uint8Array(256);
    s.ipVersion = 6;
    s.src6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 9]);
    s.dport = 2323;
    const n = writeFrame(buf, s);
    // Put a hop-by-hop options header (8 bytes) between the IPv6 header and TCP.
    const v6 = new Uint8Array(n + 8);
    v6.set(buf.subarray(0, 14 + 40));
    v6[14 + 6] = 0;
    v6[14 + 4] = 0;
    v6[14 + 5] = 20 + 8;
    v6.set([6, 0, 1, 4, 0, 0, 0, 0], 14 + 40);
    v6.set(buf.subarray(14 + 40, n), 14 + 48);
    w.packet(v6, v6.length, 1_700_000_000, 0, 0);
    w.packet(buf, n, 1_700_000_001, 0, 1);
    // An ARP frame (EtherType 0x0806).
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    w.packet(arp, arp.length, 1_700_000_002, 0, 0);
    // A Simple Packet Block (type 3) carrying the IPv6 frame, on interface 0.
    const spb = Buffer.alloc(16 + ((v6.length + 3) & ~3));
    spb.writeUInt32LE(3, 0);
    spb.writeUInt32LE(spb.length, 4);
    spb.writeUInt32LE(v6.length, 8);
    spb.set(v6, 12);
    spb.writeUInt32LE(spb.length, spb.length - 4);
    w.raw(spb);
    w.close();
    const seen: Seen[] = [];
    const stats = await readCapture(file, (v) => keep(v, seen));
    expect(stats.records).toBe(4);
    expect(stats.skipped).toEqual({ 'unsupported-link': 1, 'non-ip': 1 });
    expect(seen).toHaveLength(2);
    for (const p of seen) expect(p).toMatchObject({ src: '2001:db8::9', proto: 6, dport: 2323, flags: 2, l4: true });
    // The SPB has no timestamp of its own: it carries the last one seen.
    expect(seen[1]?.tsSec).toBe(1_700_000_002);
  });

  it('refuses a file that is not a capture, naming the file', async () => {
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'hello, this is text\n');
    const err = await readCapture(file, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IotcleanError);
    expect((err as IotcleanError).code).toBe('E_CAPTURE_FILE');
    expect((err as IotcleanError).where.file).toBe(file);
    writeFileSync(file, '');
    await expect(readCapture(file, () => {})).rejects.toThrow(/empty/);
    await expect(readCapture(join(dir, 'missing.pcap'), () => {})).rejects.toThrow(/cannot open/);
  });

  it('counts a truncated last record', async () => {
    const file = join(dir, 'trunc.pcap');
    writeSample(file, 'pcap', 'ethernet', false);
    const bytes = readFileSync(file);
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    const stats = await readCapture(file, () => {});
    expect(stats.packets).toBe(5);
    expect(stats.skipped['truncated-record']).toBe(1);
  });

  it('resynchronises after a corrupt record header (classic pcap and pcapng)', async () => {
    for (const format of ['pcap', 'pcapng'] as const) {
      const file = join(dir, `corrupt.${format}`);
      const w = new CaptureWriter(file, { format, interfaces: [{ linkType: 1 }] });
      const s = newFrameSpec();
      const buf = new Uint8Array(256);
      for (let i = 0; i < 50; i++) {
        s.dst = 0x7f140000 + i;
        w.packet(buf, writeFrame(buf, s), 1_700_000_000 + i, 0);
      }
      w.close();
      const bytes = readFileSync(file);
      // Smash the length field of record 10.
      const headerLen = format === 'pcap' ? 24 : 28 + 32;
      const recLen = format === 'pcap' ? 16 + 54 : 32 + 56;
      const at = headerLen + 10 * recLen + (format === 'pcap' ? 8 : 4);
      bytes.writeUInt32LE(0x7fffffff, at);
      writeFileSync(file, bytes);
      const stats = await readCapture(file, () => {});
      expect(stats.skipped[format === 'pcap' ? 'bad-record-header' : 'bad-block']).toBe(1);
      expect(stats.packets).toBeGreaterThanOrEqual(48);
      expect(stats.packets).toBeLessThan(50);
    }
  });

  it('fuzz: mutated and truncated captures return with counts, never throw', async () => {
    const rng = createRng('darknet-fuzz');
    const base = join(dir, 'base.pcapng');
    const bases = [base, join(dir, 'base.pcap')];
    writeSample(bases[0]!, 'pcapng', 'vlan', false, 2);
    writeSample(bases[1]!, 'pcap-ns', 'sll2', true);
    const originals = bases.map((f) => readFileSync(f));
    const file = join(dir, 'fuzz.cap');
    for (let round = 0; round < 400; round++) {
      const orig = originals[round % originals.length]!;
      const cut = rng.next() < 0.3 ? 4 + rng.int(orig.length) : orig.length;
      const b = Buffer.from(orig.subarray(0, cut));
      const flips = 1 + rng.int(12);
      // Keep the magic so the file is still recognised as a capture.
      for (let i = 0; i < flips && b.length > 4; i++) b[4 + rng.int(b.length - 4)] = rng.int(256);
      writeFileSync(file, b);
      let seen = 0;
      const stats = await readCapture(file, (v) => {
        seen++;
        expect(v.ipVersion === 4 || v.ipVersion === 6).toBe(true);
      }, { chunkSize: 4096 });
      expect(stats.packets).toBe(seen);
      expect(stats.records).toBeGreaterThanOrEqual(stats.packets);
      expect(stats.bytes).toBe(b.length);
    }
  });
});

const tcpdump = spawnSync('tcpdump', ['--version']).status === 0;
describe.skipIf(!tcpdump)('cross-check with tcpdump -r', () => {
  it('tcpdump reads our files and sees the same packets', async () => {
    for (const format of formats) {
      const file = join(dir, `x-${format}.cap`);
      const written = writeSample(file, format, 'ethernet', format === 'pcap-ns', format === 'pcapng' ? 2 : 1);
      const text = execFileSync('tcpdump', ['-n', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const lines = text.trim().split('\n');
      expect(lines).toHaveLength(written);
      expect(lines[0]).toContain('127.10.0.1.40000 > 127.20.2.3.23');
      expect(lines[5]).toContain('2001:db8::1');
    }
  });
});
if (!tcpdump) console.warn('reader.test: tcpdump not installed (apt-get install tcpdump): cross-check skipped');

const tshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
describe.skipIf(!tshark)('cross-check with tshark -r', () => {
  it('tshark decodes the same addresses, ports and sequence numbers from every format and framing', async () => {
    for (const [format, framing] of [['pcap', 'sll'], ['pcap-ns', 'vlan'], ['pcapng', 'sll2'], ['pcapng', 'raw']] as const) {
      const file = join(dir, `t-${format}-${framing}.cap`);
      const written = writeSample(file, format, framing, format === 'pcapng', format === 'pcapng' ? 2 : 1);
      const text = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.dstport', '-e', 'udp.dstport', '-e', 'tcp.seq_raw'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const rows = text.trim().split('\n').map((l) => l.split('\t'));
      expect(rows).toHaveLength(written);
      const seen: Seen[] = [];
      await readCapture(file, (v) => keep(v, seen));
      rows.forEach((r, i) => {
        const ours = seen[i]!;
        expect(r[0] || r[1]).toBe(ours.src);
        if (ours.l4 && ours.proto === 6) expect([Number(r[2]), Number(r[4])]).toEqual([ours.dport, ours.seq]);
        if (ours.proto === 17) expect(Number(r[3])).toBe(ours.dport);
      });
    }
  }, 60_000);
});
if (!tshark) console.warn('reader.test: tshark not installed (apt-get install tshark): cross-check skipped');
