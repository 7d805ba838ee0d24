/**
 * For the telnet access tests and the namespace probe: an AccessContext whose connections go
 * through the real scope guard (default scope: loopback only) to one ip:port. Not used by the
 * product; the access runner builds its own contexts.
 */
import { compileScope, defaultScope } from '../../scope/scope.js';
import { defaultLimits, openConnection, type ConnectionLimits } from '../../scope/connection.js';
import type { AccessContext, AccessTarget } from '../module.js';

/** A context for ip:port under the loopback-only default scope; counts the connections it opens. */
export function loopbackContext(ip: string, port: number, limits: Partial<ConnectionLimits> = {}, pauseMs = 0): AccessContext & { readonly opened: () => number } {
  const scope = compileScope(defaultScope());
  const all: ConnectionLimits = { ...defaultLimits, ...limits };
  let opened = 0;
  return {
    scope,
    limits: all,
    pauseMs,
    open: (options) => {
      opened++;
      return openConnection(scope, ip, port, all, options ?? {});
    },
    opened: () => opened,
  };
}

/** A target whose telnet observation saw a login prompt (what the grab stage records). */
export function telnetTarget(ip: string, port: number): AccessTarget {
  return {
    ip,
    port,
    observations: [
      {
        kind: 'observation',
        surveyId: null,
        endpointId: null,
        ip,
        port,
        module: 'telnet',
        status: 'success',
        recognised: true,
        fields: { banner: '', prompt: 'login:', loginPrompt: true, passwordPrompt: false, will: [], do: [] },
        raw: '',
        bytesReceived: 0,
        observedAt: new Date(0).toISOString(),
        durationMs: 0,
        source: 'grab',
      },
    ],
  };
}
