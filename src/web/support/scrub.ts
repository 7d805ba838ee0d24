/**
 * Personal data out of a Q&A before it becomes public FAQ text: mail addresses, case references,
 * IP and MAC addresses, phone and customer numbers are replaced by "[…]" in the draft the operator
 * edits, and `personalData` refuses a text that still holds any of them when it is published.
 */
const digits = (s: string): number => s.replace(/\D/g, '').length;

const patterns: readonly { readonly name: string; readonly re: RegExp; readonly accept?: (s: string) => boolean }[] = [
  { name: 'mail address', re: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g },
  { name: 'reference', re: /IOTC-\d{4}-\d{6}/gi },
  { name: 'MAC address', re: /\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b/g },
  { name: 'IP address', re: /\b(?:\d{1,3}\.){3}\d{1,3}\b/g },
  // Not a clock time (12:30:45): an IPv6 address has a hex letter or "::".
  { name: 'IPv6 address', re: /(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])/g, accept: (s) => /[a-fA-F]|::/.test(s) },
  // Phone and customer numbers: 8 or more digits, maybe split by hyphens or spaces.
  { name: 'phone or customer number', re: /(?<![\w.])\+?\d[\d -]{6,}\d(?![\w.])/g, accept: (s) => digits(s) >= 8 },
];

export function scrub(text: string): string {
  let out = text;
  for (const p of patterns) out = out.replace(p.re, (s) => (!p.accept || p.accept(s) ? '[…]' : s));
  return out;
}

/** The first kind of personal data found in `text`, or null. */
export function personalData(text: string): string | null {
  for (const p of patterns) for (const hit of text.matchAll(new RegExp(p.re.source, p.re.flags))) if (!p.accept || p.accept(hit[0])) return p.name;
  return null;
}
