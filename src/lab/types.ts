/**
 * Lab records. The lab is an emulated ISP network on loopback: simulated ISPs own 127.x prefixes
 * and emulated IoT devices live at addresses inside them. Everything here is lab-side; detection
 * code never imports the ground truth.
 */
import type { Socket } from 'node:net';

/** One ID/password pair a device accepts. */
export interface LabCredential {
  readonly username: string;
  readonly password: string;
}

/** How a service authenticates. */
export type LabAuth =
  | 'none'
  | 'telnet-login' // BusyBox-style "login:" / "Password:" after option negotiation
  | 'ssh' // password and keyboard-interactive
  | 'http-basic'
  | 'http-digest' // RFC 7616 (MD5 and SHA-256)
  | 'http-form' // POST form, session cookie on success
  | 'rtsp-digest'
  | 'ftp-login' // RFC 959 USER / PASS
  | 'mqtt-login'; // MQTT 3.1.1 CONNECT user name and password; 'none' is an anonymous broker

/** What identification should be able to say about a device, for scoring (ground truth only). */
export type LabIdentity =
  | 'known' // its banners name the vendor and the device type
  | 'ambiguous' // some software is recognisable (a web server, a broker) but not who made the device
  | 'unknown'; // nothing identifiable: identification must leave it unknown

/** Software a service really runs, for scoring service identification (ground truth only). */
export interface LabSoftware {
  readonly vendor?: string;
  readonly product: string;
  readonly version?: string;
}

/** Protocol a service speaks; picks the connection handler. */
export type LabProtocol = 'telnet' | 'ssh' | 'http' | 'https' | 'rtsp' | 'ftp' | 'mqtt' | 'tarpit' | 'garbage' | 'endless';

/** A service template inside a device profile (data file). */
export interface ServiceProfile {
  /** The device's real port (23, 80, ...); the lab may publish it on a mapped high port. */
  readonly port: number;
  readonly protocol: LabProtocol;
  readonly auth: LabAuth;
  /** Protocol-specific presentation: banners, headers, titles, realm, prompts ... */
  readonly banner?: Readonly<Record<string, string>>;
  /** The software behind the port, when meaningful (ground truth only; handlers never read it). */
  readonly software?: LabSoftware;
}

/** Expected status of one CVE on a lab device (ground truth only). */
export type LabVulnStatus = 'affected' | 'not-affected' | 'unknown';

/** Special behaviour of awkward devices. */
export type LabBehaviour =
  | 'normal'
  | 'honeypot' // accepts every password
  | 'lockout'; // refuses everything after N failures (per device, for a while)

/** A device profile, loaded from src/lab/profiles/*.json. */
export interface DeviceProfile {
  readonly id: string;
  readonly type: 'router' | 'camera' | 'dvr' | 'nas' | 'iot' | 'other';
  readonly vendor: string;
  readonly model: string;
  readonly firmware: string;
  readonly services: readonly ServiceProfile[];
  /** Credential pools to draw from: 'weak' devices take one of `weak`, others get a unique one. */
  readonly weakCredentials: readonly LabCredential[];
  readonly behaviour?: LabBehaviour;
  /** Failures before lockout, for behaviour 'lockout'. */
  readonly lockoutAfter?: number;
  /** How long a lockout lasts, for behaviour 'lockout' (default 300 s). */
  readonly lockoutSeconds?: number;
  /** What identification can know of it (default 'known'); ground truth only. */
  readonly identity?: LabIdentity;
  /** Where the banners were modelled from (manual, vendor page, public banner collection). */
  readonly source?: string;
  /**
   * Expected outcome of each CVE that concerns this model and firmware (ground truth for tests
   * only: detection code never reads it). "unknown" marks a firmware version that cannot be
   * ordered against the CVE's version bounds.
   */
  readonly vulnerabilities?: Readonly<Record<string, LabVulnStatus>>;
  /** Set by loadProfiles when a favicon names a file: the folder it is in (not part of the file). */
  readonly assetsDir?: string;
}

/** A device placed in the lab. */
export interface LabDevice {
  readonly id: string;
  readonly ip: string;
  readonly ispId: string;
  readonly profile: DeviceProfile;
  /** Whether its credentials come from the weak pool. */
  readonly weak: boolean;
  /** Credentials it accepts (a honeypot accepts any). */
  readonly credentials: readonly LabCredential[];
}

/** Mutable per-device state shared by its services (failure counters for lockout). */
export interface DeviceState {
  failures: number;
  lockedUntil: number;
  /** Lock periods so far, for tests (src/lab/lockouts.ts); bounded there. */
  lockPeriods?: { lockedAt: number; until: number; refused: number }[];
  lockPeriodsDropped?: number;
  /** The owner's credentials once they changed them (src/lab/owner-actions.ts); the profile's otherwise. */
  credentials?: readonly LabCredential[];
}

/** Context handed to a connection handler. */
export interface ServiceContext {
  readonly device: LabDevice;
  readonly service: ServiceProfile;
  readonly state: DeviceState;
  /** Check a login attempt; applies honeypot and lockout behaviour and counts failures. */
  checkLogin(username: string, password: string): boolean;
}

/**
 * One connection handler per protocol. The lab owns the listening sockets (one per device port)
 * and hands each accepted socket to the handler of the service's protocol.
 */
export type ConnectionHandler = (socket: Socket, ctx: ServiceContext) => void;
