/**
 * The conformance suite every grab module runs (hono's common.case.test.ts pattern): against each
 * hostile peer the module ends with a status from the closed set, within the limits, keeping no
 * more bytes than the caps allow, and never claims the garbage as its protocol.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileScope, defaultScope } from '../src/scope/scope.js';
import { connectionStatuses, type ConnectionLimits } from '../src/scope/connection.js';
import type { GrabModule } from '../src/grab/module.js';
import { grabWith, rawCapBytes } from '../src/grab/runner.js';
import { hostile, serveRaw, type HostileName, type TestServer } from './grab-servers.js';

/** Short limits so the suite is quick; the assertions are about bounds, never about time. */
export const conformanceLimits: ConnectionLimits = Object.freeze({
  connectTimeoutMs: 3_000,
  firstByteTimeoutMs: 500,
  idleTimeoutMs: 500,
  deadlineMs: 3_000,
  maxBytes: 64 * 1024,
});

/** Longest JSON a module's fields may take (every text field is bounded well below this). */
const maxFieldsJson = 64 * 1024;

export function grabConformance(module: GrabModule): void {
  describe(`${module.name}: conformance against hostile peers`, () => {
    const scope = compileScope(defaultScope());
    const servers = new Map<HostileName, TestServer>();
    beforeAll(async () => {
      for (const name of Object.keys(hostile) as HostileName[]) servers.set(name, await serveRaw(hostile[name]));
    });
    afterAll(async () => {
      await Promise.all([...servers.values()].map((s) => s.close()));
    });

    it.each(Object.keys(hostile) as HostileName[])('%s: a closed-set status, bounded bytes, not recognised', async (name) => {
      const server = servers.get(name)!;
      const obs = await grabWith({ scope, ip: server.ip, port: server.port, limits: conformanceLimits }, module);
      expect(connectionStatuses).toContain(obs.status);
      expect(obs.module).toBe(module.name);
      expect(obs.recognised).toBe(false);
      expect(obs.bytesReceived).toBeLessThanOrEqual(conformanceLimits.maxBytes);
      expect(Buffer.from(obs.raw, 'base64').length).toBeLessThanOrEqual(rawCapBytes);
      expect(JSON.stringify(obs.fields).length).toBeLessThanOrEqual(maxFieldsJson);
      expect(server.accepted()).toBeGreaterThanOrEqual(1);
      if (name === 'garbage' || name === 'nul' || name === 'endless') expect(obs.bytesReceived).toBeGreaterThan(0);
      if (name === 'silent') expect(obs.bytesReceived).toBe(0);
    });
  });
}
