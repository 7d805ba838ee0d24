/**
 * Deterministic STIX identifiers (UUIDv5, RFC 4122 §4.3), so re-exporting the same candidates
 * gives the same ids and a receiver deduplicates by id and keeps the newest `modified`.
 */
import { createHash } from 'node:crypto';

/** STIX 2.1 §2.9: the namespace of SCO ids (a producer must not use it for anything else). */
export const stixScoNamespace = '00abedb4-aa42-466c-9c01-fed23315a9b7';
/** iotclean's own namespace for SDO/SRO/bundle ids: UUIDv5 of "iotclean.stix" under the DNS namespace. */
export const iotcleanNamespace = uuidv5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'iotclean.stix');

/** UUIDv5 of `name` in `namespace` (SHA-1, version and variant bits set). */
export function uuidv5(namespace: string, name: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`uuidv5: namespace ${namespace} is not a UUID`);
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * JSON with object keys sorted (RFC 8785 canonical form for the strings, integers, arrays and
 * objects STIX ids are computed from; non-integer numbers are not used there).
 */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The id of an SCO from its id-contributing properties (STIX 2.1 §2.9; ipv4-addr: value). */
export function scoId(type: string, contributing: Record<string, unknown>): string {
  return `${type}--${uuidv5(stixScoNamespace, canonicalJson(contributing))}`;
}

/** The id of an SDO/SRO/bundle from the parts that make it the same thing (not from what changes between versions). */
export function stableId(type: string, ...parts: readonly (string | number)[]): string {
  return `${type}--${uuidv5(iotcleanNamespace, canonicalJson([type, ...parts]))}`;
}
