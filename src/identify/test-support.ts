/**
 * Synthetic observations for identify's tests and bench: fields shaped exactly as src/grab/fields.ts,
 * built from a lab profile's presentation the way the grab modules would record it. Only tests and
 * benchmarks import this; detection code never reads lab profiles.
 */
import type { Observation } from '../core/records.js';
import type { FtpFields, HttpFields, MqttFields, RtspFields, SshFields, TelnetFields } from '../grab/fields.js';
import type { DeviceProfile, ServiceProfile } from '../lab/types.js';

/** An observation around some fields. */
export function observation(module: string, fields: object, at: { ip?: string; port?: number; recognised?: boolean } = {}): Observation {
  return {
    kind: 'observation',
    surveyId: 1,
    endpointId: null,
    ip: at.ip ?? '127.60.0.1',
    port: at.port ?? 0,
    module,
    status: 'success',
    recognised: at.recognised ?? true,
    fields: fields as Readonly<Record<string, unknown>>,
    raw: '',
    bytesReceived: 0,
    observedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1,
    source: 'grab',
  };
}

export function sshFields(ident: string): SshFields {
  const m = /^SSH-([^-]*)-(\S*)(?: (.*))?$/.exec(ident);
  return {
    ident,
    protoVersion: m?.[1] ?? '2.0',
    software: m?.[2] ?? '',
    comments: m?.[3] ?? null,
    kexAlgorithms: ['curve25519-sha256'],
    hostKeyAlgorithms: ['ssh-ed25519'],
    ciphers: ['aes128-ctr'],
    macs: ['hmac-sha2-256'],
    compression: ['none'],
    hostKey: { algorithm: 'ssh-ed25519', sha256: 'SHA256:AAAA' },
    authMethods: ['password'],
    noneAccepted: false,
  };
}

export function telnetFields(banner: string, prompt: string | null, options: { will?: string[]; do?: string[] } = {}): TelnetFields {
  return {
    banner,
    prompt,
    loginPrompt: prompt !== null && /login|user/i.test(prompt),
    passwordPrompt: prompt !== null && /password/i.test(prompt),
    will: options.will ?? ['echo', 'suppress-go-ahead'],
    do: options.do ?? ['echo', 'naws'],
  };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function httpFields(p: Partial<HttpFields> & { readonly realm?: string; readonly scheme?: 'http' | 'https' }): HttpFields {
  const headers: Record<string, string> = { ...(p.headers ?? {}) };
  if (p.server) headers['server'] = p.server;
  const challenges = p.wwwAuthenticate ?? (p.realm !== undefined ? [{ scheme: 'Basic', realm: p.realm, algorithm: null }] : []);
  if (challenges.length > 0 && headers['www-authenticate'] === undefined) {
    headers['www-authenticate'] = challenges.map((c) => `${c.scheme} realm="${c.realm ?? ''}"`).join(', ');
  }
  return {
    scheme: p.scheme ?? 'http',
    status: p.status ?? 200,
    statusLine: p.statusLine ?? `HTTP/1.1 ${p.status ?? 200} OK`,
    headers,
    server: p.server ?? null,
    title: p.title ?? null,
    body: p.body ?? '',
    bodyBytes: (p.body ?? '').length,
    wwwAuthenticate: challenges,
    loginForm: p.loginForm ?? null,
    favicon: p.favicon ?? null,
    certificate: p.certificate ?? null,
    tlsVersion: null,
    redirects: p.redirects ?? [],
    path: p.path ?? '/',
  };
}

export function rtspFields(server: string | null, realm: string | null, schemes: string[] = ['Digest']): RtspFields {
  return {
    status: 200,
    server,
    methods: ['OPTIONS', 'DESCRIBE'],
    describeStatus: realm === null ? 200 : 401,
    realm,
    authSchemes: realm === null ? [] : schemes,
  };
}

export function ftpFields(banner: string): FtpFields {
  return { banner, code: 220 };
}

export function mqttFields(brokerVersion: string | null): MqttFields {
  return { returnCode: 0, anonymous: true, brokerVersion };
}

/** The options a lab telnet service opens with (src/lab/services/telnet.ts NEGOTIATIONS). */
function telnetOptions(negotiation: string | undefined): { will: string[]; do: string[] } {
  if (negotiation === 'none') return { will: [], do: [] };
  if (negotiation === 'ttype') return { will: ['echo', 'suppress-go-ahead'], do: ['terminal-type', 'echo', 'naws'] };
  return { will: ['echo', 'suppress-go-ahead'], do: ['echo', 'naws'] };
}

/** The lab's per-unit placeholders (src/lab/context.ts), filled with one unit's values. */
function fillUnitValues(banner: Readonly<Record<string, string>>): Record<string, string> {
  const values: Record<string, string> = { serial: '3G0284APAZ12345', mac: '00:11:22:aa:bb:cc', mac6: 'AABBCC' };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(banner)) out[k] = v.replace(/\{\{(serial|mac|mac6)\}\}/g, (_m, name: string) => values[name] ?? '');
  return out;
}

