/**
 * The operator's list of known research scanners: address blocks whose darknet traffic is
 * measurement, not infection (Shodan, Censys, university projects). A listed source never becomes
 * an `infected` finding, whatever its packets look like; the classifier's masscan/ZMap
 * fingerprints already keep the research tools it recognises out, the list catches the rest.
 *
 * File (CSV, UTF-8, `#` lines and blank lines are comments, an optional `cidr,name` header, fields
 * may be double-quoted as in RFC 4180):
 *
 *     cidr,name
 *     # Censys publishes its ranges; Shodan's crawlers are listed by address.
 *     127.250.0.0/16,lab research scanners
 *     127.251.3.7,"University of Example, internet measurement"
 *     2001:db8:100::/48,example IPv6 scanner
 *
 * A block is an IPv4 or IPv6 address with an optional prefix length (a bare address is /32 or
 * /128); IPv4 blocks must not have host bits set, so a typo cannot silently widen or move a block.
 * Names are 1–128 printable characters. A lookup tries each listed prefix length, longest first,
 * in a map of network → name (at most 33 or 129 probes, no allocation for IPv4), so it can say
 * which scanner it was and the most specific entry wins.
 */
import { splitCsvLine } from '../core/csv.js';
import { IotcleanError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import { formatIpv4, parseIpv4, prefixMask } from '../core/ip.js';

/** One listed block. */
export interface ScannerBlock {
  readonly cidr: string;
  readonly name: string;
  readonly line: number;
}

/** A compiled list. */
export interface ScannerList {
  readonly source: string;
  readonly blocks: readonly ScannerBlock[];
  /** The name of the listed scanner holding `ip`, or undefined (also for text that is no address). */
  match(ip: string): string | undefined;
}

/** Entries a list may hold: published lists run to a few thousand blocks. */
export const maxScannerBlocks = 100_000;
const NAME = /^[^\u0000-\u001f\u007f-\u009f]{1,128}$/;

const listError = (message: string, file: string, line: number | undefined, hint: string): IotcleanError =>
  new IotcleanError('E_SCANNER_LIST', message, { file, ...(line !== undefined ? { line } : {}), hint });

/** A strict IPv6 literal (RFC 4291 2.2: hex groups, at most one "::", an optional dotted-quad tail) as a 128-bit integer. */
export function parseIpv6(text: string): bigint | undefined {
  if (text.length === 0 || text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let body = text;
  let v4: number | undefined;
  if (text.includes('.')) {
    // The dotted quad stands for the last two groups (::ffff:192.0.2.1).
    const colon = text.lastIndexOf(':');
    v4 = parseIpv4(text.slice(colon + 1));
    if (v4 === undefined || colon < 0) return undefined;
    body = text.slice(0, colon + 1);
    if (!body.endsWith('::')) body = body.slice(0, -1);
  }
  const want = v4 === undefined ? 8 : 6;
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (![...head, ...tail].every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  let groups: string[];
  if (halves.length === 2) {
    if (head.length + tail.length > want - 1) return undefined;
    groups = [...head, ...Array<string>(want - head.length - tail.length).fill('0'), ...tail];
  } else {
    if (head.length !== want) return undefined;
    groups = head;
  }
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return v4 === undefined ? n : (n << 32n) | BigInt(v4);
}

/** Parse list text; every error names the file and line. */
export function parseScannerList(text: string, fileName: string): ScannerList {
  const blocks: ScannerBlock[] = [];
  // Per prefix length: network → name (first entry for a network wins).
  const v4 = new Map<number, Map<number, string>>();
  const v6 = new Map<number, Map<bigint, string>>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let first = true;
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const split = splitCsvLine(trimmed);
    if ('problem' in split) throw listError(split.problem, fileName, line, split.hint);
    const [cidr = '', name = '', ...rest] = split.fields;
    if (first && cidr.toLowerCase() === 'cidr') {
      first = false;
      continue;
    }
    first = false;
    if (rest.some((f) => f !== '') || split.fields.length < 2) {
      throw listError(`expected 2 fields (cidr,name), got ${split.fields.length}`, fileName, line, 'one block and its scanner name per line, e.g. 127.250.0.0/16,Example Scan Project');
    }
    if (!NAME.test(name)) throw listError(`scanner name "${name.slice(0, 40)}" is empty, too long or holds control characters`, fileName, line, 'a name of 1 to 128 printable characters');
    const slash = cidr.indexOf('/');
    const addr = slash < 0 ? cidr : cidr.slice(0, slash);
    const a4 = parseIpv4(addr);
    const a6 = a4 === undefined ? parseIpv6(addr) : undefined;
    if (a4 === undefined && a6 === undefined) throw listError(`"${cidr.slice(0, 60)}" is not an IPv4 or IPv6 address or block`, fileName, line, 'write a block such as 192.0.2.0/24 or 2001:db8::/32, or one address');
    const max = a4 !== undefined ? 32 : 128;
    const lenText = slash < 0 ? String(max) : cidr.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(lenText) || Number(lenText) > max) throw listError(`"${cidr}": prefix length "${lenText}" is not a number from 0 to ${max}`, fileName, line, `IPv${max === 32 ? 4 : 6} prefixes run from /0 to /${max}`);
    const len = Number(lenText);
    if (len === 0) throw listError(`"${cidr}" lists the whole address space`, fileName, line, "a research scanner list names the scanners' own blocks; /0 would hide every infection");
    if (blocks.length >= maxScannerBlocks) throw listError(`more than ${maxScannerBlocks} blocks`, fileName, line, 'merge adjacent blocks');
    if (a4 !== undefined) {
      const net = (a4 & prefixMask(len)) >>> 0;
      if (net !== a4) throw listError(`"${cidr}" has host bits set`, fileName, line, `write the block's network address, ${formatIpv4(net)}/${len}, or the one address ${addr}`);
      let m = v4.get(len);
      if (!m) v4.set(len, (m = new Map()));
      if (!m.has(net)) m.set(net, name);
    } else {
      // IPv6 lists are often written with host bits (an address and its /64): the block is meant.
      const net = a6! & ~((1n << BigInt(128 - len)) - 1n);
      let m = v6.get(len);
      if (!m) v6.set(len, (m = new Map()));
      if (!m.has(net)) m.set(net, name);
    }
    blocks.push({ cidr, name, line });
  }
  const lens4 = [...v4.keys()].sort((a, b) => b - a);
  const lens6 = [...v6.keys()].sort((a, b) => b - a);
  return {
    source: fileName,
    blocks,
    match(ip) {
      const a = parseIpv4(ip);
      if (a !== undefined) {
        for (const len of lens4) {
          const name = v4.get(len)!.get((a & prefixMask(len)) >>> 0);
          if (name !== undefined) return name;
        }
        return undefined;
      }
      const b = lens6.length ? parseIpv6(ip) : undefined;
      if (b === undefined) return undefined;
      for (const len of lens6) {
        const name = v6.get(len)!.get(b & ~((1n << BigInt(128 - len)) - 1n));
        if (name !== undefined) return name;
      }
      return undefined;
    },
  };
}

/** Read and parse a list file; an unreadable file is an E_SCANNER_LIST naming it. */
export async function loadScannerList(path: string): Promise<ScannerList> {
  const text = await readInputFile(path, { code: 'E_SCANNER_LIST', name: 'research-scanner list', hint: 'give the path of a readable CSV file of cidr,name lines' });
  return parseScannerList(text, path);
}
