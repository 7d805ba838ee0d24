/**
 * The one registry of grab modules (name → module, like vitest's reporters map). Adding a
 * protocol is one folder and one line here. The runner (runner.ts) looks modules up by name and
 * skips a name that is not registered, so a detection list may name a module before it exists.
 */
import type { ServiceName } from '../pipeline/services.js';
import { ftpModule } from './ftp/index.js';
import { genericModule } from './generic/index.js';
import type { GrabModule } from './module.js';
import { mqttModule } from './mqtt/index.js';
import { sshModule } from './ssh/index.js';
import { telnetModule } from './telnet/index.js';
import { httpModule, httpsModule } from './http/index.js';
import { rtspModule } from './rtsp/index.js';

export const grabModules = {
  telnet: telnetModule,
  ssh: sshModule,
  http: httpModule,
  https: httpsModule,
  ftp: ftpModule,
  rtsp: rtspModule,
  mqtt: mqttModule,
  generic: genericModule,
} as const satisfies Record<string, GrabModule>;

export type GrabModuleName = keyof typeof grabModules;

/** The registered module of that name, or undefined (a name from a list written ahead of its module). */
export function grabModule(name: string): GrabModule | undefined {
  return Object.hasOwn(grabModules, name) ? (grabModules as Record<string, GrabModule>)[name] : undefined;
}

/**
 * The module a plan's service is grabbed with first. Names may be of modules not registered yet
 * (http, https, rtsp before their merge); null means "no protocol known: detect it".
 */
const moduleByService: Readonly<Record<ServiceName, string | null>> = {
  ftp: 'ftp',
  ssh: 'ssh',
  telnet: 'telnet',
  http: 'http',
  https: 'https',
  rtsp: 'rtsp',
  mqtt: 'mqtt',
  onvif: 'http', // SOAP over HTTP
  cwmp: 'http', // TR-069 runs over HTTP(S)
  upnp: 'http',
  // HiSilicon/XiongMai port 9527 is a telnet-like console.
  'xm-debug': 'telnet',
  adb: null,
  winbox: null,
  dvr: null,
  'xm-dvr': null,
  'dahua-dvr': null,
  unknown: null,
};

/** Name of the module to try first for a plan's service, or null when the service names no protocol module. */
export function moduleForService(service: ServiceName): string | null {
  return moduleByService[service];
}

/** Name of the registered module whose default ports include `port`, or null. */
export function moduleForPort(port: number): GrabModuleName | null {
  for (const [name, m] of Object.entries(grabModules) as [GrabModuleName, GrabModule][]) if (m.defaultPorts.includes(port)) return name;
  return null;
}
