/**
 * Test support for the HTTP access modules: an access context over the default (loopback) scope,
 * observations made by the real grab stage, and a dictionary with the right pair at a position.
 * Used by tests only.
 */
import { openConnection, type ConnectionLimits } from '../../scope/connection.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { grabEndpoint } from '../../grab/runner.js';
import type { AccessContext, AccessTarget, Credential } from '../module.js';

export const testScope = compileScope(defaultScope());
export const testLimits: ConnectionLimits = { connectTimeoutMs: 3000, firstByteTimeoutMs: 5000, idleTimeoutMs: 5000, deadlineMs: 20_000, maxBytes: 256 * 1024 };

/** A context to ip:port; counts the connections it opens. */
export function accessContext(ip: string, port: number, pauseMs = 0, limits: ConnectionLimits = testLimits): AccessContext & { readonly opened: () => number } {
  let opened = 0;
  return {
    scope: testScope,
    limits,
    pauseMs,
    open: (o) => {
      opened++;
      return openConnection(testScope, ip, port, limits, o?.tls ? { tls: o.tls } : {});
    },
    opened: () => opened,
  };
}

/** The target as the grab stage sees it. */
export async function grabbedTarget(ip: string, port: number, service?: 'http' | 'https'): Promise<AccessTarget> {
  const observations = await grabEndpoint({ scope: testScope, ip, port, limits: testLimits, ...(service ? { service } : {}) });
  return { ip, port, observations };
}

/** `total` wrong pairs for `username` with the right one at 1-based `at` (or none when at is 0). */
export function dictionary(total: number, at: number, right: { readonly username: string; readonly password: string }): Credential[] {
  return Array.from({ length: total }, (_, i) =>
    i + 1 === at ? { id: `e${i + 1}`, ...right } : { id: `e${i + 1}`, username: i % 2 === 0 ? right.username : 'admin', password: `wrong-${i + 1}` },
  );
}
