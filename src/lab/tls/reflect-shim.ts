/**
 * The few Reflect metadata functions @peculiar/x509 needs (through tsyringe, which refuses to load
 * without them). No polyfill package is installed, and these three are all either library calls
 * (checked with grep over their builds): defineMetadata, getMetadata, getOwnMetadata. Installed only
 * when missing, so a real polyfill loaded first wins.
 */
type Target = object;
const store = new WeakMap<Target, Map<string | symbol | undefined, Map<unknown, unknown>>>();

function own(target: Target, property: string | symbol | undefined, create: boolean): Map<unknown, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let map = byProperty.get(property);
  if (!map && create) {
    map = new Map();
    byProperty.set(property, map);
  }
  return map;
}

const shim = {
  defineMetadata(key: unknown, value: unknown, target: Target, property?: string | symbol): void {
    own(target, property, true)?.set(key, value);
  },
  getOwnMetadata(key: unknown, target: Target, property?: string | symbol): unknown {
    return own(target, property, false)?.get(key);
  },
  getMetadata(key: unknown, target: Target, property?: string | symbol): unknown {
    // Walk the prototype chain, as reflect-metadata does; bounded by the chain's length.
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
      const map = own(t, property, false);
      if (map?.has(key)) return map.get(key);
    }
    return undefined;
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(shim)) if (typeof reflect[name] !== 'function') reflect[name] = fn;
