/**
 * What a finding may show outside the operator's store. Findings name the dictionary entry, never
 * a password (records.ts Finding), but `details` is an open record filled by several stages, so
 * every export goes through here and drops any key that looks like a secret, at any depth.
 */
import type { Finding } from '../core/records.js';

/** Keys never exported, whatever a stage put in `details`. */
const secretKey = /^(password|passwd|pass|pwd|passphrase|secret|plaintext|credential_value)$/i;

function scrub(value: unknown, depth: number): unknown {
  if (depth > 8) return null; // details are shallow; a deeper value is a bug, not data to keep
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!secretKey.test(k)) out[k] = scrub(v, depth + 1);
    return out;
  }
  return value;
}

/** Whether a value holds a secret-looking key anywhere (no copy: the common case costs a walk). */
function hasSecret(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > 8) return true;
  if (Array.isArray(value)) return value.some((v) => hasSecret(v, depth + 1));
  for (const k in value) if (secretKey.test(k) || hasSecret((value as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/** The finding as exported: the same record with secret-looking detail keys removed. */
export function publicFinding(f: Finding): Finding {
  return hasSecret(f.details, 0) ? { ...f, details: scrub(f.details, 0) as Finding['details'] } : f;
}

/** The CVE ids a finding cites: `details.cves` (strings or `{ cve }` objects) or `details.cve`. */
export function cvesOf(f: Finding): string[] {
  const d = f.details;
  const list = Array.isArray(d['cves']) ? (d['cves'] as unknown[]) : typeof d['cve'] === 'string' ? [d['cve']] : [];
  const out: string[] = [];
  for (const c of list) {
    const id = typeof c === 'string' ? c : c !== null && typeof c === 'object' && typeof (c as { cve?: unknown }).cve === 'string' ? (c as { cve: string }).cve : undefined;
    if (id !== undefined && !out.includes(id)) out.push(id);
  }
  return out;
}

/** A string detail, or null. */
export function detailText(f: Finding, key: string): string | null {
  const v = f.details[key];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}
