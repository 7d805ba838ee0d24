/**
 * ISC dhcpd's lease database, `dhcpd.leases` (dhcpd.leases(5)): `lease A.B.C.D { … }` blocks
 * with `starts`/`ends`/`cltt` ("W YYYY/MM/DD HH:MM:SS", UTC; or "epoch N"; `ends never`),
 * `binding state active|free|expired|released|abandoned|backup`, `hardware ethernet MAC`,
 * `uid "…"` and `client-hostname "…"`. Other blocks (failover peer, server-duid, host) are skipped.
 */
import { canonicalIp, normaliseClientId, normaliseMac, parseLogTime } from './fields.js';
import { mergeLeases, type LeaseEvent } from './lease-merge.js';
import type { LogLine, ParseItem, SessionLogParser } from './types.js';

interface Block {
  ip: string | undefined;
  line: number;
  starts?: number | null;
  ends?: number | null;
  cltt?: number;
  state?: string;
  mac?: string | null;
  uid?: string | null;
}

function eventOf(b: Block): LeaseEvent | ParseItem | undefined {
  if (b.ip === undefined) return undefined;
  const start = b.starts ?? b.cltt;
  if (start === undefined || start === null) return { kind: 'problem', line: b.line, message: `lease ${b.ip} has no readable starts or cltt` };
  const state = b.state ?? 'active';
  const mac = b.mac ?? null;
  const clientId = b.uid ?? null;
  // Only an active binding is a holding; free, expired, released and abandoned end one.
  const type = state === 'active' ? 'grant' : state === 'backup' ? undefined : 'end';
  if (type === undefined) return undefined;
  return { line: b.line, ip: b.ip, type, start, end: type === 'end' ? (b.ends ?? b.cltt ?? start) : (b.ends ?? null), mac, clientId };
}

async function* events(lines: AsyncIterable<LogLine>): AsyncIterable<LeaseEvent | ParseItem> {
  let block: Block | undefined;
  // Depth of braces of blocks we skip (failover peer, host, lease6 …).
  let skip = 0;
  for await (const l of lines) {
    if (l.truncated) yield { kind: 'problem', line: l.n, message: 'line too long; cut' };
    // Comments: whole lines, or after a statement's `;` (a `#` inside a quoted hostname is text).
    const text = l.text.trimStart().startsWith('#') ? '' : l.text.replace(/;\s*#.*$/, ';').trim();
    if (text === '') continue;
    if (skip > 0) {
      skip += (text.match(/\{/g)?.length ?? 0) - (text.match(/\}/g)?.length ?? 0);
      continue;
    }
    if (!block) {
      const m = /^lease\s+(\S+)\s*\{$/.exec(text);
      if (m) {
        const ip = canonicalIp(m[1]!);
        if (ip === undefined) yield { kind: 'problem', line: l.n, message: `lease address "${m[1]!.slice(0, 40)}" is not an IPv4 address` };
        block = { ip, line: l.n };
        continue;
      }
      if (text.endsWith('{')) {
        skip = 1;
        continue;
      }
      if (text.endsWith(';')) continue; // server-duid, authoring-byte-order …
      yield { kind: 'problem', line: l.n, message: `not a lease block: "${text.slice(0, 60)}"` };
      continue;
    }
    if (text === '}') {
      const e = eventOf(block);
      if (e) yield e;
      block = undefined;
      continue;
    }
    const m = /^([a-z-]+(?:\s+(?:state|ethernet))?)\s+(.*);$/.exec(text);
    if (!m) {
      if (/^lease\s/.test(text)) {
        yield { kind: 'problem', line: block.line, message: 'lease block not closed before the next one' };
        block = undefined;
        const again = /^lease\s+(\S+)\s*\{$/.exec(text);
        if (again) block = { ip: canonicalIp(again[1]!), line: l.n };
        continue;
      }
      yield { kind: 'problem', line: l.n, message: `not a lease statement: "${text.slice(0, 60)}"` };
      continue;
    }
    const [, key, value] = m as unknown as [string, string, string];
    const time = (v: string): number | null | undefined => (v.trim() === 'never' ? null : parseLogTime(v));
    switch (key) {
      case 'starts':
      case 'ends': {
        const t = time(value);
        if (t === undefined) yield { kind: 'problem', line: l.n, message: `unreadable ${key} time "${value.slice(0, 40)}"` };
        else block[key] = t;
        break;
      }
      case 'cltt': {
        const t = time(value);
        if (typeof t === 'number') block.cltt = t;
        break;
      }
      case 'binding state':
        block.state = value.trim().toLowerCase();
        break;
      case 'hardware ethernet':
        block.mac = normaliseMac(value);
        if (block.mac === null) yield { kind: 'problem', line: l.n, message: `unreadable MAC "${value.slice(0, 40)}"` };
        break;
      case 'uid':
        block.uid = normaliseClientId(value);
        break;
      default:
        break;
    }
  }
  if (block) yield { kind: 'problem', line: block.line, message: 'lease block not closed at end of file' };
}

export const dhcpdLeasesParser: SessionLogParser = {
  name: 'dhcpd-leases',
  detect: (head) => head.some((l) => /^\s*lease\s+\d{1,3}(\.\d{1,3}){3}\s*\{/.test(l)) || head.some((l) => l.includes('dhcpd.leases')),
  parse: (lines) => mergeLeases(events(lines)),
};
