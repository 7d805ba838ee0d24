/**
 * Observation fields (src/grab/fields.ts) → the texts rule sources fingerprint, under Recog's
 * `matches` key names so Recog's databases and iotclean's own rules read the same inputs. Fields
 * may come from the store or a zgrab2 import, so every value is read defensively: a missing or
 * mistyped field gives no input, never an exception. Every text is bounded.
 */
import type { Observation } from '../core/records.js';
import type { IdentifyInput } from './source.js';

/** Longest text handed to a rule (banners, titles, header values). */
export const maxInputChars = 4096;
/** Longest body excerpt handed to `html_body` rules. */
export const maxBodyChars = 16_384;

/** Every key inputsOf can produce; rule files are checked against it. */
export const inputKeys = [
  'ssh.banner',
  'telnet.banner',
  'telnet.options',
  'ftp.banner',
  'http_header.server',
  'http_header.wwwauth',
  'http_header.cookie',
  'http_header.x-powered-by',
  'html_title',
  'html_body',
  'favicon.md5',
  'favicon.mmh3',
  'x509.subject',
  'x509.issuer',
  'rtsp_header.server',
  'rtsp_header.wwwauth',
  'mqtt.version',
  'generic.banner',
] as const;
export type InputKey = (typeof inputKeys)[number];

type Fields = Readonly<Record<string, unknown>>;

function str(v: unknown, max = maxInputChars): string | null {
  if (typeof v !== 'string') return null;
  const t = (v.length > max ? v.slice(0, max) : v).trim();
  return t.length > 0 ? t : null;
}

function rec(v: unknown): Fields | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Fields) : null;
}

function push(out: IdentifyInput[], key: InputKey, text: string | null): void {
  if (text !== null) out.push({ key, text });
}

/**
 * RFC 4253 §4.2: "SSH-protoversion-softwareversion SP comments". Recog's ssh.banner is everything
 * after "SSH-x.x-" ("OpenSSH_7.4p1 Debian-10+deb9u7", "dropbear_2019.78").
 */
function sshInputs(f: Fields, out: IdentifyInput[]): void {
  const ident = str(f['ident']);
  const m = ident === null ? null : /^SSH-[^-\s]*-(.+)$/.exec(ident);
  if (m?.[1]) return push(out, 'ssh.banner', str(m[1]));
  const software = str(f['software']);
  if (software === null) return;
  const comments = str(f['comments']);
  push(out, 'ssh.banner', comments === null ? software : `${software} ${comments}`);
}

/**
 * Recog's telnet banners are the text up to and including the prompt, trimmed at both ends: the
 * module's `text` when it recorded one, else the banner and the prompt.
 */
function telnetInputs(f: Fields, out: IdentifyInput[]): void {
  const text = str(f['text']);
  if (text !== null) push(out, 'telnet.banner', text);
  else {
    const banner = typeof f['banner'] === 'string' ? f['banner'].slice(0, maxInputChars) : '';
    const prompt = typeof f['prompt'] === 'string' ? f['prompt'].slice(0, 256) : '';
    const joined = prompt && !banner.trimEnd().endsWith(prompt.trim()) ? `${banner}${prompt}` : banner;
    push(out, 'telnet.banner', str(joined));
  }
  // The options a server asks for first tell telnet daemons apart (RFC 1143 negotiation):
  // "do=echo,naws;will=echo,suppress-go-ahead", each list sorted so rules need not care for order.
  const names = (v: unknown): string =>
    (Array.isArray(v) ? v.slice(0, 32) : [])
      .filter((x): x is string => typeof x === 'string')
      .map((x) => x.slice(0, 32).toLowerCase())
      .sort()
      .join(',');
  const will = names(f['will']);
  const dos = names(f['do']);
  if (will || dos) push(out, 'telnet.options', `do=${dos};will=${will}`);
}

/**
 * RFC 959 §4.2: a multi-line reply is "220-text" lines ending with "220 text". Recog matches the
 * text after the code, lines joined with CR LF.
 */
function ftpInputs(f: Fields, out: IdentifyInput[]): void {
  const banner = str(f['banner']);
  if (banner === null) return;
  const lines = banner.split(/\r?\n/).map((line) => line.replace(/^\d{3}[- ]?/, ''));
  push(out, 'ftp.banner', str(lines.join('\r\n')));
}

