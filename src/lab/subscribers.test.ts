/**
 * The lab's subscribers and session logs, read back through the real parsers and matcher: every
 * probe (current holders, earlier holders of reassigned addresses, CGNAT ports) resolves to the
 * subscriber the truth names, no log line is malformed, rented routers route to isp-task and the
 * corporate line to sier-notice, and the same seed writes the same files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Finding } from '../core/records.js';
import { readSessionLog, type SessionLogProblem } from '../notify/isp/logs/index.js';
import { createSessionIndexBuilder, matchFinding } from '../notify/isp/match.js';
import { inventoryOf, routeMatch } from '../notify/isp/route.js';
import { readInventoryFile, readSubscriberFile } from '../notify/isp/subscriber-files.js';
import { buildLab } from './population.js';
import { openStore } from '../store/open.js';
import { matchAndRoute } from '../notify/isp/match-store.js';
import { buildLabSubscribers, importLabIsp, labSubscriberAt, writeLabSubscribers } from './subscribers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-labsubs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const periodEnd = Date.parse('2026-12-15T00:00:00Z');
const plan = buildLab({ devices: 400, seed: 'lab-subscribers', network: '127.112.0.0/16' });
const world = buildLabSubscribers(plan, { periodEnd });

function finding(ip: string, at: number, port: number | null, model: string | null): Finding {
  return {
    kind: 'weak-credential',
    ip,
    port,
    protocol: null,
    observedAt: new Date(at).toISOString(),
    period: '2026-12',
    device: { type: 'router', vendor: null, model, firmware: null },
    severity: 'high',
    details: {},
    evidence: [],
    surveyId: null,
    planVersion: null,
    isp: null,
    prefixOwner: null,
    held: null,
  };
}

describe('lab subscribers', () => {
  it('covers every format, reassignment and CGNAT, deterministically', () => {
    expect(world.isps.map((i) => i.format).sort()).toEqual(['cgnat', 'dhcpd-leases', 'kea-csv', 'radius-csv', 'radius-detail']);
    expect(world.truth.probes.filter((p) => p.kind === 'previous').length).toBeGreaterThanOrEqual(10);
    const again = buildLabSubscribers(plan, { periodEnd });
    expect(again.isps.map((i) => i.files)).toEqual(world.isps.map((i) => i.files));
    for (const isp of world.isps) for (const s of isp.subscribers) expect(s.email).toBe(`${s.id}@${isp.ispId}.lab.invalid`);
    const langs = world.isps.flatMap((i) => i.subscribers.map((s) => s.language));
    expect(langs.filter((l) => l === 'ja').length).toBeGreaterThan(langs.length / 2);
    expect(langs).toContain('en');
  });

  it('every probe resolves, through the written files, to the subscriber who held it then', async () => {
    writeLabSubscribers(world, dir);
    const byDevice = new Map(plan.devices.map((d) => [d.id, d]));
    let checked = 0;
    for (const isp of world.isps) {
      const problems: SessionLogProblem[] = [];
      const subs = await readSubscriberFile(join(dir, isp.ispId, 'subscribers.csv'), (p) => problems.push(p));
      const inventory = inventoryOf(await readInventoryFile(join(dir, isp.ispId, 'inventory.csv'), (p) => problems.push(p)));
      const builder = createSessionIndexBuilder(periodEnd);
      for await (const s of readSessionLog(join(dir, isp.ispId, isp.sessionFile), { keys: subs.keys, onProblem: (p) => problems.push(p) })) {
        expect(s.source).toBe(isp.format);
        builder.add(s);
      }
      expect(problems).toEqual([]);
      const index = builder.build();
      for (const p of world.truth.probes.filter((x) => x.ispId === isp.ispId)) {
        expect(labSubscriberAt(world, p.ip, p.at, isp.format === 'cgnat' ? p.port : null)).toBe(p.subscriber);
        const device = byDevice.get(p.deviceId)!;
        const m = matchFinding(index, finding(p.ip, p.at, p.port, device.profile.model), subs.keys);
        expect([m.status, m.subscriber], `${isp.ispId} ${p.kind} ${p.ip}:${p.port} ${new Date(p.at).toISOString()} ${m.reason}`).toEqual(['matched', p.subscriber]);
        const route = routeMatch(m, inventory);
        const entry = isp.inventory.find((e) => e.subscriber === p.subscriber || (e.mac !== null && subs.keys.byMac.get(e.mac) === p.subscriber));
        expect(route?.measure).toBe(entry?.measure ?? 'subscriber-alert');
        checked++;
      }
      if (isp.format === 'cgnat') {
        // Behind CGNAT an address without a port cannot be resolved, and says why.
        const p = world.truth.probes.find((x) => x.ispId === isp.ispId)!;
        expect(matchFinding(index, finding(p.ip, p.at, null, null)).reason).toContain('port is needed');
      }
    }
    expect(checked).toBe(world.truth.probes.length);
  });

  it('lists rented routers (isp-task) and one SIer-managed line (sier-notice) per ISP', () => {
    const all = world.isps.flatMap((i) => i.inventory);
    expect(all.filter((e) => e.measure === 'isp-task').length).toBeGreaterThan(5);
    for (const isp of world.isps) expect(isp.inventory.filter((e) => e.measure === 'sier-notice').length, isp.ispId).toBe(1);
    // A rented router of a DHCP ISP is listed by MAC, of a RADIUS ISP by subscriber.
    expect(world.isps.find((i) => i.format === 'dhcpd-leases')!.inventory.some((e) => e.measure === 'isp-task' && e.mac !== null)).toBe(true);
    expect(world.isps.find((i) => i.format === 'radius-detail')!.inventory.some((e) => e.measure === 'isp-task' && e.subscriber !== null)).toBe(true);
  });

  it('importLabIsp loads an ISP into a store, and matchAndRoute resolves its probes from there', async () => {
    const isp = world.isps.find((i) => i.format === 'dhcpd-leases')!;
    const store = await openStore(join(dir, 'lab-isp.db'));
    try {
      const problems: unknown[] = [];
      const r = await importLabIsp(store, isp, periodEnd, (p) => problems.push(p));
      expect(problems).toEqual([]);
      expect(r.subscribers).toBe(isp.subscribers.length);
      expect(r.sessions).toBeGreaterThan(0);
      const probes = world.truth.probes.filter((p) => p.ispId === isp.ispId);
      const out = await matchAndRoute(store, probes.map((p) => ({ finding: finding(p.ip, p.at, p.port, null), ticket: 'T' })));
      expect(out.map((m) => m.subscriber)).toEqual(probes.map((p) => p.subscriber));
      const rented = out.filter((m) => m.route?.measure === 'isp-task');
      expect(rented.length).toBe(probes.filter((p) => isp.inventory.some((e) => e.measure === 'isp-task' && e.mac === isp.subscribers.find((s) => s.id === p.subscriber)?.macs[0])).length);
    } finally {
      await store.close();
    }
  });
});