function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
}

/**
 * What the grab would record at one lab service, or null where nothing is recognised (tarpit,
 * garbage). The protocol is read as a string so profiles of newer lab kinds (ftp, mqtt, https) work.
 */
export function profileObservation(profile: DeviceProfile, service: ServiceProfile, ip: string): Observation | null {
  const b = fillUnitValues(service.banner ?? {});
  const at = { ip, port: service.port };
  const protocol: string = service.protocol;
  const auth: string = service.auth;
  switch (protocol) {
    case 'ssh':
      return observation('ssh', sshFields(b['serverIdent'] ?? 'SSH-2.0-OpenSSH_9.2'), at);
    case 'telnet':
      return observation('telnet', telnetFields(b['preLogin'] ?? '', b['loginPrompt'] ?? 'login: ', telnetOptions(b['negotiation'])), at);
    case 'ftp':
      return observation('ftp', ftpFields(`220 ${b['greeting'] ?? 'FTP server ready.'}`), at);
    case 'mqtt':
      return observation('mqtt', auth === 'none' ? mqttFields(b['version'] ?? null) : { returnCode: 5, anonymous: false, brokerVersion: null }, at);
    case 'http':
    case 'https': {
      const title = b['titleHtml'] !== undefined ? decodeEntities(b['titleHtml'].replace(/<\/?title>/gi, '')) : (b['title'] ?? profile.model);
      const heading = b['heading'] ?? profile.model;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(b)) if (k.startsWith('header:')) headers[k.slice(7).toLowerCase()] = v;
      // The lab prints the footer (model and firmware lines) on every page, the login page included.
      const footer = b['footer'] !== undefined ? `\n<div class="footer">${escapeHtml(b['footer'])}</div>` : '';
      const page = (content: string): string =>
        `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>\n<body>\n${content}${footer}\n</body></html>\n`;
      const server = b['server'] ?? null;
      const scheme = protocol === 'https' ? 'https' : 'http';
      const certificate =
        protocol === 'https'
          ? {
              subject: b['certSubject'] ?? `CN=${profile.model}`,
              issuer: b['certIssuer'] ?? b['certSubject'] ?? `CN=${profile.model}`,
              subjectAltName: null,
              serialNumber: '01',
              validFrom: '2020-01-01T00:00:00.000Z',
              validTo: '2040-01-01T00:00:00.000Z',
              selfSigned: b['certIssuer'] === undefined,
              sha256: '00',
            }
          : null;
      const base = { ...(server ? { server } : {}), title: title === '' ? null : title, headers, scheme, certificate } as const;
      if (auth === 'http-basic') {
        return observation(scheme, httpFields({ ...base, status: 401, realm: b['realm'] ?? profile.model, body: page('<h1>401 Unauthorized</h1>') }), at);
      }
      if (auth === 'http-digest') {
        const realm = b['realm'] ?? profile.model;
        const algorithms = (b['algorithms'] ?? 'MD5').split(',');
        const raw = algorithms.map((a) => `Digest realm="${realm}", qop="auth", nonce="0123abcd", algorithm=${a}`).join(', ');
        const challenges = algorithms.map((a) => ({ scheme: 'Digest', realm, algorithm: a }));
        return observation(scheme, httpFields({ ...base, status: 401, headers: { ...headers, 'www-authenticate': raw }, wwwAuthenticate: challenges, body: page('<h1>401 Unauthorized</h1>') }), at);
      }
      if (auth === 'http-form') {
        const body = page(
          `<h1>${escapeHtml(heading)}</h1>\n<form method="post" action="/login.cgi">\n<label>Username <input type="text" name="username"></label>\n` +
            '<label>Password <input type="password" name="password"></label>\n<input type="submit" value="Login">\n</form>',
        );
        const loginForm = { action: '/login.cgi', method: 'post', fields: [{ name: 'username', type: 'text' }, { name: 'password', type: 'password' }] };
        return observation(scheme, httpFields({ ...base, redirects: ['/login.html'], path: '/login.html', body, loginForm }), at);
      }
      const status = Number(b['status'] ?? 200);
      return observation(scheme, httpFields({ ...base, status, body: b['body'] !== undefined ? page(b['body']) : page(`<h1>${escapeHtml(heading)}</h1>`) }), at);
    }
    case 'rtsp': {
      const realm = auth === 'none' ? null : (b['realm'] ?? profile.model);
      return observation('rtsp', rtspFields(b['server'] ?? null, realm, b['basic'] === 'true' ? ['Digest', 'Basic'] : ['Digest']), at);
    }
    case 'endless':
      return b['mode'] === 'telnet' ? observation('telnet', telnetFields((b['line'] ?? '').repeat(40).slice(0, 4096), null, { will: [], do: [] }), at) : null;
    default:
      return null;
  }
}