/**
 * Certificate names as Recog writes them: RFC 4514 strings, most specific RDN first, "," between
 * RDNs with no space, a comma inside a value escaped ("O=Cisco Systems\\, Inc."). A name given in
 * the certificate's encoded order (country first, as Node lists a peer certificate's fields) is
 * turned round.
 */
function dn(v: unknown): string | null {
  const s = str(v);
  if (s === null) return null;
  const rdns = s.split(/,\s*(?=[A-Za-z][A-Za-z0-9.-]*=)/);
  const first = rdns[0] ?? '';
  const last = rdns[rdns.length - 1] ?? '';
  if (rdns.length > 1 && /^C=/i.test(first) && !/^C=/i.test(last)) rdns.reverse();
  return rdns.map((rdn) => rdn.replace(/(?<!\\),/g, '\\,')).join(',');
}

function challenge(scheme: unknown, realm: unknown): string | null {
  const s = str(scheme, 64);
  if (s === null) return null;
  const r = typeof realm === 'string' ? realm.slice(0, 512) : null;
  return r === null ? s : `${s} realm="${r}"`;
}

function httpInputs(f: Fields, out: IdentifyInput[]): void {
  const headers = rec(f['headers']) ?? {};
  push(out, 'http_header.server', str(f['server']) ?? str(headers['server']));
  push(out, 'html_title', str(f['title']));
  // The raw header first (Recog's examples are whole values), then each parsed challenge in the
  // short "Scheme realm=..." form that Recog's anchored patterns expect for Digest.
  const raw = str(headers['www-authenticate']);
  push(out, 'http_header.wwwauth', raw);
  const challenges = Array.isArray(f['wwwAuthenticate']) ? f['wwwAuthenticate'].slice(0, 8) : [];
  for (const c of challenges) {
    const r = rec(c);
    const text = r && challenge(r['scheme'], r['realm']);
    if (text && text !== raw) push(out, 'http_header.wwwauth', text);
  }
  const cookies = str(headers['set-cookie']);
  if (cookies !== null) for (const line of cookies.split('\n').slice(0, 16)) push(out, 'http_header.cookie', str(line));
  push(out, 'http_header.x-powered-by', str(headers['x-powered-by']));
  const favicon = rec(f['favicon']);
  if (favicon) {
    push(out, 'favicon.md5', str(favicon['md5'], 64)?.toLowerCase() ?? null);
    const mmh3 = favicon['mmh3'];
    if (typeof mmh3 === 'number' && Number.isInteger(mmh3)) push(out, 'favicon.mmh3', String(mmh3));
  }
  const cert = rec(f['certificate']);
  if (cert) {
    push(out, 'x509.subject', dn(cert['subject']));
    push(out, 'x509.issuer', dn(cert['issuer']));
  }
  push(out, 'html_body', str(f['body'], maxBodyChars));
}

function rtspInputs(f: Fields, out: IdentifyInput[]): void {
  push(out, 'rtsp_header.server', str(f['server']));
  if (typeof f['realm'] !== 'string') return;
  const schemes = Array.isArray(f['authSchemes']) ? f['authSchemes'].slice(0, 4) : [];
  const first = schemes.find((s): s is string => typeof s === 'string') ?? 'Digest';
  push(out, 'rtsp_header.wwwauth', challenge(first, f['realm']));
}

function mqttInputs(f: Fields, out: IdentifyInput[]): void {
  push(out, 'mqtt.version', str(f['brokerVersion']));
}

function genericInputs(f: Fields, out: IdentifyInput[]): void {
  push(out, 'generic.banner', str(f['text']));
}

const byModule: Readonly<Record<string, (f: Fields, out: IdentifyInput[]) => void>> = {
  ssh: sshInputs,
  telnet: telnetInputs,
  ftp: ftpInputs,
  http: httpInputs,
  https: httpInputs,
  rtsp: rtspInputs,
  mqtt: mqttInputs,
  generic: genericInputs,
};

/**
 * The texts one observation offers to rule sources. Only observations whose peer spoke the
 * module's protocol give inputs; an unknown module gives none.
 */
export function inputsOf(observation: Observation): IdentifyInput[] {
  if (!observation.recognised) return [];
  const fn = byModule[observation.module];
  const fields = rec(observation.fields);
  if (!fn || !fields) return [];
  const out: IdentifyInput[] = [];
  fn(fields, out);
  return out;
}
