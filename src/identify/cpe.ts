/**
 * CPE 2.3 formatted-string names (NIST IR 7695, "CPE Naming Specification Version 2.3"). The vuln
 * stage matches these against NVD's dictionary, so names are bound exactly as §6.2 says:
 * `cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other`,
 * ANY as "*", NA as "-", and every character of a value other than letters, digits, "_", "-" and
 * "." quoted with a backslash (§6.2.2.2 bind-value-for-FS: §5.3.2's quoted characters stay quoted,
 * except ".", "-" and "_" which the formatted string leaves bare).
 */

/** CPE part: hardware, operating system, application (NIST IR 7695 §5.3.3.1). */
export type CpePart = 'h' | 'o' | 'a';

/** The WFN attributes iotclean sets; null/undefined/"" is ANY, the string "-" alone is NA. */
export interface CpeAttributes {
  readonly part: CpePart;
  readonly vendor: string | null | undefined;
  readonly product: string | null | undefined;
  readonly version?: string | null | undefined;
  readonly update?: string | null | undefined;
  readonly edition?: string | null | undefined;
  readonly language?: string | null | undefined;
  readonly swEdition?: string | null | undefined;
  readonly targetSw?: string | null | undefined;
  readonly targetHw?: string | null | undefined;
  readonly other?: string | null | undefined;
}

/**
 * One attribute value bound for the formatted string. WFN values are printable ASCII without
 * whitespace (§5.3.2), lower case by NVD's convention: runs of whitespace become "_", characters
 * outside printable ASCII become "_", and "*" / "?" are quoted so they stay literal, not wildcards.
 */
export function bindCpeValue(value: string | null | undefined): string {
  if (value === null || value === undefined) return '*';
  const v = value.trim().toLowerCase().replace(/\s+/g, '_');
  if (v === '') return '*';
  if (v === '-') return '-';
  let out = '';
  for (const ch of v) {
    const code = ch.codePointAt(0) ?? 0;
    if ((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a) || ch === '_' || ch === '-' || ch === '.') out += ch;
    else if (code > 0x20 && code < 0x7f) out += `\\${ch}`;
    else out += '_';
  }
  return out;
}

/** A CPE 2.3 formatted string, e.g. formatCpe23({part:'a', vendor:'matt_johnston', product:'dropbear_ssh', version:'2019.78'}). */
export function formatCpe23(a: CpeAttributes): string {
  const values = [a.vendor, a.product, a.version, a.update, a.edition, a.language, a.swEdition, a.targetSw, a.targetHw, a.other].map(bindCpeValue);
  // NVD's spelling, so that vulnerability matching finds the device: its vendor names where a
  // maker writes its own differently, and a pre-release tag glued to the version ("1.3.1_Beta")
  // moved to the update attribute, as NVD binds it (vigor2960_firmware:1.3.1:beta).
  values[0] = nvdVendors[values[0]!] ?? values[0]!;
  const glued = /^(.*\d)[_-](beta|alpha|rc\d*)$/.exec(values[2]!);
  if (glued && values[3] === '*') {
    values[2] = glued[1]!;
    values[3] = glued[2]!;
  }
  return `cpe:2.3:${a.part}:${values.join(':')}`;
}

/** Bound vendor names → NVD's CPE dictionary vendor, where they differ. */
const nvdVendors: Readonly<Record<string, string>> = { 'd-link': 'dlink', dahua: 'dahuasecurity', xiongmai: 'xiongmaitech', 'i-o_data': 'iodata' };

/** Percent-decoding of a CPE 2.2 URI component (§6.1.3.2 decode); malformed escapes stay as text. */
function decodeUriComponent(c: string): string {
  return c.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * A CPE name given either as a 2.3 formatted string (returned as is when well formed) or as a 2.2
 * URI "cpe:/a:vendor:product:version:update:edition:language" (Recog's `*.cpe23` params use the URI
 * form), bound as a 2.3 formatted string. In a URI, an empty component is ANY and "-" is NA; the
 * packed edition "~e~swe~tsw~thw~o" (§6.1.3.3) is unpacked. Null when it is neither.
 */
export function toCpe23(name: string): string | null {
  const n = name.trim();
  if (/^cpe:2\.3:[aho](?::(?:\\.|[^:\\])*){10}$/.test(n)) return n;
  const m = /^cpe:\/([aho])((?::[^:]*){0,6})$/i.exec(n);
  if (!m?.[1]) return null;
  const parts = (m[2] ?? '').split(':').slice(1).map((c) => (c === '' ? null : c === '-' ? '-' : decodeUriComponent(c)));
  const [vendor, product, version, update, editionRaw, language] = parts;
  let edition: string | null | undefined = editionRaw;
  let swEdition: string | null | undefined;
  let targetSw: string | null | undefined;
  let targetHw: string | null | undefined;
  let other: string | null | undefined;
  if (editionRaw && editionRaw.startsWith('~')) {
    const packed = editionRaw.slice(1).split('~').map((c) => (c === '' ? null : c));
    [edition, swEdition, targetSw, targetHw, other] = packed;
  }
  return formatCpe23({
    part: m[1].toLowerCase() as CpePart,
    vendor,
    product,
    version,
    update,
    edition,
    language,
    swEdition,
    targetSw,
    targetHw,
    other,
  });
}
