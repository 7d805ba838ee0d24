/**
 * The fields each grab module records (Observation.fields), as types. This is the contract
 * between grab and identify (src/identify/inputs.ts reads these and nothing else). Every string
 * from a device is bounded and stored as text, never interpreted; HTML stays HTML-escaped only
 * where it is displayed.
 */

export interface TelnetFields {
  /** Text before the login prompt (IAC sequences removed, control characters kept out), bounded. */
  readonly banner: string;
  /** The last line when it looks like a prompt ("login:", "Username:", "# "), else null. */
  readonly prompt: string | null;
  readonly loginPrompt: boolean;
  readonly passwordPrompt: boolean;
  /** Options the server asked for, as names ("echo", "suppress-go-ahead", "terminal-type", or numbers). */
  readonly will: readonly string[];
  readonly do: readonly string[];
  /**
   * Everything the server sent as text, prompt included, CR LF kept as sent (IAC sequences and NUL
   * removed), bounded: what Recog's telnet.banner patterns are written against ("^\r\nUser Access
   * Verification\r\n\r\nUsername: $"). Optional: zgrab2 imports may lack it.
   */
  readonly text?: string;
}

export interface SshHostKey {
  readonly algorithm: string;
  /** OpenSSH style: "SHA256:" + base64 of sha256(key blob), no padding. */
  readonly sha256: string;
}

export interface SshFields {
  /** The identification line without CR LF: "SSH-2.0-dropbear_2019.78". */
  readonly ident: string;
  readonly protoVersion: string;
  /** "dropbear_2019.78" */
  readonly software: string;
  readonly comments: string | null;
  /** Server's KEXINIT name-lists. */
  readonly kexAlgorithms: readonly string[];
  readonly hostKeyAlgorithms: readonly string[];
  readonly ciphers: readonly string[];
  readonly macs: readonly string[];
  readonly compression: readonly string[];
  readonly hostKey: SshHostKey | null;
  /** Methods offered after a "none" attempt ("password", "keyboard-interactive", "publickey"); null when not reached. */
  readonly authMethods: readonly string[] | null;
  /** True when "none" auth itself succeeded (no password at all). */
  readonly noneAccepted: boolean;
}

export interface CertificateFields {
  readonly subject: string;
  readonly issuer: string;
  readonly subjectAltName: string | null;
  readonly serialNumber: string;
  readonly validFrom: string;
  readonly validTo: string;
  readonly selfSigned: boolean;
  readonly sha256: string;
}

export interface HttpAuthChallenge {
  readonly scheme: string;
  readonly realm: string | null;
  /** Digest algorithm when given. */
  readonly algorithm: string | null;
}

export interface LoginFormField {
  readonly name: string;
  readonly type: string;
}

export interface LoginForm {
  readonly action: string | null;
  readonly method: string;
  readonly fields: readonly LoginFormField[];
}

export interface FaviconFields {
  readonly path: string;
  /** Shodan's http.favicon.hash: signed 32-bit MurmurHash3 (x86, seed 0) of base64 with 76-char lines and a trailing newline. */
  readonly mmh3: number;
  /** Hex MD5 of the favicon bytes (Recog's favicon.md5). */
  readonly md5: string;
  readonly bytes: number;
}

export interface HttpFields {
  readonly scheme: 'http' | 'https';
  readonly status: number;
  readonly statusLine: string;
  /** Lower-case names; repeated headers joined with ", " (set-cookie with "\n"). */
  readonly headers: Readonly<Record<string, string>>;
  readonly server: string | null;
  readonly title: string | null;
  /** The first bytes of the body as text (bounded). */
  readonly body: string;
  readonly bodyBytes: number;
  readonly wwwAuthenticate: readonly HttpAuthChallenge[];
  readonly loginForm: LoginForm | null;
  readonly favicon: FaviconFields | null;
  readonly certificate: CertificateFields | null;
  readonly tlsVersion: string | null;
  /** Paths followed through same-host redirects, in order. */
  readonly redirects: readonly string[];
  /** Path of the page the fields describe. */
  readonly path: string;
  /** Whether the body ended as framed (false: cut short, past the size bound, or malformed chunks). */
  readonly bodyComplete?: boolean;
  /** A redirect that was not followed (another host, a loop, or past the hop limit), as written. */
  readonly redirectNotFollowed?: string | null;
}

export interface FtpFields {
  /** The whole greeting text (every line of a multi-line 220), bounded. */
  readonly banner: string;
  readonly code: number;
}

export interface RtspFields {
  readonly status: number;
  readonly server: string | null;
  /** Methods from OPTIONS' Public header. */
  readonly methods: readonly string[];
  /** DESCRIBE's status (401 when a login is needed). */
  readonly describeStatus: number | null;
  readonly realm: string | null;
  readonly authSchemes: readonly string[];
}

export interface MqttFields {
  /** CONNACK return code (0 accepted, 4 bad user name or password, 5 not authorised, ...). */
  readonly returnCode: number;
  readonly anonymous: boolean;
  /** $SYS/broker/version when anonymous access was allowed and the broker publishes it. */
  readonly brokerVersion: string | null;
}

export interface GenericFields {
  /** The first bytes, printable ASCII kept and everything else as \xNN, bounded. */
  readonly text: string;
  readonly bytes: number;
}
