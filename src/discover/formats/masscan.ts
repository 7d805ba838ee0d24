/**
 * masscan output as endpoints (formats learnt from masscan's output modules):
 *  - masscan -oJ (out-json.c): "[", then one record per line `{ "ip": "..", "timestamp": "..",
 *    "ports": [ {"port": 80, "proto": "tcp", "status": "open", ...} ] }`, records separated by a
 *    "," line, then "]". Older versions put a trailing "," on every record, ended with
 *    `{finished: 1}` and used bare keys; some runs lose the final "]". Banner records carry
 *    "service" instead of "status". masscan -oD (out-ndjson.c) is one `{ip, timestamp, port, proto,
 *    rec_type, data: {status}}` per line; both are read as 'masscan-json'.
 *  - masscan -oL (out-text.c): "#masscan", then `open tcp 80 1.2.3.4 1700000000`
 *    (status proto port ip unix-time) or `banner tcp 80 1.2.3.4 1700000000 http ...`, then "# end".
 */
import type { Endpoint } from '../../core/records.js';
import { checkIp, checkPort, endpoint, excerpt, unixToIso, type ImportFormatSpec, type LineParser, type LineResult } from './format.js';

export const masscanList: ImportFormatSpec<'masscan-list'> = {
  name: 'masscan-list',
  detect: (t) => t.startsWith('#masscan') || /^(open|closed|up|unknown|banner)\s+(tcp|udp|sctp|icmp|arp|err)\s/.test(t),
  parse: () => masscanListParser(),
};

export const masscanJson: ImportFormatSpec<'masscan-json'> = {
  name: 'masscan-json',
  detect: (t) => t.startsWith('[') || t.startsWith('{'),
  parse: ({ fallbackSeenAt }) => masscanJsonParser(fallbackSeenAt),
};

// masscan -oJ / -oD ----------------------------------------------------------------------------------

function masscanJsonParser(fallbackSeenAt: string): LineParser {
  return {
    parse(line) {
      let t = line.trim();
      // Array punctuation around records, in all the layouts masscan versions have written.
      if (t.startsWith('[')) t = t.slice(1).trim();
      if (t.startsWith(',')) t = t.slice(1).trim();
      if (t.endsWith(']') && t.slice(0, -1).trimEnd().endsWith('}')) t = t.slice(0, -1).trimEnd();
      if (t.endsWith(',')) t = t.slice(0, -1).trimEnd();
      if (t === '' || t === ']') return 'blank';
      if (!t.startsWith('{')) return { problem: `not a masscan JSON record: ${excerpt(t)}` };
      const record = t.endsWith('}') ? parseRecord(t) : undefined;
      if (record === undefined) {
        return { problem: `broken JSON record (truncated?): ${excerpt(t)}`, hint: 'masscan writes each record whole on one line' };
      }
      return masscanRecord(record, fallbackSeenAt);
    },
  };
}

function parseRecord(text: string): Record<string, unknown> | undefined {
  const asObject = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  try {
    return asObject(JSON.parse(text));
  } catch {
    // masscan before 1.0.4 wrote JavaScript-style bare keys: { ip: "10.0.0.1", ports: [ {port: 80, ...} ] }.
    // Quote them and try once more; records that still fail are reported as broken.
    try {
      return asObject(JSON.parse(text.replace(/([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:/g, '$1"$2":')));
    } catch {
      return undefined;
    }
  }
}

function masscanRecord(r: Record<string, unknown>, fallbackSeenAt: string): LineResult {
  if ('finished' in r && !('ip' in r)) return 'skip'; // the old end marker
  if (typeof r.ip !== 'string') return { problem: 'record has no "ip"' };
  const ip = checkIp(r.ip);
  if (typeof ip !== 'string') return ip;
  let seenAt = fallbackSeenAt;
  if (r.timestamp !== undefined) {
    const iso = unixToIso(r.timestamp);
    if (iso === undefined) return { problem: `bad timestamp ${excerpt(String(r.timestamp))}` };
    seenAt = iso;
  }

  // -oD: one port per record, status under "data".
  if (!('ports' in r)) {
    if (r.rec_type !== undefined && r.rec_type !== 'status') return 'skip';
    const data = r.data as { status?: unknown } | undefined;
    return masscanPort({ port: r.port, proto: r.proto, status: data?.status }, ip, seenAt);
  }
  if (!Array.isArray(r.ports) || r.ports.length === 0) return { problem: '"ports" must be a non-empty list' };
  const out: Endpoint[] = [];
  for (const p of r.ports) {
    if (p === null || typeof p !== 'object') return { problem: '"ports" entries must be objects' };
    const one = masscanPort(p as Record<string, unknown>, ip, seenAt);
    if (typeof one === 'object' && 'problem' in one) return one;
    if (Array.isArray(one)) out.push(...(one as Endpoint[]));
  }
  return out.length > 0 ? out : 'skip';
}

function masscanPort(p: Record<string, unknown>, ip: string, seenAt: string): LineResult {
  if (p.status === undefined) return 'service' in p ? 'skip' : { problem: 'port entry has neither "status" nor "service"' };
  if (typeof p.proto !== 'string' || typeof p.status !== 'string') return { problem: '"proto" and "status" must be text' };
  // ICMP and ARP records carry port 0; only TCP ports make endpoints.
  if (p.proto !== 'tcp') return 'skip';
  const port = typeof p.port === 'number' ? checkPort(p.port) : undefined;
  if (port === undefined) return { problem: `bad port ${excerpt(String(p.port))}` };
  return p.status === 'open' ? [endpoint(ip, port, seenAt, 'masscan')] : 'skip';
}

// masscan -oL --------------------------------------------------------------------------------------

function masscanListParser(): LineParser {
  return {
    parse(line) {
      const t = line.trim();
      if (t === '' || t.startsWith('#')) return 'blank';
      const f = t.split(/\s+/);
      const [status, proto, portText, ipText, time] = f;
      if (status === 'banner') return f.length >= 6 ? 'skip' : { problem: `short banner line: ${excerpt(t)}` };
      if (f.length !== 5 || !status || !proto || !portText || !ipText || !time) {
        return { problem: `expected "status proto port ip time", got ${excerpt(t)}` };
      }
      // Values of masscan's status_string() and name_from_ip_proto() (output.c).
      if (!['open', 'closed', 'up', 'unknown'].includes(status)) return { problem: `unknown status ${excerpt(status)}` };
      if (!['tcp', 'udp', 'sctp', 'icmp', 'arp', 'err'].includes(proto)) {
        return { problem: `unknown protocol ${excerpt(proto)}` };
      }
      const ip = checkIp(ipText);
      if (typeof ip !== 'string') return ip;
      const seenAt = unixToIso(time);
      if (seenAt === undefined) return { problem: `bad timestamp ${excerpt(time)}` };
      if (proto !== 'tcp') return 'skip';
      const port = /^\d{1,5}$/.test(portText) ? checkPort(Number(portText)) : undefined;
      if (port === undefined) return { problem: `bad port ${excerpt(portText)}` };
      return status === 'open' ? [endpoint(ip, port, seenAt, 'masscan')] : 'skip';
    },
  };
}

