/**
 * `iotclean flows import` and `iotclean flows collect` as a user runs them (the CLI from source).
 * collect listens on 127.0.0.1 (a free port it picks, printed on stderr) and this test sends it a
 * replayed softflowd export over loopback; it stops by itself after --duration.
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeBurstPcap } from '../src/flows/netflow/burst-pcap.js';
import { runCli, startCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-flows-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = fileURLToPath(new URL('./fixtures/flows/', import.meta.url));

describe('iotclean flows import | collect', () => {
  it('imports nfdump CSV into the Parquet store (--json), and names a file that is not nfdump CSV', async () => {
    const r = await runCli(['flows', 'import', join(fixtures, 'nfdump-1.7.1.csv'), '--out', join(dir, 'imported'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { stored: number; files: { records: number }[] };
    expect(j.stored).toBe(40);
    expect(j.files[0]!.records).toBe(40);
    const bad = await runCli(['flows', 'import', join(fixtures, 'softflowd-v9.hex'), '--out', join(dir, 'imported')]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/E_FLOW_FILE .*softflowd-v9\.hex:1: not nfdump CSV output/);
  });

  it('imports a pcap capture (told by its magic bytes) through the flow builder, skipped packets reported', async () => {
    const pcap = join(dir, 'x.pcap');
    const t = writeBurstPcap({ out: pcap, flows: 300, startSec: 1_767_225_600 });
    const r = await runCli(['flows', 'import', pcap, '--out', join(dir, 'from-pcap'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { stored: number; files: { kind: string; records: number; packets: number; packetsSkipped: number }[] };
    expect(j.stored).toBe(300);
    expect(j.files[0]).toMatchObject({ kind: 'pcap', records: 300, packets: t.packets, packetsSkipped: 0 });
    const text = await runCli(['flows', 'import', pcap, '--out', join(dir, 'from-pcap2')]);
    expect(text.stdout).toMatch(/x\.pcap: 300 flows from [\d,]+ packets \(pcap\); 0 packets skipped/);
  });

  it('collects IPFIX from a sender on loopback for --duration seconds and stores it', async () => {
    const child = startCli(['flows', 'collect', '--listen', '127.0.0.1:0', '--out', join(dir, 'collected'), '--duration', '8', '--json']);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line: ${stderr}`)), 60_000);
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    const closed = new Promise<number | null>((r) => child.on('close', r));
    const s = createSocket('udp4');
    try {
      for (const hex of readFileSync(join(fixtures, 'softflowd-v10.hex'), 'utf8').split('\n').filter(Boolean)) {
        await new Promise<void>((r, j) => s.send(Buffer.from(hex, 'hex'), port, '127.0.0.1', (e) => (e ? j(e) : r())));
      }
    } finally {
      s.close();
    }
    expect(await closed, stderr).toBe(0);
    const j = JSON.parse(stdout) as { records: number; stored: number; kernelDrops: number };
    expect([j.records, j.stored, j.kernelDrops]).toEqual([40, 40, 0]);
  });
});
