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
 * Names are 1–128 printable characters. Matching is node:net's BlockList, one per name, so a
 * match can say which scanner it was.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { splitCsvLine } from '../core/csv.js';
import { IotcleanError } from '../core/errors.js';
import { readInputFile } from '../core/files.js';
import { parseIpv4, prefixMask } from '../core/ip.js';

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

/** Parse list text; every error names the file and line. */
export function parseScannerList(text: string, fileName: string): ScannerList {
  const blocks: ScannerBlock[] = [];
  const byName = new Map<string, BlockList>();
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
    const v4 = isIPv4(addr) && parseIpv4(addr) !== undefined;
    if (!v4 && !isIPv6(addr)) throw listError(`"${cidr.slice(0, 60)}" is not an IPv4 or IPv6 address or block`, fileName, line, 'write a block such as 192.0.2.0/24 or 2001:db8::/32, or one address');
    const max = v4 ? 32 : 128;
    const lenText = slash < 0 ? String(max) : cidr.slice(slash + 1);
    if (!/^(0|[1-9]\d{0,2})$/.test(lenText) || Number(lenText) > max) throw listError(`"${cidr}": prefix length "${lenText}" is not a number from 0 to ${max}`, fileName, line, `IPv${v4 ? 4 : 6} prefixes run from /0 to /${max}`);
    const len = Number(lenText);
    if (len === 0) throw listError(`"${cidr}" lists the whole address space`, fileName, line, 'a research scanner list names the scanners\' own blocks; /0 would hide every infection');
    if (v4 && ((parseIpv4(addr)! & ~prefixMask(len)) >>> 0) !== 0) throw listError(`"${cidr}" has host bits set`, fileName, line, `did you mean ${cidr.replace(/\/\d+$/, '')} with a shorter address, e.g. its network address?`);
    if (blocks.length >= maxScannerBlocks) throw listError(`more than ${maxScannerBlocks} blocks`, fileName, line, 'merge adjacent blocks');
    let list = byName.get(name);
    if (!list) byName.set(name, (list = new BlockList()));
    list.addSubnet(addr, len, v4 ? 'ipv4' : 'ipv6');
    blocks.push({ cidr, name, line });
  }
  const named = [...byName];
  return {
    source: fileName,
    blocks,
    match(ip) {
      const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
      if (!family) return undefined;
      for (const [name, list] of named) if (list.check(ip, family)) return name;
      return undefined;
    },
  };
}

/** Read and parse a list file; an unreadable file is an E_SCANNER_LIST naming it. */
export async function loadScannerList(path: string): Promise<ScannerList> {
  const text = await readInputFile(path, { code: 'E_SCANNER_LIST', name: 'research-scanner list', hint: 'give the path of a readable CSV file of cidr,name lines' });
  return parseScannerList(text, path);
}
