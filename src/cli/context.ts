/** Shared option definitions and loaders for CLI commands (scope, plan, store). */
import { IotcleanError } from '../core/errors.js';
import { loadDefaultPlan, loadPlan, serviceOfPort, wellKnownPorts, type SurveyPlan } from '../discover/plan.js';
import { compileScope, defaultScope, loadScope, restrictScope, type CompiledScope } from '../scope/scope.js';
import { DEFAULT_DB, openStore, type OpenOptions } from '../store/open.js';
import type { Store } from '../store/store.js';
import type { OptionSpec } from './command.js';

/** A /8's worth of addresses: larger scopes need --confirm-large-scope. */
export const LARGE_SCOPE = 2 ** 24;

export const storeOption = {
  db: { type: 'string', value: 'PATH|URL', description: 'SQLite database file, or a postgres:// URL', default: DEFAULT_DB },
} as const satisfies Record<string, OptionSpec>;

export const scopeOptions = {
  scope: { type: 'string', value: 'FILE', description: 'authorised scope file (default: loopback 127.0.0.0/8 only)' },
  targets: { type: 'string', value: 'LIST', list: true, description: 'comma-separated CIDRs/ranges/addresses to survey, inside the scope' },
  'confirm-large-scope': { type: 'boolean', description: `accept a scope authorising more than a /8 (${LARGE_SCOPE.toLocaleString('en')} addresses)`, default: false },
} as const satisfies Record<string, OptionSpec>;

/**
 * Load and compile the scope (and --targets inside it). A scope authorising more than a /8's
 * worth of addresses is refused unless confirmed, so `include 0.0.0.0/0` is never an accident;
 * the default loopback scope is exactly a /8 and needs no flag.
 */
export async function resolveScope(o: {
  scope?: string | undefined;
  targets?: string | undefined;
  'confirm-large-scope'?: boolean | undefined;
}): Promise<{ scope: CompiledScope; targets: CompiledScope }> {
  const scope = compileScope(o.scope ? await loadScope(o.scope) : defaultScope());
  if (scope.size > LARGE_SCOPE && o['confirm-large-scope'] !== true) {
    throw new IotcleanError(
      'E_SCOPE_DENIED',
      `${scope.source} authorises ${scope.size.toLocaleString('en')} addresses, more than a /8 (${LARGE_SCOPE.toLocaleString('en')}); a scope this large needs confirmation`,
      { ...(o.scope ? { file: o.scope } : {}), hint: 'check it with: iotclean scope FILE; if it is meant, add --confirm-large-scope' },
    );
  }
  const list = o.targets?.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const targets = list && list.length > 0 ? restrictScope(scope, list) : scope;
  return { scope, targets };
}

export async function resolvePlan(o: { plan?: string | undefined; ports?: string | undefined }): Promise<SurveyPlan> {
  const plan = o.plan ? await loadPlan(o.plan) : await loadDefaultPlan();
  if (o.ports === undefined) return plan;
  const wanted = o.ports.split(',').map((p) => p.trim()).filter((p) => p !== '');
  // An empty list is a mistake, never "use the plan's ports".
  if (wanted.length === 0) throw new IotcleanError('E_ARGS', `--ports lists no port, got "${o.ports}"`, { hint: 'give ports such as --ports 23,80,8080, or leave --ports out to use the plan\'s' });
  const ports = wanted.map((p) => {
    const name = p.toLowerCase();
    const n = /^\d+$/.test(p) ? Number(p) : Object.hasOwn(wellKnownPorts, name) ? wellKnownPorts[name] : undefined;
    if (n === undefined || n < 1 || n > 65535) {
      throw new IotcleanError('E_ARGS', `--ports: "${p}" is not a port number or a known port name`, {
        hint: `use numbers 1-65535 or names such as ${Object.keys(wellKnownPorts).slice(0, 6).join(', ')}`,
      });
    }
    return plan.ports.find((x) => x.port === n) ?? { port: n, service: serviceOfPort(n), reason: 'given on the command line' };
  });
  return { ...plan, ports: [...new Map(ports.map((p) => [p.port, p])).values()] };
}

/**
 * Run fn with an open store and always close it. Commands that only read pass `readOnly`: they
 * never create a database or a folder, and a missing one is an error naming it.
 */
export async function withStore<T>(location: string, fn: (store: Store) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const store = await openStore(location, options);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Parse "i/n" (1-based i, as masscan's --shards) into a 0-based shard. */
export function parseShard(text: string | undefined): { index: number; count: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) {
    throw new IotcleanError('E_ARGS', `--shard must be i/n with 1 ≤ i ≤ n, got "${text}"`, { hint: 'e.g. --shard 2/4 runs the second of four shards' });
  }
  return { index: i - 1, count: n };
}

/** The survey id asked for, or the latest; an error naming it when the store lacks it. */
export async function surveyIdOf(store: Store, id: number | undefined): Promise<number> {
  const surveys = await store.surveys.list();
  const chosen = id ?? surveys.at(-1)?.id;
  if (chosen === undefined || !surveys.some((s) => s.id === chosen)) {
    throw new IotcleanError('E_NOT_FOUND', chosen === undefined ? 'the store holds no surveys' : `no survey with id ${chosen}`, { hint: 'list them with: iotclean surveys' });
  }
  return chosen;
}

export function stopOnSignal(): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    done: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
