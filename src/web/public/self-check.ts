/**
 * The self-check's light probe: one TCP connect to each of a few risky ports of the visitor's own
 * address, through the scope guard (openConnection refuses anything outside the server's scope;
 * the default scope is loopback only), closed as soon as it opens: nothing is sent. Bounded: a
 * fixed port list, all at once, each with a short connect deadline.
 */
import { parseIpv4 } from '../../core/ip.js';
import { openConnection, type ConnectionLimits } from '../../scope/connection.js';
import { compileScope, defaultScope, type CompiledScope } from '../../scope/scope.js';

/** Telnet (Mirai's first target) and its alternate, SSH, admin pages, TR-069, camera/DVR and ADB ports. */
export const selfCheckPorts: readonly number[] = [21, 22, 23, 80, 554, 2323, 5555, 7547, 8080, 37777];

export type PortState = 'open' | 'closed' | 'silent';

export interface LiveCheck {
  /** False when the address is outside the scope (or not IPv4): nothing was sent. */
  readonly possible: boolean;
  readonly ports: readonly { readonly port: number; readonly state: PortState }[];
}

let loopbackOnly: CompiledScope | undefined;
/** The scope used when the server was given none: loopback only, as everywhere in iotclean. */
export const defaultSelfCheckScope = (): CompiledScope => (loopbackOnly ??= compileScope(defaultScope()));

/** Probe `ip` on `ports`; every connection goes through the guard with `scope`. */
export async function lightCheck(ip: string, options: { readonly scope?: CompiledScope; readonly ports?: readonly number[]; readonly timeoutMs?: number } = {}): Promise<LiveCheck> {
  const scope = options.scope ?? defaultSelfCheckScope();
  const ports = (options.ports ?? selfCheckPorts).slice(0, 32);
  const n = parseIpv4(ip);
  if (n === undefined || !scope.allows(n)) return { possible: false, ports: [] };
  const ms = Math.min(10_000, Math.max(100, options.timeoutMs ?? 1_500));
  const limits: ConnectionLimits = { connectTimeoutMs: ms, firstByteTimeoutMs: ms, idleTimeoutMs: ms, deadlineMs: ms + 500, maxBytes: 1024 };
  const results = await Promise.all(
    ports.map(async (port) => {
      const r = await openConnection(scope, ip, port, limits);
      if (r.status === 'success') {
        r.connection.close();
        return { port, state: 'open' as const };
      }
      if (r.status === 'blocklisted-target') return { port, state: 'refused' as const };
      return { port, state: r.status === 'connection-refused' ? ('closed' as const) : ('silent' as const) };
    }),
  );
  // The guard refusing what allows() passed cannot happen with one scope; say "not possible" if it does.
  if (results.some((r) => r.state === 'refused')) return { possible: false, ports: [] };
  return { possible: true, ports: results as { port: number; state: PortState }[] };
}
